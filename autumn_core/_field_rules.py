"""A params model's rules across its fields, written once as a function of field values.

A model with such rules declares them as a staticmethod `_rules` whose parameters
are named after its fields, and `__attrs_post_init__ = apply_rules`:

>>> @attrs.frozen(kw_only=True)
... class DeleteParams:
...     feature_id: str | None = None
...     balance_id: str | None = None
...
...     @staticmethod
...     def _rules(feature_id: str | None, balance_id: str | None) -> None:
...         if feature_id is None and balance_id is None:
...             raise SDKValidationError("invalid feature_id: set feature_id or balance_id",
...                                      field="feature_id")
...
...     __attrs_post_init__ = apply_rules

`_rules` gets the checked values of the fields it names. It raises (an
SDKValidationError naming the field) for values that break a rule, and returns
None when the values stand as they are, or a mapping of the fields it changes
to their new values (`{"included_grant": 5, "included": None}`: a grant given
under an alias, sent under its wire name), which `apply_rules` sets on the
model. Since the rule is a plain function of values, a params dict can be
checked without building its model (autumn_core._compiled_params), running the
same code the model runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping

import attrs

RULES = "_rules"

Rules = Callable[..., "Mapping[str, object] | None"]

# The fields each model's rules take, found once: `apply_rules` runs on every model built.
_RULE_FIELDS: dict[type, tuple[str, ...]] = {}


def rule_fields(cls: type) -> tuple[str, ...]:
    """The fields `cls._rules` takes, in the order of its parameters; a TypeError names
    a parameter that is no field of `cls`."""
    names = _RULE_FIELDS.get(cls)
    if names is None:
        names = _RULE_FIELDS[cls] = _parameters(cls)
    return names


def _parameters(cls: type) -> tuple[str, ...]:
    rules: Rules = getattr(cls, RULES)
    names = tuple(inspect.signature(rules).parameters)
    fields = {field.name for field in attrs.fields(cls)}
    unknown = [name for name in names if name not in fields]
    if unknown:
        raise TypeError(f"{cls.__name__}.{RULES} takes {unknown}, which are not its fields")
    return names


def apply_rules(instance: object) -> None:
    """A model's `__attrs_post_init__`: its `_rules` run on its fields' values, and the
    changes they return set."""
    cls = type(instance)
    rules: Rules = getattr(cls, RULES)
    changes = rules(*[getattr(instance, name) for name in rule_fields(cls)])
    if changes is not None:
        for name, value in changes.items():
            object.__setattr__(instance, name, value)
