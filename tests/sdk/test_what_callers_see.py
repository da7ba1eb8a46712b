"""What a caller sees of the core and its errors: `core.call` sends the options given
to it, a hook sees the Authorization header as a redacted value, a core's repr says
how its key is given, an error's repr is its text, and the errors a caller builds
(in a fake of their own) start from no attempts."""

from __future__ import annotations

from collections.abc import Callable

from autumn_core import (
    Applied,
    AutumnCore,
    AutumnDefaultError,
    HookContext,
    Hooks,
    PreparedRequest,
    ResponseValidationError,
    SDKValidationError,
)
from autumn_funcs._balances_create import CREATE_BALANCE
from tests.scripted_server import ScriptedServer, autumn_error
from tests.sdk.conftest import CREATE_EXAMPLE, header

MakeCore = Callable[..., AutumnCore]


async def test_core_call_sends_the_options_it_is_given(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    shown: list[str] = []

    def trace(_context: HookContext, request: PreparedRequest) -> None:
        shown.append(repr(request.headers["Authorization"]))

    core = make_core(hooks=Hooks(before_request=[trace]))
    res = await core.call(CREATE_BALANCE, CREATE_EXAMPLE, {"idempotency_key": "grant-42"})

    assert res.ok, res
    assert header(scripted.requests[0], "Idempotency-Key") == "grant-42"
    assert shown == ["'Bearer [redacted]'"]  # what a hook logging its request shows


async def test_an_errors_repr_is_its_type_and_text(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    scripted.then(autumn_error(400, "invalid_inputs", "feature_id: bad"))
    res = await make_core().call(CREATE_BALANCE, CREATE_EXAMPLE)

    assert isinstance(res.error, AutumnDefaultError)
    assert repr(res.error) == f"AutumnDefaultError({str(res.error)!r})"
    assert str(res.error).startswith("400 invalid_inputs: feature_id: bad (attempts=1")


def test_a_cores_repr_says_a_callable_key_is_one() -> None:
    async def key() -> str:
        return "am_sk_test_from_a_vault"

    core = AutumnCore(key, server_url="http://127.0.0.1:9")
    assert repr(core) == (
        "AutumnCore(server_url='http://127.0.0.1:9', x_api_version='2.1', secret_key=<callable>)"
    )


def test_an_error_built_by_a_caller_has_made_no_attempt() -> None:
    error = ResponseValidationError("does not fit", status_code=200, body="{}")
    assert (error.attempts, str(error)) == (0, "does not fit")


def test_an_autumn_error_built_by_a_caller_has_the_documented_defaults() -> None:
    # As a test double for code that handles Autumn's refusals, say.
    error = AutumnDefaultError(
        "402 insufficient_balance", status_code=402, body="", headers={}, content_type=""
    )
    assert (error.attempts, error.body_truncated, error.applied) == (0, False, Applied.NO)
    assert error.earlier_attempt_accepted is False
    error = AutumnDefaultError(
        "x", status_code=500, body="", headers={}, content_type="", applied=Applied.UNKNOWN
    )
    assert error.applied is Applied.UNKNOWN


def test_a_validation_error_built_by_a_caller_keeps_its_key() -> None:
    error = SDKValidationError("bad", field="customer_id", idempotency_key="grant-42")
    assert (error.field, error.idempotency_key, error.applied) == (
        "customer_id",
        "grant-42",
        Applied.NO,
    )
