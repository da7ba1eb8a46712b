"""`options={...}` is type-checked: RequestOptionsDict names every key and its type, so a
typo or a wrong type is an error in the editor (mypy --strict and pyright strict)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.type_checkers import errors, marked_lines, run_mypy, run_pyright

USER_CODE = """
import asyncio

from autumn_core import AutumnCore, RequestOptions, RequestOptionsDict, RetryConfig
from autumn_funcs import (
    Autumn,
    CreateBalanceParamsDict,
    UpdateBalanceParamsDict,
    balances_create,
    balances_update,
)

PARAMS: CreateBalanceParamsDict = {"customer_id": "c", "feature_id": "f"}
CHANGE: UpdateBalanceParamsDict = {"customer_id": "c", "feature_id": "f", "remaining": 1}


async def accepted(core: AutumnCore, autumn: Autumn, stop: asyncio.Event) -> None:
    await balances_create(core, PARAMS, {"idempotency_key": "order-1", "timeout_ms": 500})
    await balances_update(
        core,
        CHANGE,
        {
            "total_timeout_ms": 2_000,
            "retries": RetryConfig(max_retries=1),
            "retry_codes": ["5XX", 429],
            "headers": {"X-Request-Source": "cart"},
            "extra_body": {"metadata": {"source": "promo"}},
            "abort_signal": stop,
            "server_url": None,
        },
    )
    options: RequestOptionsDict = {"idempotency_key": "order-2"}
    await balances_create(core, PARAMS, options)
    await balances_create(core, PARAMS, RequestOptions(timeout_ms=1))
    await autumn.balances.create(PARAMS, options={"timeout_ms": 10})
    await autumn.balances.update(customer_id="c", feature_id="f", options={"timeout_ms": 10})


async def refused(core: AutumnCore, autumn: Autumn) -> None:
    await balances_create(core, PARAMS, {"idempotency_kee": "order-1"})  # error
    await balances_create(core, PARAMS, {"timeout_ms": "500"})  # error
    await balances_update(core, CHANGE, {"headers": ["X-A"]})  # error
    await autumn.balances.update(CHANGE, options={"total_timeout": 5})  # error
    await balances_create(core, PARAMS, 5)  # error
"""


def refused_lines() -> set[int]:
    return marked_lines(USER_CODE)


@pytest.fixture
def user_code(tmp_path: Path) -> Path:
    path = tmp_path / "user_code.py"
    path.write_text(USER_CODE)
    return path


def test_mypy_strict_checks_options_dicts(user_code: Path) -> None:
    found = errors(run_mypy(user_code.parent, [user_code.name]))
    assert {d.line for d in found} == refused_lines(), found


def test_pyright_strict_checks_options_dicts(user_code: Path) -> None:
    # run_pyright hands pyright this test's own interpreter: on a machine where `python`
    # is not this environment's (or not there at all), pyright would otherwise read
    # another site-packages and see another autumn_core.
    found = errors(run_pyright(user_code.parent))
    assert {d.line for d in found} == refused_lines(), found
