"""The body encoder (`encode_json`) writes what `json.JSONEncoder.encode` with the same
settings writes, and refuses what it refuses with the same error: compact, text as
UTF-8 (not `\\u` escapes), NaN and infinity refused, anything not JSON refused."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autumn_core._serde import _ENCODER, _one_shot, encode_json
from tests.property_examples import examples


class Color(str, Enum):
    RED = "red"


class Number(float, Enum):
    ONE = 1.0


VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(),
        st.sampled_from([Color.RED, Number.ONE, "\ud800", "é", object(), b"x", 10**30]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=3), inner, max_size=3),
        st.dictionaries(st.sampled_from([1, 2.5, True, None]), inner, max_size=2),
    ),
    max_leaves=8,
)


def outcome(encode: Any, value: Any) -> tuple[str, str]:
    try:
        return "ok", encode(value)
    except Exception as exc:
        return type(exc).__name__, str(exc)


@settings(max_examples=examples(100))
@given(VALUES)
def test_it_writes_and_refuses_what_the_standard_encoder_does(value: Any) -> None:
    assert outcome(encode_json, value) == outcome(_ENCODER.encode, value)


def test_it_writes_compact_utf8_text_and_refuses_nan_and_objects() -> None:
    assert (
        encode_json({"a": [1, 2.5, "é", Color.RED], "b": None})
        == '{"a":[1,2.5,"é","red"],"b":null}'
    )
    assert encode_json("é") == '"é"'
    with pytest.raises(ValueError, match="Out of range float"):
        encode_json({"a": float("nan")})
    with pytest.raises(TypeError, match="object is not JSON serialisable"):
        encode_json({"a": object()})


def test_a_cyclic_value_is_refused_by_the_encoder_that_looks_for_cycles() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    checking = json.JSONEncoder(check_circular=True)
    with pytest.raises(ValueError, match="Circular reference detected"):
        _one_shot(checking)(cyclic)


@pytest.mark.parametrize(
    "encoder",
    [
        json.JSONEncoder(indent=2, check_circular=False),
        json.JSONEncoder(sort_keys=True, check_circular=False),
        json.JSONEncoder(ensure_ascii=True, check_circular=False, separators=(", ", ": ")),
        json.JSONEncoder(skipkeys=True, check_circular=False),
    ],
)
@pytest.mark.parametrize("value", [{"b": [1, "é"], "a": {"c": None}}, {"b": 1, (1, 2): 3}])
def test_every_setting_is_the_encoders_own(encoder: json.JSONEncoder, value: Any) -> None:
    assert outcome(_one_shot(encoder), value) == outcome(encoder.encode, value)


def test_without_the_c_accelerator_the_encoders_own_encode_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    assert _one_shot(_ENCODER) == _ENCODER.encode
