"""`Operation`: what the core needs to know of one API operation, and nothing more."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from types import UnionType
from typing import Any, Generic, TypeVar

import attrs

from autumn_core._serde import params_fields, response_reader

P = TypeVar("P")
R = TypeVar("R")


@attrs.frozen(eq=False)
class CheckedParams:
    """Params an operation checked, kept as the JSON they send: `operation.check(params)`.

    For code that takes params now and sends them later, maybe many in one
    body (the usage recorder: each event checked as `balances_track` checks it
    when it is recorded, a batch of them sent later). `run_operation` sends
    `fields` as the body of the operation named `operation_id` without checking
    them again; any other operation refuses them. Made by `Operation.check`, or
    from such values only (a batch body of checked items): whoever makes one
    vouches that its fields passed the operation's checks.
    """

    operation_id: str
    # The body's JSON value, unstructured: an object, or for an operation with
    # `body_field` the array that is the whole body.
    fields: Any


# Not slotted: attrs gives a slotted class with cached properties a `__getattr__`,
# which sends every attribute read through a slower path, and a call reads a dozen.
@attrs.frozen(slots=False)
class Operation(Generic[P, R]):
    """An endpoint with its params and response models; built once per operation module.

    >>> CREATE_BALANCE = Operation(
    ...     "createBalance", "/v1/balances.create", CreateBalanceParams, CreateBalanceResponse,
    ...     fixed_response=CreateBalanceResponse(success=True),
    ... )

    What differs between operations, and how the call pipeline treats it:

    - `writes`: the call changes state on the server. It sends an
      `Idempotency-Key`, the caller's or a fresh one, the same on every attempt,
      so a retry can never apply it twice. A read (`writes=False`) sends none:
      Autumn checks the key on every route and answers a second request with a
      used key 409, so a retried read must not repeat one.
    - `fixed_response`: the answer every success gets, when the server's answer
      carries nothing else (`{"success": true}` for balances.create and
      balances.update). A retry that the server refuses as a duplicate of an
      accepted earlier attempt can then be reported with this answer.
    - `atomic`: the server applies the call's change whole or not at all, so a
      failed attempt frees the key with nothing applied and a retry is safe.
      False for a request the server runs as steps it does not undo
      (balances.update with several fields): once an attempt may have reached
      the handler, a later step's failure frees the key with earlier steps
      applied, so the pipeline sends it no more and reports the change as maybe
      partly applied (`error.may_be_partial`).
    - `no_content`: the server may answer 204 with no body (balances.track with
      `async`); the call then returns `Ok(None)`. Type such an operation
      `Operation[Params, Response | None]`.
    - `response_type`: a response model, or a union of models tried in order
      (annotate the constant: `Operation[Params, Allowed | Denied]`). Fields of
      a model may be unions (`float | Literal["inf"]`, `Balance | None`) and
      free-form JSON objects (`properties: dict[str, Any]`).
    - `body_field`: the params model's one field whose value is the whole body,
      for a route whose body is a JSON array, not an object
      (balances.batch_track takes `[{...}, {...}]`): the model keeps a name for
      it (`events`), as a dict and a keyword need one, and the wire gets the
      array alone. Such a body takes no `options.extra_body`.
    """

    operation_id: str
    path: str
    params_type: type[P]
    response_type: type[R] | UnionType
    method: str = attrs.field(default="POST", kw_only=True)
    writes: bool = attrs.field(default=True, kw_only=True)
    fixed_response: R | None = attrs.field(default=None, kw_only=True)
    no_content: bool = attrs.field(default=False, kw_only=True)
    body_field: str | None = attrs.field(default=None, kw_only=True)
    atomic: bool = attrs.field(default=True, kw_only=True)
    # The generated functions that check params and read answers, built on the
    # operation's first call: generating them takes milliseconds per operation (25 ms
    # for the customer view), which an import of the facade would otherwise pay for
    # every operation it may never call. (Two threads racing on a first call build
    # equal functions; either may stay.)

    @functools.cached_property
    def params_fields(self) -> Callable[[P | Mapping[str, Any]], dict[str, Any]]:
        """`params` (a dict or the model) checked as every call checks them before any
        I/O, as the JSON object they send; raises SDKValidationError naming each bad
        field."""
        return params_fields(self.params_type)

    def check(self, params: P | Mapping[str, Any]) -> CheckedParams:
        """`params` checked as every call checks them, as the JSON they send; raises
        SDKValidationError naming each bad field. For code that takes params now and
        sends them later (the usage recorder): a bad event is refused when it is
        given, not when it is sent. `run_operation` takes the result in place of
        params and sends it without checking it again."""
        fields = self.params_fields(params)
        body = fields if self.body_field is None else fields[self.body_field]
        return CheckedParams(self.operation_id, body)

    @functools.cached_property
    def read_response(self) -> Callable[[bytes], R]:
        return response_reader(self.response_type)
