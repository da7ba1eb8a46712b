"""`Result`: narrowing on `ok`, pattern matching on Ok/Err, `unwrap`, and the attribute
each class does not carry (what a type checker is told exists on both)."""

from __future__ import annotations

import pytest

from autumn_core import AutumnCore, AutumnDefaultError, Err, Ok, unwrap
from autumn_funcs import CreateBalanceResponse, balances_create
from tests.scripted_server import ScriptedServer, autumn_error
from tests.sdk.conftest import CREATE_EXAMPLE


async def test_ok_result(core: AutumnCore) -> None:
    res = await balances_create(core, CREATE_EXAMPLE)

    assert isinstance(res, Ok)
    if res.ok:
        assert res.value.success is True
    else:
        pytest.fail("expected Ok")
    match res:
        case Ok(CreateBalanceResponse(success=success)):
            assert success is True
        case Err(_):
            pytest.fail("expected Ok")
    assert unwrap(res) == CreateBalanceResponse(success=True)
    assert res == Ok(CreateBalanceResponse(success=True))


async def test_err_result(core: AutumnCore, scripted: ScriptedServer) -> None:
    scripted.then(autumn_error(404, "feature_not_found", "Feature x not found"))
    res = await balances_create(core, CREATE_EXAMPLE)

    assert isinstance(res, Err)
    assert not res.ok
    match res:
        case Ok(_):
            pytest.fail("expected Err")
        case Err(AutumnDefaultError(code=code, status_code=status)):
            assert (code, status) == ("feature_not_found", 404)
    with pytest.raises(AutumnDefaultError) as caught:
        unwrap(res)
    assert caught.value is res.error
    # Reading the value of a failed call without checking raises what unwrap raises.
    with pytest.raises(AutumnDefaultError) as caught:
        res.value  # noqa: B018
    assert caught.value is res.error


def test_an_ok_has_no_error() -> None:
    with pytest.raises(AttributeError, match=r"Ok has no error.*res\.ok"):
        Ok(1).error  # noqa: B018
    assert not hasattr(Ok(1), "error")


def test_results_are_not_hashable_and_compare_by_content() -> None:
    assert Ok(1) == Ok(1)
    assert Ok(1) != Ok(2)
    assert Ok(1) != Err(ValueError())
    error = ValueError("x")
    assert Err(error) == Err(error)
    with pytest.raises(TypeError):
        hash(Ok(1))
    assert repr(Ok(1)) == "Ok(1)"


def test_a_deduplicated_ok_is_not_equal_to_a_plain_one() -> None:
    # `deduplicated` says the server refused a retry as a duplicate of an applied
    # attempt: an answer of another kind, so a comparison tells them apart.
    assert Ok(1, deduplicated=True) != Ok(1)
    assert Ok(1) != Ok(1, deduplicated=True)
    assert Ok(1, deduplicated=True) == Ok(1, deduplicated=True)


def test_an_err_is_equal_only_to_an_err_of_the_same_error() -> None:
    error = ValueError("x")
    assert Err(error) != Ok(error)
    assert Err(error) != error
    assert Err(error) != Err(ValueError("x"))
