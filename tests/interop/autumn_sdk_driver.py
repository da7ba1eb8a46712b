"""Run interop flows with the official ``autumn-sdk`` (PyPI) against an Autumn server.

    python autumn_sdk_driver.py [--server-url URL] [--secret-key KEY] FLOW[=URL]...
    python autumn_sdk_driver.py --list

``FLOW=URL`` runs that flow against its own server (one process, many fresh
servers: the start-up is paid once).

Runs in the peer virtual environment that ``install.py`` creates (it imports
``autumn_sdk``, never this project). URL and key default to
``AUTUMN_SERVER_URL`` / ``AUTUMN_SECRET_KEY``. Prints one JSON line per check,
``{"flow", "name", "passed", "detail"}``; exits 0 when every check passed, 1
when one failed, 2 on bad usage.

Only the SDK's async methods are used. Every answer must parse with the SDK's
own pydantic models: a ``ResponseValidationError`` is a failed check, and the
values are then still read from the raw answer, so the arithmetic checks stay
informative.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
from autumn_sdk import Autumn, errors

CUSTOMER = "cus_123"
FEATURE = "api_calls"
API_VERSION = "2.1"


class Recorder:
    def __init__(self, flow: str) -> None:
        self.flow = flow
        self.failed = 0

    def check(self, name: str, passed: bool, detail: str = "") -> None:
        if not passed:
            self.failed += 1
        line = {"flow": self.flow, "name": name, "passed": bool(passed), "detail": detail}
        print(json.dumps(line), flush=True)

    def equal(self, name: str, actual: Any, expected: Any, note: str = "") -> None:
        self.check(
            name,
            actual == expected and _same_kinds(actual, expected),
            f"got {json.dumps(actual)}, expected {json.dumps(expected)}{note}",
        )


def _same_kinds(actual: Any, expected: Any) -> bool:
    # True == 1 in Python; a flag read back as 1 is not the boolean the API sends.
    if isinstance(expected, list) and isinstance(actual, list):
        return all(_same_kinds(a, e) for a, e in zip(actual, expected, strict=False))
    return isinstance(actual, bool) == isinstance(expected, bool)


class Answer:
    """A parsed answer (a pydantic model), or the raw JSON the SDK refused (``raw``)."""

    def __init__(self, value: Any, raw: bool) -> None:
        self.value = value
        self.raw = raw

    @property
    def note(self) -> str:
        return " (read from the raw answer the SDK refused)" if self.raw else ""


_MISSING = object()


def field(obj: Any, name: str) -> Any:
    """A field of a parsed model or of raw JSON; None when absent."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def has(obj: Any, name: str) -> bool:
    if isinstance(obj, Mapping):
        return name in obj
    return obj is not None and getattr(obj, name, _MISSING) is not _MISSING


def totals(balance: Any) -> list[Any]:
    return [field(balance, "granted"), field(balance, "remaining"), field(balance, "usage")]


def describe(error: BaseException) -> str:
    if isinstance(error, errors.AutumnDefaultError):
        return f"AutumnDefaultError {error.status_code}: {error.body}"
    return f"{type(error).__name__}: {error}"


async def expect_ok(rec: Recorder, what: str, call: Callable[[], Awaitable[Any]]) -> Answer:
    name = f"{what}: answered 200 and parsed with the SDK's schema"
    try:
        value = await call()
    except errors.ResponseValidationError as exc:
        rec.check(name, False, describe(exc))
        try:
            return Answer(json.loads(exc.body or ""), raw=True)
        except ValueError:
            return Answer(None, raw=True)
    except Exception as exc:
        rec.check(name, False, describe(exc))
        return Answer(None, raw=False)
    rec.check(name, True)
    return Answer(value, raw=False)


async def expect_error(
    rec: Recorder, what: str, status: int, code: str, call: Callable[[], Awaitable[Any]]
) -> None:
    name = f"{what}: {status} {code}"
    try:
        value = await call()
    except errors.AutumnDefaultError as exc:
        try:
            body = json.loads(exc.body or "")
        except ValueError:
            rec.check(name, False, f"status {exc.status_code}, body is not JSON: {exc.body}")
            return
        keys = sorted(body) if isinstance(body, dict) else []
        passed = (
            exc.status_code == status
            and body.get("code") == code
            and keys == ["code", "env", "message"]
        )
        rec.check(name, passed, f"status {exc.status_code}, body {exc.body}")
        return
    except Exception as exc:
        rec.check(name, False, f"expected AutumnDefaultError, got {describe(exc)}")
        return
    rec.check(name, False, f"expected an error, got success: {value!r}")


# ---- clients ----------------------------------------------------------------


class Settings:
    def __init__(self, server_url: str, secret_key: str) -> None:
        self.server_url = server_url
        self.secret_key = secret_key


class _BodySwap(httpx.AsyncClient):
    """Sends ``body`` instead of what the SDK built: the SDK's own pydantic models
    refuse such bodies before sending, and the point is how it handles the 400."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self._body = body

    def build_request(self, method: str, url: Any, **kwargs: Any) -> httpx.Request:
        for key in ("json", "data", "files"):
            kwargs.pop(key, None)
        kwargs["content"] = self._body
        return super().build_request(method, url, **kwargs)


class _HeaderProbe(httpx.AsyncClient):
    """Remembers the headers of the last request."""

    sent: httpx.Headers | None = None

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        self.sent = request.headers
        return await super().send(request, **kwargs)


class _StatusProbe(httpx.AsyncClient):
    """Remembers the status of the last answer (the SDK's models do not carry it)."""

    status: int | None = None

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = await super().send(request, **kwargs)
        self.status = response.status_code
        return response


def client(settings: Settings, **options: Any) -> Autumn:
    # fail_open=False: by default the SDK turns a 5xx or a network error on
    # check/track/entities.get into a made-up 200 answer, which would hide a
    # server failure from these checks.
    kwargs: dict[str, Any] = {
        "secret_key": settings.secret_key,
        "server_url": settings.server_url,
        "x_api_version": API_VERSION,
        "fail_open": False,
    }
    kwargs.update(options)
    return Autumn(**kwargs)


# ---- reading views ----------------------------------------------------------


async def read_balance(
    rec: Recorder, autumn: Autumn, what: str, feature_id: str = FEATURE
) -> tuple[Any, Answer]:
    answer = await expect_ok(
        rec, f"customers.get {what}", lambda: autumn.customers.get_async(customer_id=CUSTOMER)
    )
    return field(field(answer.value, "balances"), feature_id), answer


async def expect_totals(rec: Recorder, autumn: Autumn, what: str, expected: list[Any]) -> Any:
    balance, answer = await read_balance(rec, autumn, what)
    rec.equal(f"{what}: {FEATURE} granted/remaining/usage", totals(balance), expected, answer.note)
    return balance


async def create_api_calls(rec: Recorder, autumn: Autumn, included: float) -> None:
    answer = await expect_ok(
        rec,
        f"balances.create {FEATURE} included_grant {included}",
        lambda: autumn.balances.create_async(
            customer_id=CUSTOMER, feature_id=FEATURE, included_grant=included
        ),
    )
    rec.equal("balances.create answer", field(answer.value, "success"), True)


async def update(rec: Recorder, autumn: Autumn, **change: Any) -> None:
    what = f"balances.update {json.dumps(change)}"
    answer = await expect_ok(
        rec,
        what,
        lambda: autumn.balances.update_async(customer_id=CUSTOMER, feature_id=FEATURE, **change),
    )
    rec.equal(f"{what} answer", field(answer.value, "success"), True)


# ---- flows ------------------------------------------------------------------


async def create_included_grant(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        answer = await expect_ok(
            rec,
            "balances.create seed example",
            lambda: autumn.balances.create_async(
                customer_id=CUSTOMER,
                feature_id=FEATURE,
                included_grant=1000,
                reset={"interval": "month"},
            ),
        )
        rec.equal("balances.create answer", field(answer.value, "success"), True)
        balance, view = await read_balance(rec, autumn, "after create")
        note = view.note
        rec.equal("granted/remaining/usage", totals(balance), [1000, 1000, 0], note)
        breakdown = field(balance, "breakdown") or []
        rec.equal("one breakdown entry", len(breakdown), 1, note)
        entry = breakdown[0] if breakdown else None
        rec.equal("breakdown included_grant", field(entry, "included_grant"), 1000, note)
        reset = field(entry, "reset")
        rec.equal("breakdown reset interval", field(reset, "interval"), "month", note)
        resets_at = field(reset, "resets_at")
        rec.check(
            "breakdown reset resets_at is a future timestamp",
            isinstance(resets_at, (int, float)) and resets_at > time.time() * 1000,
            f"resets_at {resets_at}{note}",
        )
        rec.equal(
            "next_reset_at is the breakdown's resets_at",
            field(balance, "next_reset_at"),
            resets_at,
            note,
        )


async def create_one_off(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await create_api_calls(rec, autumn, 100)
        balance, view = await read_balance(rec, autumn, "after a create without reset")
        rec.equal("granted/remaining/usage", totals(balance), [100, 100, 0], view.note)
        rec.equal("next_reset_at", field(balance, "next_reset_at"), None, view.note)
        breakdown = field(balance, "breakdown") or []
        reset = field(breakdown[0] if breakdown else None, "reset")
        rec.equal(
            "breakdown reset of a one-off balance",
            [field(reset, "interval"), field(reset, "resets_at")],
            ["one_off", None],
            view.note,
        )


async def update_remaining(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await create_api_calls(rec, autumn, 100)
        await expect_totals(rec, autumn, "after create", [100, 100, 0])
        await update(rec, autumn, remaining=40)
        await expect_totals(rec, autumn, "after remaining 40", [100, 40, 60])


async def update_add_to_balance(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await create_api_calls(rec, autumn, 100)
        await update(rec, autumn, add_to_balance=50)
        balance = await expect_totals(rec, autumn, "after add_to_balance 50", [100, 150, -50])
        breakdown = field(balance, "breakdown") or []
        entry = breakdown[0] if breakdown else None
        rec.equal(
            "breakdown included_grant/remaining/usage",
            [field(entry, "included_grant"), field(entry, "remaining"), field(entry, "usage")],
            [100, 150, -50],
        )


async def update_usage(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await create_api_calls(rec, autumn, 100)
        await update(rec, autumn, usage=30)
        await expect_totals(rec, autumn, "after usage 30", [100, 70, 30])


async def update_included_grant(rec: Recorder, s: Settings) -> None:
    # The reference's worked example: 100/100/0 -> add 50 -> 100/150/-50 ->
    # included_grant 200 -> 200/150/50.
    async with client(s) as autumn:
        await create_api_calls(rec, autumn, 100)
        await expect_totals(rec, autumn, "after create", [100, 100, 0])
        await update(rec, autumn, add_to_balance=50)
        await expect_totals(rec, autumn, "after add_to_balance 50", [100, 150, -50])
        await update(rec, autumn, included_grant=200)
        await expect_totals(rec, autumn, "after included_grant 200", [200, 150, 50])


async def error_unknown_customer(rec: Recorder, s: Settings) -> None:
    nobody = "cus_nobody"
    async with client(s) as autumn:
        await expect_error(
            rec,
            "balances.create unknown customer",
            404,
            "customer_not_found",
            lambda: autumn.balances.create_async(
                customer_id=nobody, feature_id=FEATURE, included_grant=10
            ),
        )
        await expect_error(
            rec,
            "balances.update unknown customer",
            404,
            "customer_not_found",
            lambda: autumn.balances.update_async(
                customer_id=nobody, feature_id=FEATURE, remaining=5
            ),
        )
        await expect_error(
            rec,
            "customers.get unknown customer",
            404,
            "customer_not_found",
            lambda: autumn.customers.get_async(customer_id=nobody),
        )


async def error_unknown_feature(rec: Recorder, s: Settings) -> None:
    nothing = "no_such_feature"
    async with client(s) as autumn:
        await expect_error(
            rec,
            "balances.create unknown feature",
            404,
            "feature_not_found",
            lambda: autumn.balances.create_async(
                customer_id=CUSTOMER, feature_id=nothing, included_grant=10
            ),
        )
        await expect_error(
            rec,
            "balances.update unknown feature",
            404,
            "feature_not_found",
            lambda: autumn.balances.update_async(
                customer_id=CUSTOMER, feature_id=nothing, remaining=5
            ),
        )
        await expect_error(
            rec,
            "balances.create unknown feature and customer (feature checked first)",
            404,
            "feature_not_found",
            lambda: autumn.balances.create_async(
                customer_id="cus_nobody", feature_id=nothing, included_grant=1
            ),
        )


async def error_bad_key(rec: Recorder, s: Settings) -> None:
    async with client(s, secret_key="am_sk_test_not_the_key") as wrong:
        await expect_error(
            rec,
            "balances.create with an unknown key",
            401,
            "invalid_secret_key",
            lambda: wrong.balances.create_async(
                customer_id=CUSTOMER, feature_id=FEATURE, included_grant=10
            ),
        )
        await expect_error(
            rec,
            "customers.get with an unknown key",
            401,
            "invalid_secret_key",
            lambda: wrong.customers.get_async(customer_id=CUSTOMER),
        )
    async with client(s, secret_key="sk_not_an_autumn_key") as unprefixed:
        await expect_error(
            rec,
            "balances.update with a key not starting am_sk_",
            401,
            "invalid_request",
            lambda: unprefixed.balances.update_async(
                customer_id=CUSTOMER, feature_id=FEATURE, remaining=5
            ),
        )


async def error_bad_body(rec: Recorder, s: Settings) -> None:
    create_body = json.dumps({"customer_id": 123, "feature_id": FEATURE, "included_grant": 5})
    async with client(s, async_client=_BodySwap(create_body.encode())) as autumn:
        await expect_error(
            rec,
            "balances.create with customer_id 123",
            400,
            "invalid_inputs",
            lambda: autumn.balances.create_async(
                customer_id=CUSTOMER, feature_id=FEATURE, included_grant=5
            ),
        )
    update_body = json.dumps({"customer_id": CUSTOMER, "feature_id": FEATURE, "remaining": "five"})
    async with client(s, async_client=_BodySwap(update_body.encode())) as autumn:
        await expect_error(
            rec,
            'balances.update with remaining "five"',
            400,
            "invalid_inputs",
            lambda: autumn.balances.update_async(
                customer_id=CUSTOMER, feature_id=FEATURE, remaining=5
            ),
        )


async def customers_get(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await create_api_calls(rec, autumn, 1000)
        balance, view = await read_balance(rec, autumn, "of the seeded customer")
        note = view.note
        rec.equal("id", field(view.value, "id"), CUSTOMER, note)
        rec.equal("name", field(view.value, "name"), "Example Customer", note)
        rec.equal("env", field(view.value, "env"), "sandbox", note)
        rec.equal("api_calls granted/remaining/usage", totals(balance), [1000, 1000, 0], note)
        flags = field(view.value, "flags")
        rec.check("flags is a mapping", isinstance(flags, Mapping), f"flags {flags!r}{note}")


async def customers_get_or_create(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await create_api_calls(rec, autumn, 100)
        existing = await expect_ok(
            rec,
            "customers.get_or_create existing customer",
            lambda: autumn.customers.get_or_create_async(customer_id=CUSTOMER),
        )
        rec.equal(
            "existing: id and name",
            [field(existing.value, "id"), field(existing.value, "name")],
            [CUSTOMER, "Example Customer"],
            existing.note,
        )
        rec.equal(
            "existing: its balance is kept",
            totals(field(field(existing.value, "balances"), FEATURE)),
            [100, 100, 0],
            existing.note,
        )
        fresh = {"customer_id": "cus_interop_new", "name": "Ada", "email": "ada@example.com"}
        created = await expect_ok(
            rec,
            "customers.get_or_create new customer",
            lambda: autumn.customers.get_or_create_async(**fresh),
        )
        rec.equal(
            "new: id, name, email",
            [field(created.value, k) for k in ("id", "name", "email")],
            [fresh["customer_id"], fresh["name"], fresh["email"]],
            created.note,
        )
        balances = field(created.value, "balances")
        rec.equal("new: no balances", dict(balances or {}), {}, created.note)
        again = await expect_ok(
            rec,
            "customers.get of the new customer",
            lambda: autumn.customers.get_async(customer_id=fresh["customer_id"]),
        )
        rec.equal(
            "customers.get finds it", field(again.value, "id"), fresh["customer_id"], again.note
        )


async def entities_get(rec: Recorder, s: Settings) -> None:
    seat = "seat_1"
    async with client(s) as autumn:
        created = await expect_ok(
            rec,
            "balances.create seats 5 for entity seat_1",
            lambda: autumn.balances.create_async(
                customer_id=CUSTOMER, feature_id="seats", entity_id=seat, included_grant=5
            ),
        )
        rec.equal("balances.create answer", field(created.value, "success"), True)
        await create_api_calls(rec, autumn, 100)
        answer = await expect_ok(
            rec,
            "entities.get seat_1",
            lambda: autumn.entities.get_async(customer_id=CUSTOMER, entity_id=seat),
        )
        rec.equal(
            "entity id and name",
            [field(answer.value, "id"), field(answer.value, "name")],
            [seat, "Seat one"],
            answer.note,
        )
        balances = field(answer.value, "balances")
        rec.equal(
            "entity's own seats balance", totals(field(balances, "seats")), [5, 5, 0], answer.note
        )
        rec.equal(
            "customer-level api_calls balance shown on the entity",
            totals(field(balances, FEATURE)),
            [100, 100, 0],
            answer.note,
        )
        await expect_error(
            rec,
            "entities.get unknown entity",
            404,
            "entity_not_found",
            lambda: autumn.entities.get_async(customer_id=CUSTOMER, entity_id="seat_nobody"),
        )
        balance, view = await read_balance(rec, autumn, "with an entity balance", "seats")
        rec.equal(
            "customer view totals include the entity's seats", totals(balance), [5, 5, 0], view.note
        )


async def boolean_flag(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        answer = await expect_ok(
            rec,
            "balances.create premium (boolean)",
            lambda: autumn.balances.create_async(customer_id=CUSTOMER, feature_id="premium"),
        )
        rec.equal("balances.create answer", field(answer.value, "success"), True)
        _, view = await read_balance(rec, autumn, "after granting premium", "premium")
        flag = field(field(view.value, "flags"), "premium")
        rec.equal("flags.premium feature_id", field(flag, "feature_id"), "premium", view.note)
        rec.check(
            "flags.premium id is a string",
            isinstance(field(flag, "id"), str),
            f"flag {flag!r}{view.note}",
        )
        rec.check(
            "premium is not under balances",
            not has(field(view.value, "balances"), "premium"),
            f"balances {field(view.value, 'balances')!r}{view.note}",
        )


async def default_api_version(rec: Recorder, s: Settings) -> None:
    # Unconfigured, the SDK sends its own default x-api-version.
    probe = _HeaderProbe()
    async with Autumn(
        secret_key=s.secret_key, server_url=s.server_url, fail_open=False, async_client=probe
    ) as autumn:
        answer = await expect_ok(
            rec,
            "balances.create with the SDK's default x-api-version",
            lambda: autumn.balances.create_async(
                customer_id=CUSTOMER, feature_id=FEATURE, included_grant=10
            ),
        )
    sent = probe.sent.get("x-api-version") if probe.sent is not None else None
    rec.equal(
        "balances.create answer",
        field(answer.value, "success"),
        True,
        f" (x-api-version {sent})",
    )


# ---- check / track / delete / finalize ----------------------------------------

WORDS = "words"  # metered, sent by the "generation" event; credits draw on it


async def grant(
    rec: Recorder, autumn: Autumn, feature_id: str, amount: float, **extra: Any
) -> None:
    answer = await expect_ok(
        rec,
        f"balances.create {feature_id} {amount}",
        lambda: autumn.balances.create_async(
            customer_id=CUSTOMER, feature_id=feature_id, included_grant=amount, **extra
        ),
    )
    rec.equal(f"balances.create {feature_id} answer", field(answer.value, "success"), True)


async def check_allowed(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await grant(rec, autumn, FEATURE, 5)
        ok = await expect_ok(
            rec,
            "check required 3",
            lambda: autumn.check_async(
                customer_id=CUSTOMER, feature_id=FEATURE, required_balance=3
            ),
        )
        rec.equal(
            "check required 3: allowed, required_balance, remaining",
            [
                field(ok.value, "allowed"),
                field(ok.value, "required_balance"),
                field(field(ok.value, "balance"), "remaining"),
            ],
            [True, 3, 5],
            ok.note,
        )
        short = await expect_ok(
            rec,
            "check required 6",
            lambda: autumn.check_async(
                customer_id=CUSTOMER, feature_id=FEATURE, required_balance=6
            ),
        )
        rec.equal("check required 6: allowed", field(short.value, "allowed"), False, short.note)
        flagless = await expect_ok(
            rec,
            "check premium (no flag)",
            lambda: autumn.check_async(customer_id=CUSTOMER, feature_id="premium"),
        )
        rec.equal(
            "check premium: allowed, balance, flag",
            [field(flagless.value, k) for k in ("allowed", "balance", "flag")],
            [False, None, None],
            flagless.note,
        )
        await expect_ok(
            rec,
            "balances.create premium",
            lambda: autumn.balances.create_async(customer_id=CUSTOMER, feature_id="premium"),
        )
        flagged = await expect_ok(
            rec,
            "check premium (flag granted)",
            lambda: autumn.check_async(customer_id=CUSTOMER, feature_id="premium"),
        )
        rec.equal(
            "check premium: allowed, flag feature_id",
            [field(flagged.value, "allowed"), field(field(flagged.value, "flag"), "feature_id")],
            [True, "premium"],
            flagged.note,
        )


async def check_send_event(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await grant(rec, autumn, FEATURE, 5)
        used = await expect_ok(
            rec,
            "check send_event required 3",
            lambda: autumn.check_async(
                customer_id=CUSTOMER, feature_id=FEATURE, required_balance=3, send_event=True
            ),
        )
        rec.equal(
            "check send_event: allowed, remaining after",
            [field(used.value, "allowed"), field(field(used.value, "balance"), "remaining")],
            [True, 2],
            used.note,
        )
        refused = await expect_ok(
            rec,
            "check send_event required 3 again, with_preview",
            lambda: autumn.check_async(
                customer_id=CUSTOMER,
                feature_id=FEATURE,
                required_balance=3,
                send_event=True,
                with_preview=True,
            ),
        )
        preview = field(refused.value, "preview")
        rec.equal(
            "refused: allowed, remaining kept, preview scenario",
            [
                field(refused.value, "allowed"),
                field(field(refused.value, "balance"), "remaining"),
                field(preview, "scenario"),
            ],
            [False, 2, "usage_limit"],
            refused.note,
        )
        await expect_totals(rec, autumn, "after send_event", [5, 2, 3])


async def track_value(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await grant(rec, autumn, FEATURE, 10)
        used = await expect_ok(
            rec,
            "track 4",
            lambda: autumn.track_async(customer_id=CUSTOMER, feature_id=FEATURE, value=4),
        )
        deductions = field(used.value, "deductions") or []
        rec.equal(
            "track 4: value, remaining, deduction values",
            [
                field(used.value, "value"),
                field(field(used.value, "balance"), "remaining"),
                [field(d, "value") for d in deductions],
            ],
            [4, 6, [4]],
            used.note,
        )
        credited = await expect_ok(
            rec,
            "track -2",
            lambda: autumn.track_async(customer_id=CUSTOMER, feature_id=FEATURE, value=-2),
        )
        rec.equal(
            "track -2: remaining",
            field(field(credited.value, "balance"), "remaining"),
            8,
            credited.note,
        )
        await expect_ok(
            rec,
            "track 20 (cap by default)",
            lambda: autumn.track_async(customer_id=CUSTOMER, feature_id=FEATURE, value=20),
        )
        await expect_totals(rec, autumn, "after a capped track", [10, 0, 10])
        await expect_ok(
            rec,
            "track 5 overage_behavior overflow",
            lambda: autumn.track_async(
                customer_id=CUSTOMER, feature_id=FEATURE, value=5, overage_behavior="overflow"
            ),
        )
        await expect_totals(rec, autumn, "after an overflowing track", [10, 0, 15])


async def track_event_credits(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await grant(rec, autumn, WORDS, 10)
        await grant(rec, autumn, "credits", 100, reset={"interval": "month"})
        answer = await expect_ok(
            rec,
            "track event generation 14",
            lambda: autumn.track_async(customer_id=CUSTOMER, event_name="generation", value=14),
        )
        balances = field(answer.value, "balances") or {}
        rec.equal(
            "event_name echoed, balance shown, balances keys",
            [
                field(answer.value, "event_name"),
                field(field(answer.value, "balance"), "feature_id"),
                sorted(balances),
            ],
            ["generation", WORDS, ["credits", WORDS]],
            answer.note,
        )
        rec.equal(
            "deductions: 10 words, then 4 words as 2 credits",
            [
                [field(d, "feature_id"), field(d, "value")]
                for d in field(answer.value, "deductions")
            ],
            [[WORDS, 10], ["credits", 2]],
            answer.note,
        )
        pooled = await expect_ok(
            rec,
            "check words required 6 (from credits)",
            lambda: autumn.check_async(customer_id=CUSTOMER, feature_id=WORDS, required_balance=6),
        )
        rec.equal(
            "check through the credit system: allowed, required_balance in credits",
            [field(pooled.value, "allowed"), field(pooled.value, "required_balance")],
            [True, 3],
            pooled.note,
        )


async def track_async_flag(rec: Recorder, s: Settings) -> None:
    probe = _StatusProbe()
    async with client(s, async_client=probe) as autumn:
        await grant(rec, autumn, FEATURE, 10)
        answer = await expect_ok(
            rec,
            "track async 3",
            lambda: autumn.track_async(
                customer_id=CUSTOMER, feature_id=FEATURE, value=3, async_=True
            ),
        )
        rec.equal(
            "track async: status, balance",
            [probe.status, field(answer.value, "balance")],
            [202, None],
            answer.note,
        )
        await expect_totals(rec, autumn, "after an async track", [10, 7, 3])


async def batch_track(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await grant(rec, autumn, FEATURE, 10)
        await grant(rec, autumn, WORDS, 10)
        batch: list[Any] = [
            {"customer_id": CUSTOMER, "feature_id": FEATURE, "value": 2, "idempotency_key": "e1"},
            {"customer_id": CUSTOMER, "event_name": "generation", "value": 3},
            {"customer_id": CUSTOMER, "feature_id": FEATURE},
        ]
        answer = await expect_ok(
            rec, "batch_track of 3 items", lambda: autumn.batch_track_async(request=batch)
        )
        rec.equal("batch_track answer", field(answer.value, "success"), True, answer.note)
        await expect_totals(rec, autumn, "after the batch", [10, 7, 3])
        words, words_answer = await read_balance(rec, autumn, "words after the batch", WORDS)
        rec.equal("words usage after the batch", field(words, "usage"), 3, words_answer.note)
        await expect_ok(
            rec, "the same batch again", lambda: autumn.batch_track_async(request=batch)
        )
        # The keyed item is applied once; the unkeyed ones again.
        await expect_totals(rec, autumn, "after the batch sent twice", [10, 6, 4])
        await expect_error(
            rec,
            "batch_track with an unknown feature in item 1",
            404,
            "feature_not_found",
            lambda: autumn.batch_track_async(
                request=[
                    {"customer_id": CUSTOMER, "feature_id": FEATURE, "value": 1},
                    {"customer_id": CUSTOMER, "feature_id": "nope", "value": 1},
                ]
            ),
        )
        await expect_totals(rec, autumn, "after the refused batch", [10, 6, 4])


AI_CREDITS = "ai_credits"  # an AI credit system with a 20 % default markup


async def track_tokens(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await grant(rec, autumn, AI_CREDITS, 100)
        # openai/gpt-4o: $2.50 / $10 per million input / output tokens, 20 % markup.
        answer = await expect_ok(
            rec,
            "track_tokens openai/gpt-4o 1000 in 500 out",
            lambda: autumn.track_tokens_async(
                customer_id=CUSTOMER, model_id="openai/gpt-4o", input_tokens=1000, output_tokens=500
            ),
        )
        balance = field(answer.value, "balance")
        rec.equal(
            "track_tokens: value (the cost), balance feature and remaining",
            [
                field(answer.value, "value"),
                field(balance, "feature_id"),
                field(balance, "remaining"),
            ],
            [0.009, AI_CREDITS, 99.991],
            answer.note,
        )
        await expect_error(
            rec,
            "track_tokens of a model without a price",
            400,
            "invalid_request",
            lambda: autumn.track_tokens_async(
                customer_id=CUSTOMER,
                model_id="openai/no-such-model",
                input_tokens=1,
                output_tokens=1,
            ),
        )
        await expect_error(
            rec,
            "track_tokens on a feature that is not an AI credit system",
            400,
            "invalid_request",
            lambda: autumn.track_tokens_async(
                customer_id=CUSTOMER,
                feature_id=FEATURE,
                model_id="openai/gpt-4o",
                input_tokens=1,
                output_tokens=1,
            ),
        )


async def balances_delete(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await grant(rec, autumn, FEATURE, 100, balance_id="a")
        await grant(rec, autumn, FEATURE, 200, balance_id="b")
        await update(rec, autumn, balance_id="a", remaining=60)
        answer = await expect_ok(
            rec,
            "balances.delete a with recalculate_balances",
            lambda: autumn.balances.delete_async(
                customer_id=CUSTOMER, feature_id=FEATURE, balance_id="a", recalculate_balances=True
            ),
        )
        rec.equal("balances.delete answer", field(answer.value, "success"), True)
        balance = await expect_totals(rec, autumn, "after deleting a", [200, 160, 40])
        rec.equal(
            "the breakdown left",
            [field(b, "id") for b in field(balance, "breakdown") or []],
            ["b"],
        )
        await expect_error(
            rec,
            "balances.delete of a balance that is not there",
            404,
            "invalid_request",
            lambda: autumn.balances.delete_async(customer_id=CUSTOMER, balance_id="a"),
        )


async def check_lock_finalize(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await grant(rec, autumn, FEATURE, 10)
        locked = await expect_ok(
            rec,
            "check required 4 with a lock",
            lambda: autumn.check_async(
                customer_id=CUSTOMER,
                feature_id=FEATURE,
                required_balance=4,
                lock={"lock_id": "lock_1", "enabled": True},
            ),
        )
        rec.equal("locked: allowed", field(locked.value, "allowed"), True, locked.note)
        await expect_totals(rec, autumn, "while locked", [10, 6, 4])
        released = await expect_ok(
            rec,
            "balances.finalize release",
            lambda: autumn.balances.finalize_async(lock_id="lock_1", action="release"),
        )
        rec.equal("finalize answer", field(released.value, "success"), True)
        await expect_totals(rec, autumn, "after release", [10, 10, 0])
        await expect_error(
            rec,
            "balances.finalize of a finished lock",
            400,
            "invalid_request",
            lambda: autumn.balances.finalize_async(lock_id="lock_1", action="confirm"),
        )


async def usage_errors(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await grant(rec, autumn, FEATURE, 2)
        await expect_error(
            rec,
            "track unknown feature",
            404,
            "feature_not_found",
            lambda: autumn.track_async(customer_id=CUSTOMER, feature_id="no_such_feature"),
        )
        await expect_error(
            rec,
            "check unknown customer",
            404,
            "customer_not_found",
            lambda: autumn.check_async(customer_id="cus_nobody", feature_id=FEATURE),
        )
        await expect_error(
            rec,
            "track an event no feature listens to",
            404,
            "invalid_request",
            lambda: autumn.track_async(customer_id=CUSTOMER, event_name="nothing_listens"),
        )
        await expect_error(
            rec,
            "track for an unknown entity",
            404,
            "entity_not_found",
            lambda: autumn.track_async(
                customer_id=CUSTOMER, feature_id=FEATURE, entity_id="seat_nobody"
            ),
        )


# ---- customers and entities as Autumn keeps them ------------------------------


async def customers_data(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        sent = {
            "customer_id": "cus_interop_data",
            "name": "Ada",
            "email": "ada@example.com",
            "fingerprint": "device-42",
            "metadata": {"plan": "team"},
            "send_email_receipts": True,
        }
        created = await expect_ok(
            rec,
            "customers.get_or_create with metadata, fingerprint, receipts",
            lambda: autumn.customers.get_or_create_async(**sent),
        )
        rec.equal(
            "new: fingerprint, metadata, send_email_receipts kept",
            [field(created.value, k) for k in ("fingerprint", "metadata", "send_email_receipts")],
            ["device-42", {"plan": "team"}, True],
            created.note,
        )
        again = await expect_ok(
            rec,
            "customers.get_or_create existing, other name, receipts off",
            lambda: autumn.customers.get_or_create_async(
                customer_id="cus_interop_data", name="Other", send_email_receipts=False
            ),
        )
        rec.equal(
            "existing: name kept, send_email_receipts updated",
            [field(again.value, "name"), field(again.value, "send_email_receipts")],
            ["Ada", False],
            again.note,
        )
        first = await expect_ok(
            rec,
            "customers.get_or_create customer_id null with an email",
            lambda: autumn.customers.get_or_create_async(
                customer_id=None, email="null-id@example.com", name="Null"
            ),
        )
        repeat = await expect_ok(
            rec,
            "customers.get_or_create customer_id null, same email in capitals",
            lambda: autumn.customers.get_or_create_async(
                customer_id=None, email="NULL-ID@example.com", name="Other"
            ),
        )
        rec.equal(
            "null id: id null, and the repeat is the same customer (its name)",
            [field(first.value, "id"), field(repeat.value, "id"), field(repeat.value, "name")],
            [None, None, "Null"],
            first.note + repeat.note,
        )
        await expect_error(
            rec,
            "customers.get_or_create customer_id null without an email",
            400,
            "invalid_request",
            lambda: autumn.customers.get_or_create_async(customer_id=None, name="Nobody"),
        )
        await expect_error(
            rec,
            "customers.get_or_create id with a period",
            400,
            "invalid_inputs",
            lambda: autumn.customers.get_or_create_async(customer_id="a.b"),
        )
        await expect_error(
            rec,
            "customers.get id with an @",
            400,
            "invalid_inputs",
            lambda: autumn.customers.get_async(customer_id="ada@example.com"),
        )
        await expect_error(
            rec,
            "customers.get_or_create invalid email",
            400,
            "invalid_inputs",
            lambda: autumn.customers.get_or_create_async(
                customer_id="cus_bad_email", email="not-an-email"
            ),
        )


async def customers_expand(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await grant(rec, autumn, FEATURE, 10)
        await expect_ok(
            rec,
            "balances.create premium",
            lambda: autumn.balances.create_async(customer_id=CUSTOMER, feature_id="premium"),
        )
        expand: Any = [
            "invoices",
            "entities",
            "trials_used",
            "referrals",
            "payment_method",
            "balances.feature",
            "flags.feature",
        ]
        view = await expect_ok(
            rec,
            "customers.get with expand",
            lambda: autumn.customers.get_async(customer_id=CUSTOMER, expand=expand),
        )
        entities = field(view.value, "entities") or []
        rec.equal(
            "expanded: invoices, entity ids, trials_used, referrals",
            [
                field(view.value, "invoices"),
                [field(e, "id") for e in entities],
                field(view.value, "trials_used"),
                field(view.value, "referrals"),
            ],
            [[], ["seat_1"], [], []],
            view.note,
        )
        rec.equal(
            "expanded: balances.feature and flags.feature",
            [
                field(field(field(field(view.value, "balances"), FEATURE), "feature"), "id"),
                field(field(field(field(view.value, "flags"), "premium"), "feature"), "id"),
            ],
            [FEATURE, "premium"],
            view.note,
        )
        created = await expect_ok(
            rec,
            "customers.get_or_create with expand entities",
            lambda: autumn.customers.get_or_create_async(
                customer_id="cus_interop_expand", expand=["entities"]
            ),
        )
        rec.equal("get_or_create expanded entities", field(created.value, "entities"), [])


async def entities_by_entity_id(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        await expect_ok(
            rec,
            "balances.create seats 5 for entity seat_1",
            lambda: autumn.balances.create_async(
                customer_id=CUSTOMER, feature_id="seats", entity_id="seat_1", included_grant=5
            ),
        )
        answer = await expect_ok(
            rec,
            "entities.get without customer_id",
            lambda: autumn.entities.get_async(entity_id="seat_1"),
        )
        rec.equal(
            "found from the entity: id, customer_id, seats",
            [
                field(answer.value, "id"),
                field(answer.value, "customer_id"),
                totals(field(field(answer.value, "balances"), "seats")),
            ],
            ["seat_1", CUSTOMER, [5, 5, 0]],
            answer.note,
        )
        await expect_error(
            rec,
            "entities.get for an unknown customer",
            404,
            "entity_not_found",
            lambda: autumn.entities.get_async(customer_id="cus_nobody", entity_id="seat_1"),
        )


async def usage_fidelity(rec: Recorder, s: Settings) -> None:
    async with client(s) as autumn:
        early = await expect_ok(
            rec,
            "check send_event words 10 without a balance (credits draw on words)",
            lambda: autumn.check_async(
                customer_id=CUSTOMER, feature_id=WORDS, required_balance=10, send_event=True
            ),
        )
        rec.equal(
            "early answer: allowed, required_balance in words",
            [field(early.value, "allowed"), field(early.value, "required_balance")],
            [False, 10],
            early.note,
        )
        zero = await expect_ok(
            rec,
            "check words 0 with a lock, without a balance",
            lambda: autumn.check_async(
                customer_id=CUSTOMER,
                feature_id=WORDS,
                required_balance=0,
                lock={"lock_id": "lock_none", "enabled": True},
            ),
        )
        rec.equal("no-balance lock: allowed", field(zero.value, "allowed"), True, zero.note)
        await expect_error(
            rec,
            "balances.finalize of a lock that kept no receipt",
            400,
            "invalid_request",
            lambda: autumn.balances.finalize_async(lock_id="lock_none", action="confirm"),
        )
        await grant(rec, autumn, FEATURE, 10, balance_id="top")
        await grant(rec, autumn, FEATURE, 20, balance_id="seat", entity_id="seat_1")
        await expect_ok(
            rec,
            "track 6 at customer level",
            lambda: autumn.track_async(customer_id=CUSTOMER, feature_id=FEATURE, value=6),
        )
        await expect_ok(
            rec,
            "balances.delete top with recalculate_balances",
            lambda: autumn.balances.delete_async(
                customer_id=CUSTOMER,
                feature_id=FEATURE,
                balance_id="top",
                recalculate_balances=True,
            ),
        )
        seat = await expect_ok(
            rec,
            "entities.get seat_1 after the delete",
            lambda: autumn.entities.get_async(customer_id=CUSTOMER, entity_id="seat_1"),
        )
        rec.equal(
            "the entity's balance took the usage",
            totals(field(field(seat.value, "balances"), FEATURE)),
            [20, 14, 6],
            seat.note,
        )
        await expect_ok(
            rec,
            "balances.delete with an unknown entity_id",
            lambda: autumn.balances.delete_async(
                customer_id=CUSTOMER, feature_id=FEATURE, entity_id="seat_9"
            ),
        )
        balance, view = await read_balance(rec, autumn, "after deleting at every level")
        rec.equal("no api_calls balance left at any level", balance, None, view.note)


async def seed_create_example(rec: Recorder, s: Settings) -> None:
    # The seed's example with the real field name; for the capture server.
    async with client(s) as autumn:
        answer = await expect_ok(
            rec,
            "balances.create seed example",
            lambda: autumn.balances.create_async(
                customer_id=CUSTOMER,
                feature_id=FEATURE,
                included_grant=1000,
                reset={"interval": "month"},
            ),
        )
        rec.equal("balances.create answer", field(answer.value, "success"), True)


FLOWS: dict[str, Callable[[Recorder, Settings], Awaitable[None]]] = {
    f.__name__: f
    for f in (
        create_included_grant,
        create_one_off,
        update_remaining,
        update_add_to_balance,
        update_usage,
        update_included_grant,
        error_unknown_customer,
        error_unknown_feature,
        error_bad_key,
        error_bad_body,
        customers_get,
        customers_get_or_create,
        entities_get,
        boolean_flag,
        default_api_version,
        check_allowed,
        check_send_event,
        track_value,
        track_event_credits,
        track_async_flag,
        batch_track,
        track_tokens,
        balances_delete,
        check_lock_finalize,
        usage_errors,
        customers_data,
        customers_expand,
        entities_by_entity_id,
        usage_fidelity,
        seed_create_example,
    )
}


async def run(runs: list[tuple[str, str]], secret_key: str) -> int:
    failed = 0
    for name, url in runs:
        rec = Recorder(name)
        try:
            await FLOWS[name](rec, Settings(url, secret_key))
        except Exception as exc:
            rec.check("flow ran to the end", False, f"{describe(exc)}\n{traceback.format_exc()}")
        failed += rec.failed
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "flows", nargs="*", metavar="FLOW[=URL]", help="FLOW=URL: run it against its own server"
    )
    parser.add_argument("--server-url", default=os.environ.get("AUTUMN_SERVER_URL"))
    parser.add_argument("--secret-key", default=os.environ.get("AUTUMN_SECRET_KEY"))
    parser.add_argument("--list", action="store_true", help="print the flow names as JSON")
    args = parser.parse_args(argv)
    if args.list:
        print(json.dumps(list(FLOWS)))
        return 0
    runs = []
    for arg in args.flows:
        name, sep, url = arg.partition("=")
        runs.append((name, url if sep else args.server_url))
    unknown = [name for name, _ in runs if name not in FLOWS]
    if not args.secret_key or not runs or unknown or not all(url for _, url in runs):
        if unknown:
            print(f"unknown flow(s): {', '.join(unknown)}", file=sys.stderr)
        print("need a secret key, a server URL and flows: " + ", ".join(FLOWS), file=sys.stderr)
        return 2
    return asyncio.run(run(runs, args.secret_key))


if __name__ == "__main__":
    sys.exit(main())
