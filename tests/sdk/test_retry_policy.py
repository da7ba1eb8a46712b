"""The retry policy on its own: an attempt's outcome in, a wait or a stop out.

No server and no clock: `next_wait` is a function of the outcome, the attempt
number, the time elapsed and the RetryConfig.
"""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import backoff
import pytest

from autumn_core import AutumnSDKError, BackoffStrategy, Err, Ok, RetryConfig, SDKValidationError
from autumn_core._outcome import Failure, Outcome
from autumn_core._retries import backoff_delay, next_wait, retry_after_seconds

HALF = 0.5  # a "random" draw that makes every computed wait half its ceiling


def answered(
    status: int, code: str | None = None, retry_after: float | None = None
) -> Outcome[Any]:
    result: Any = Ok(None) if 200 <= status < 300 else Err(AutumnSDKError(f"{status}"))
    return Outcome(result, status=status, code=code, retry_after=retry_after)


def unanswered(failure: Failure) -> Outcome[Any]:
    return Outcome(Err(AutumnSDKError(failure)), failure=failure)


def config(**fields: Any) -> RetryConfig:
    fields.setdefault("random", lambda: HALF)
    return RetryConfig(**fields)


def test_a_success_is_never_retried() -> None:
    assert next_wait(answered(200), 1, 0.0, config()) is None


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_default_statuses_are_retried(status: int) -> None:
    assert next_wait(answered(status), 1, 0.0, config()) == 0.25  # 500 ms * 1.5**0, halved


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501])
def test_other_statuses_are_final(status: int) -> None:
    assert next_wait(answered(status), 1, 0.0, config()) is None


@pytest.mark.parametrize("status", [500, 503])
def test_a_retried_status_whose_code_says_the_input_is_invalid_is_final(status: int) -> None:
    # The real server answers broken create rules with 500 invalid_inputs.
    assert next_wait(answered(status, "invalid_inputs"), 1, 0.0, config()) is None
    assert next_wait(answered(status, "internal_error"), 1, 0.0, config()) is not None


@pytest.mark.parametrize(
    ("codes", "status", "retried"),
    [
        (["5XX"], 599, True),
        (["5XX"], 429, False),
        (["409"], 409, True),
        ([], 503, False),  # an empty list is a choice: retry no status
    ],
)
def test_retry_codes_pick_the_statuses(codes: list[str], status: int, retried: bool) -> None:
    wait = next_wait(answered(status), 1, 0.0, config(retry_codes=codes))
    assert (wait is not None) is retried


@pytest.mark.parametrize("failure", ["connection", "timeout"])
def test_connection_failures_and_timeouts_are_retried_when_enabled(failure: Failure) -> None:
    assert next_wait(unanswered(failure), 1, 0.0, config()) == 0.25
    assert next_wait(unanswered(failure), 1, 0.0, config(retry_connection_errors=False)) is None


@pytest.mark.parametrize("failure", ["tls", "refused_by_hook", "not_sent", "unexpected"])
def test_failures_that_would_repeat_are_final(failure: Failure) -> None:
    assert next_wait(unanswered(failure), 1, 0.0, config()) is None


def test_strategy_none_never_retries() -> None:
    assert next_wait(answered(503), 1, 0.0, config(strategy="none")) is None


def test_max_retries_counts_attempts_after_the_first() -> None:
    policy = config(max_retries=2)
    assert next_wait(answered(503), 1, 0.0, policy) is not None
    assert next_wait(answered(503), 2, 0.0, policy) is not None
    assert next_wait(answered(503), 3, 0.0, policy) is None
    assert next_wait(answered(503), 1, 0.0, config(max_retries=0)) is None
    assert next_wait(answered(503), 1_000, 0.0, config(max_retries=None)) is not None


def test_retry_after_replaces_the_computed_wait_up_to_max_interval() -> None:
    policy = config(backoff=BackoffStrategy(max_interval=2_000))
    assert next_wait(answered(429, retry_after=1.5), 1, 0.0, policy) == 1.5
    assert next_wait(answered(503, retry_after=0.0), 1, 0.0, policy) == 0.0
    assert next_wait(answered(429, retry_after=120.0), 1, 0.0, policy) == 2.0


def test_no_wait_ends_past_max_elapsed_time() -> None:
    policy = config(backoff=BackoffStrategy(max_elapsed_time=1_000), max_retries=None)
    assert next_wait(answered(503, retry_after=0.6), 2, 0.4, policy) == 0.6  # ends at 1.0 s
    assert next_wait(answered(503, retry_after=0.6), 2, 0.41, policy) is None


def test_computed_waits_grow_by_the_exponent_and_stop_at_the_cap() -> None:
    backoff = BackoffStrategy(initial_interval=100, exponent=2, max_interval=300)
    policy = config(backoff=backoff, max_retries=None)
    waits = [next_wait(answered(503), n, 0.0, policy) for n in range(1, 6)]
    ceilings = [0.1, 0.2, 0.3, 0.3, 0.3]
    assert waits == pytest.approx([c * HALF for c in ceilings])


@pytest.mark.parametrize(
    ("initial", "maximum", "exponent"),
    [(500, 60_000, 1.5), (100, 300, 2), (1_000, 2_000, 10), (10, 5, 3), (0, 1_000, 2), (7, 9, 0)],
)
def test_the_schedule_is_backoffs_expo(initial: float, maximum: float, exponent: float) -> None:
    strategy = BackoffStrategy(initial_interval=initial, max_interval=maximum, exponent=exponent)
    expected = backoff.expo(base=exponent, factor=initial / 1000, max_value=maximum / 1000)
    next(expected)  # backoff's generators yield None first
    for retry, ceiling in zip(range(1, 40), expected, strict=False):
        assert backoff_delay(strategy, retry) == pytest.approx(ceiling)


def test_a_huge_attempt_number_waits_the_cap() -> None:
    strategy = BackoffStrategy(initial_interval=1_000, exponent=10, max_interval=2_000)
    assert backoff_delay(strategy, 100_000) == 2.0


def test_jitter_draws_from_the_configured_source() -> None:
    def waits(seed: int) -> list[float | None]:
        policy = RetryConfig(random=random.Random(seed).random, max_retries=None)
        return [next_wait(answered(503), n, 0.0, policy) for n in range(1, 20)]

    first, again, other = waits(7), waits(7), waits(8)
    assert first == again != other
    for retry, wait in zip(itertools.count(1), first):
        assert wait is not None
        assert 0 <= wait < backoff_delay(BackoffStrategy(), retry)


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    in_90_s = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds("-5") == 0.0
    assert retry_after_seconds(in_90_s, now=now.timestamp()) == 90.0
    assert retry_after_seconds(format_datetime(now, usegmt=True), now=now.timestamp() + 60) == 0.0
    for unreadable in (None, "", "soon", "Wed, 21 Oct 2015 07:28:00"):  # the last: no zone
        assert retry_after_seconds(unreadable) is None


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: BackoffStrategy(initial_interval=-1), "BackoffStrategy.initial_interval"),
        (lambda: BackoffStrategy(max_interval=float("nan")), "BackoffStrategy.max_interval"),
        (lambda: BackoffStrategy(exponent="2"), "BackoffStrategy.exponent"),
        (lambda: BackoffStrategy(max_elapsed_time=True), "BackoffStrategy.max_elapsed_time"),
        (lambda: RetryConfig(strategy="sometimes"), "RetryConfig.strategy"),
        (lambda: RetryConfig(backoff={"initial_interval": 1}), "RetryConfig.backoff"),
        (lambda: RetryConfig(retry_connection_errors="yes"), "RetryConfig.retry_connection_errors"),
        (lambda: RetryConfig(max_retries=-1), "RetryConfig.max_retries"),
        (lambda: RetryConfig(max_retries=True), "RetryConfig.max_retries"),
        (lambda: RetryConfig(retry_codes="503"), "RetryConfig.retry_codes"),
        (lambda: RetryConfig(retry_codes=["5xx5"]), "RetryConfig.retry_codes"),
        (lambda: RetryConfig(sleep=None), "RetryConfig.sleep"),
        (lambda: RetryConfig(clock=1.0), "RetryConfig.clock"),
        (lambda: RetryConfig(random=0.5), "RetryConfig.random"),
    ],
)
def test_bad_retry_settings_name_the_field(build: Any, field: str) -> None:
    with pytest.raises(SDKValidationError) as caught:
        build()
    assert caught.value.field == field
    assert field in str(caught.value)
    assert "Attribute(" not in str(caught.value)  # no attrs internals in the message


def test_no_wait_uses_up_what_is_left_of_the_total_timeout() -> None:
    # A wait that ends exactly when the call's total timeout does leaves no time for
    # the attempt after it: the call stops now, with the failure it has.
    policy = config()
    assert next_wait(answered(503, retry_after=0.5), 1, 0.0, policy, remaining=0.5) is None
    assert next_wait(answered(503, retry_after=0.5), 1, 0.0, policy, remaining=0.51) == 0.5
