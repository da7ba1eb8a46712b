"""What a user's type checker says about code written against the SDK, in mypy and pyright
(both strict, Python 3.10 rules): the types the README's idioms give (`reveal_type`), and
the error a typo or a wrong type gets, for dict params, the facade's keywords, models and
the blocking client.

The user-style files below carry their expectations in comments:

- `# reveal: T`: both checkers reveal type T on that line (names unqualified);
  `# reveal mypy: T1  pyright: T2` when they differ.
- `# error[mypy-code, pyright-rule]: fragment; fragment`: both checkers report an
  error there, with that code / rule, each fragment in the message. Every other line
  must be free of errors.

A marker alone on its line is about the next line.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.type_checkers import Diagnostic, errors, revealed, run_mypy, run_pyright

README_IDIOMS = """
from autumn_core import AutumnCore, AutumnError, AutumnSDKError, Err, Ok, Result, unwrap
from autumn_funcs import (
    Autumn,
    AutumnSync,
    CreateBalanceParams,
    CreateBalanceResponse,
    Reset,
    ResetInterval,
    balances_check,
    balances_create,
    balances_track,
    balances_update,
)


async def the_usage_loop(core: AutumnCore, autumn: Autumn) -> None:
    res = await balances_check(core, {"customer_id": "c", "feature_id": "f"})
    reveal_type(res)  # reveal: Ok[CheckResponse] | Err[AutumnSDKError]
    if res.ok and res.value.balance is not None:
        reveal_type(res.value.balance.remaining)  # reveal: float
    tracked = await balances_track(core, {"customer_id": "c", "event_name": "e", "async_": True})
    reveal_type(tracked)  # reveal: Ok[TrackResponse] | Err[AutumnSDKError]
    customer = await autumn.customers.get(customer_id="c")
    reveal_type(customer.balances["f"].breakdown[0].id)  # reveal: str
    reveal_type(customer.flags.get("sso"))  # reveal: Flag | None


async def if_ok_else(core: AutumnCore) -> None:
    res = await balances_create(
        core,
        {
            "customer_id": "cus_123",
            "feature_id": "api_calls",
            "included_grant": 1000,
            "reset": {"interval": "month"},
        },
    )
    reveal_type(res)  # reveal: Ok[CreateBalanceResponse] | Err[AutumnSDKError]
    if res.ok:
        reveal_type(res.value)  # reveal: CreateBalanceResponse
    else:
        reveal_type(res.error)  # reveal: AutumnSDKError
    if not res.ok:
        reveal_type(res.error)  # reveal: AutumnSDKError
        return
    reveal_type(res.value)  # reveal: CreateBalanceResponse


def if_ok_narrows_res_itself_in_mypy_only(res: Result[int, AutumnSDKError]) -> None:
    if res.ok:
        reveal_type(res)  # reveal mypy: Ok[int]  pyright: Ok[int] | Err[AutumnSDKError]
    else:
        reveal_type(res)  # reveal mypy: Err[AutumnSDKError]  pyright: Ok[int] | Err[AutumnSDKError]


async def narrowing_res_itself(core: AutumnCore) -> None:
    res = await balances_update(
        core, {"customer_id": "cus_123", "feature_id": "api_calls", "remaining": 5}
    )
    if res.ok is True:
        reveal_type(res)  # reveal: Ok[UpdateBalanceResponse]
    if isinstance(res, Ok):
        reveal_type(res)  # reveal: Ok[UpdateBalanceResponse]
    else:
        reveal_type(res)  # reveal: Err[AutumnSDKError]
    match res:
        case Ok(value):
            reveal_type(value)  # reveal: UpdateBalanceResponse
        case Err(AutumnError(code="customer_not_found") as error):
            reveal_type(error)  # reveal: AutumnError
        case Err(error):
            reveal_type(error)  # reveal: AutumnSDKError


async def unchecked(core: AutumnCore) -> CreateBalanceResponse:
    # No check at all type-checks too: on an Err, reading .value raises its error.
    params = CreateBalanceParams(
        customer_id="cus_123", feature_id="api_calls", reset=Reset(interval=ResetInterval.MONTH)
    )
    res = await balances_create(core, params)
    reveal_type(res.value)  # reveal: CreateBalanceResponse
    return unwrap(res)


def the_other_attribute(res: Result[CreateBalanceResponse, AutumnSDKError]) -> None:
    if isinstance(res, Ok):
        reveal_type(res.error)  # reveal: Never


async def facade(autumn: Autumn) -> None:
    created = await autumn.balances.create(
        customer_id="cus_123",
        feature_id="api_calls",
        included_grant=1000,
        reset={"interval": "month"},
    )
    reveal_type(created)  # reveal: CreateBalanceResponse
    updated = await autumn.balances.update(
        {"customer_id": "cus_123", "feature_id": "api_calls", "remaining": 5}
    )
    reveal_type(updated)  # reveal: UpdateBalanceResponse


def blocking(autumn: AutumnSync) -> None:
    created = autumn.balances.create(
        customer_id="cus_123",
        feature_id="api_calls",
        reset={"interval": ResetInterval.MONTH},
        options={"timeout_ms": 2_000},
    )
    reveal_type(created)  # reveal: CreateBalanceResponse
    res = autumn.call(
        balances_update, {"customer_id": "cus_123", "feature_id": "api_calls", "remaining": 5}
    )
    reveal_type(res)  # reveal: Ok[UpdateBalanceResponse] | Err[AutumnSDKError]
"""

MISTAKES = """
from autumn_core import AutumnCore
from autumn_funcs import (
    Autumn,
    AutumnSync,
    CreateBalanceParams,
    CreateBalanceParamsDict,
    balances_check,
    balances_create,
    balances_update,
)


async def dict_params(core: AutumnCore) -> None:
    # error[arg-type, reportArgumentType]: CreateBalanceParamsDict
    await balances_create(core, {"customerId": "c", "feature_id": "f"})
    # error[arg-type, reportArgumentType]: CreateBalanceParamsDict
    await balances_create(core, {"customer_id": "c", "feature_id": "f", "included_grant": "1"})
    # error[arg-type, reportArgumentType]: CreateBalanceParamsDict
    await balances_create(core, {"feature_id": "f"})
    # error[arg-type, reportArgumentType]: CreateBalanceParamsDict
    await balances_create(core, {"customer_id": "c", "feature_id": "f", "reset": {"interval": "x"}})
    # error[arg-type, reportArgumentType]: UpdateBalanceParamsDict
    await balances_update(core, {"customer_id": "c", "feature_id": "f", "add_to_balance": "5"})
    # A dict made ahead of time, annotated, gets the offending key named.
    # error[typeddict-unknown-key, reportAssignmentType]: includedGrant
    params: CreateBalanceParamsDict = {"customer_id": "c", "feature_id": "f", "includedGrant": 5}
    await balances_create(core, params)


async def facade_keywords(autumn: Autumn) -> None:
    # error[call-arg, reportCallIssue]: customerId
    await autumn.balances.create(customerId="c", feature_id="f")
    # error[arg-type, reportArgumentType]: "included"; float | None
    await autumn.balances.create(customer_id="c", feature_id="f", included="1000")
    # error[arg-type, reportArgumentType]: "interval"; 'monthly'
    await autumn.balances.update(customer_id="c", feature_id="f", interval="monthly")
    # error[arg-type, reportArgumentType]: CreateBalanceParamsDict
    await autumn.balances.create({"customerId": "c", "feature_id": "f"})
    # Keywords are all optional to a checker (the same method takes a params object
    # instead); a missing customer_id is an SDKValidationError at run time, before any I/O.
    await autumn.balances.create(feature_id="f")


async def models(autumn: Autumn) -> None:
    # error[arg-type, reportArgumentType]: included_grant
    CreateBalanceParams(customer_id="c", feature_id="f", included_grant="1000")
    # error[call-arg, reportCallIssue]: customerId
    CreateBalanceParams(customerId="c", feature_id="f")
    wrong_operation = CreateBalanceParams(customer_id="c", feature_id="f")
    # error[arg-type, reportArgumentType]: UpdateBalanceParams
    await autumn.balances.update(wrong_operation)


def blocking(autumn: AutumnSync) -> None:
    # error[call-arg, reportCallIssue]: customerId
    autumn.balances.create(customerId="c", feature_id="f")
    # error[arg-type, reportArgumentType]: "included"; float | None
    autumn.balances.create(customer_id="c", feature_id="f", included="1000")
    # error[arg-type, reportArgumentType]: UpdateBalanceParamsDict
    autumn.balances.update({"customer_id": "c", "feature_id": "f", "remaining": "5"})
    # error[arg-type, reportArgumentType]: CreateBalanceParamsDict
    autumn.call(balances_create, {"customerId": "c", "feature_id": "f"})


async def usage_operations(core: AutumnCore, autumn: Autumn, sync: AutumnSync) -> None:
    # error[arg-type, reportArgumentType]: CheckParamsDict
    await balances_check(core, {"customer_id": "c", "featureId": "f"})
    # error[arg-type, reportArgumentType]: CheckParamsDict
    await balances_check(core, {"customer_id": "c", "feature_id": "f", "required_balance": "1"})
    # error[call-arg, reportCallIssue]: eventName
    await autumn.balances.track(customer_id="c", eventName="e")
    # error[arg-type, reportArgumentType]: "overage_behavior"; 'capped'
    await autumn.balances.track(customer_id="c", feature_id="f", overage_behavior="capped")
    # error[arg-type, reportArgumentType]: "lock"
    await autumn.balances.check(customer_id="c", feature_id="f", lock={"lock_id": "l"})
    # error[arg-type, reportArgumentType]: "action"; 'commit'
    await autumn.balances.finalize(lock_id="l", action="commit")
    # error[list-item, reportArgumentType]: balance.feature
    await autumn.customers.get(customer_id="c", expand=["balance.feature"])
    # error[arg-type, reportArgumentType]: DeleteBalanceParamsDict
    sync.balances.delete({"customer_id": "c", "feature_id": "f", "interval": "monthly"})
    # error[call-arg, reportCallIssue]: entityId
    sync.entities.get(entityId="e")
"""

FILES = {"readme_idioms.py": README_IDIOMS, "mistakes.py": MISTAKES}

_REVEAL = re.compile(r"# reveal: (?P<both>.+)$")
_REVEAL_EACH = re.compile(r"# reveal mypy: (?P<mypy>.+?)  pyright: (?P<pyright>.+)$")
_ERROR = re.compile(r"# error\[(?P<mypy>[\w-]+), (?P<pyright>\w+)\]: (?P<fragments>.+)$")

CHECKERS: dict[str, Callable[[Path], list[Diagnostic]]] = {
    "mypy": lambda directory: run_mypy(directory, sorted(FILES)),
    "pyright": run_pyright,
}


def markers(pattern: re.Pattern[str]) -> dict[tuple[str, int], re.Match[str]]:
    """(file, line the marker is about) -> the marker."""
    found = {}
    for file, text in FILES.items():
        for number, line in enumerate(textwrap.dedent(text).splitlines(), 1):
            marker = pattern.search(line)
            if marker:
                alone = line.lstrip().startswith("#")
                found[(file, number + 1 if alone else number)] = marker
    return found


def expected_reveals(checker: str) -> dict[tuple[str, int], str]:
    expected = {where: marker[checker] for where, marker in markers(_REVEAL_EACH).items()}
    expected.update({where: marker["both"] for where, marker in markers(_REVEAL).items()})
    return expected


def expected_errors(checker: str) -> dict[tuple[str, int], tuple[str, list[str]]]:
    return {
        where: (marker[checker], marker["fragments"].split("; "))
        for where, marker in markers(_ERROR).items()
    }


_results: dict[str, list[Diagnostic]] = {}


@pytest.fixture(params=sorted(CHECKERS))
def said(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, list[Diagnostic]]:
    """(checker, its diagnostics on FILES): each checker runs once per test session."""
    checker: str = request.param
    if checker not in _results:
        directory = tmp_path_factory.mktemp(f"user_code_{checker}")
        for name, text in FILES.items():
            (directory / name).write_text(textwrap.dedent(text))
        _results[checker] = CHECKERS[checker](directory)
    return checker, _results[checker]


def test_the_readme_idioms_reveal_the_documented_types(said: tuple[str, list[Diagnostic]]) -> None:
    checker, diagnostics = said
    expected = expected_reveals(checker)
    assert len(expected) >= 19  # the control: the markers were read
    assert revealed(diagnostics) == expected


def test_errors_are_exactly_the_marked_lines(said: tuple[str, list[Diagnostic]]) -> None:
    checker, diagnostics = said
    expected = expected_errors(checker)
    found: dict[tuple[str, int], list[Diagnostic]] = {}
    for d in errors(diagnostics):
        found.setdefault((d.file, d.line), []).append(d)
    shown = "\n".join(f"{d.file}:{d.line} [{d.code}] {d.message}" for d in errors(diagnostics))
    assert set(found) == set(expected), shown
    for where, (code, fragments) in expected.items():
        assert code in {d.code for d in found[where]}, f"{where}: {shown}"
        message = "\n".join(d.message for d in found[where])
        for fragment in fragments:
            assert fragment in message, f"{where}: {fragment!r} not in {message!r}"
