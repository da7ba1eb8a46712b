"""OpenTelemetry, what dashboards and alerts are built on: the instruments' names,
units, descriptions and buckets, the instrumentation scope, the attributes of a
failed call, and the log records of telemetry that fails, read back from
opentelemetry-sdk's in-memory exporters against scripted servers on 127.0.0.1."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the otel tests need opentelemetry-sdk")

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

import autumn_core
from autumn_core import (
    AutumnCore,
    HookContext,
    Hooks,
    PreparedRequest,
    RetryConfig,
    SDKValidationError,
)
from autumn_core.otel import instrument, instrument_recorder
from autumn_funcs import AutumnSync, UsageRecorder, balances_create
from autumn_funcs._balances_create import CREATE_BALANCE
from tests.scripted_server import ScriptedServer, autumn_error, json_reply
from tests.sdk.conftest import CREATE_EXAMPLE, SECRET
from tests.sdk.otel_memory import Telemetry, attrs_of

SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"
# The HTTP semantic conventions' advice for http.client.request.duration.
SEMCONV_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    t = Telemetry()
    yield t
    t.shutdown()


def autumn_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "autumn"]


async def test_the_instruments_are_named_described_and_bucketed_as_documented(
    telemetry: Telemetry, scripted: ScriptedServer, retries: Callable[..., RetryConfig]
) -> None:
    scripted.then(autumn_error(503, "service_unavailable"), json_reply())
    async with AutumnCore(SECRET, server_url=scripted.url, retry_config=retries()) as core:
        telemetry.instrument(core)
        assert (await balances_create(core, CREATE_EXAMPLE)).ok
        async with UsageRecorder(core, flush_interval=60.0) as recorder:
            instrument_recorder(recorder, meter_provider=telemetry.meter_provider)
            shown = {
                name: (metric.unit, metric.description, scope.name, scope.version, scope.schema_url)
                for name, (scope, metric) in telemetry.metrics().items()
            }
    here = ("autumn_core.otel", autumn_core.__version__, SCHEMA_URL)
    assert shown == {
        "http.client.request.duration": ("s", "Duration of HTTP client requests.", *here),
        "autumn.client.call.duration": (
            "s",
            "Duration of Autumn SDK calls, every attempt and wait included.",
            *here,
        ),
        "autumn.client.calls": ("{call}", "Autumn SDK calls, by outcome.", *here),
        "autumn.client.retries": (
            "{retry}",
            "Attempts the Autumn SDK sent again, by what the failed one came to.",
            *here,
        ),
        "autumn.recorder.pending": (
            "{event}",
            "Usage events recorded and not yet settled (queued, in flight, spooled).",
            *here,
        ),
        "autumn.recorder.events": ("{event}", "Usage events by what became of them.", *here),
    }
    for name in ("http.client.request.duration", "autumn.client.call.duration"):
        bounds = {tuple(point.explicit_bounds) for point in telemetry.points(name)}
        assert bounds == {SEMCONV_BUCKETS}
    (retried,) = telemetry.points("autumn.client.retries")
    assert retried.attributes == {"autumn.operation": "balances.create", "error.type": "503"}
    scopes = {
        (s.instrumentation_scope.name, s.instrumentation_scope.version)
        for s in telemetry.finished()
    }
    assert scopes == {here[:2]}
    assert {s.instrumentation_scope.schema_url for s in telemetry.finished()} == {SCHEMA_URL}
    assert telemetry.call_span().kind is trace.SpanKind.INTERNAL


async def test_a_failed_call_has_these_attributes_and_durations_no_longer_than_it(
    telemetry: Telemetry, scripted: ScriptedServer
) -> None:
    scripted.then(autumn_error(400, "invalid_inputs", "customer_id is required"))
    async with AutumnCore(SECRET, server_url=scripted.url) as core:
        telemetry.instrument(core)
        started = time.perf_counter()
        res = await balances_create(core, CREATE_EXAMPLE)
        took = time.perf_counter() - started
    assert not res.ok
    call = telemetry.call_span()
    assert attrs_of(call) == {
        "autumn.operation": "balances.create",
        "autumn.applied": "no",
        "autumn.attempts": 1,
        "autumn.error.code": "invalid_inputs",
        "autumn.idempotency_key": res.error.idempotency_key,
        "error.type": type(res.error).__name__,
        "http.response.status_code": 400,
    }
    assert call.status.status_code is trace.StatusCode.ERROR
    assert call.status.description == "invalid_inputs"
    (attempt,) = telemetry.attempt_spans()
    assert attrs_of(attempt)["error.type"] == "400"  # a 400 is an error answer too
    (per_call,) = telemetry.points("autumn.client.call.duration")
    assert per_call.attributes == {
        "autumn.operation": "balances.create",
        "error.type": type(res.error).__name__,
    }
    (per_attempt,) = telemetry.points("http.client.request.duration")
    for point in (per_call, per_attempt):
        assert 0 <= point.sum <= took


async def test_an_ok_call_span_has_the_status_of_its_answer(
    telemetry: Telemetry, scripted: ScriptedServer
) -> None:
    async with AutumnCore(SECRET, server_url=scripted.url) as core:
        telemetry.instrument(core)
        # core.call, as an operation author calls it, is traced as the function is.
        res = await core.call(CREATE_BALANCE, CREATE_EXAMPLE)
    assert res.ok
    assert scripted.requests[0].json() == CREATE_EXAMPLE
    call = telemetry.call_span()
    assert call.name == "autumn balances.create"
    assert attrs_of(call)["http.response.status_code"] == 200
    assert len(telemetry.attempt_spans()) == 1


async def test_a_call_refused_by_a_hook_of_yours_is_traced_without_a_status(
    telemetry: Telemetry, scripted: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(_context: HookContext, _request: PreparedRequest) -> None:
        raise ValueError("over budget")

    async with AutumnCore(
        SECRET, server_url=scripted.url, hooks=Hooks(before_request=[refuse])
    ) as core:
        telemetry.instrument(core)
        with caplog.at_level(logging.DEBUG, logger="autumn"):
            res = await balances_create(core, CREATE_EXAMPLE)
    assert not res.ok and scripted.requests == []
    fields = attrs_of(telemetry.call_span())
    assert fields["error.type"] == "InvalidRequestError"
    assert "http.response.status_code" not in fields
    # No attempt span opened to carry it: the call's key is on the call's span.
    assert fields["autumn.idempotency_key"] == res.error.idempotency_key
    assert telemetry.attempt_spans() == []
    # The telemetry's own after-hook had no attempt to end, and says nothing of it.
    assert [r for r in autumn_records(caplog) if r.levelno >= logging.WARNING] == []


async def test_spans_of_yours_made_during_a_call_nest_under_it_and_not_after(
    telemetry: Telemetry, scripted: ScriptedServer
) -> None:
    inside: list[trace.Span] = []

    def look(_context: HookContext, _request: PreparedRequest) -> None:
        inside.append(trace.get_current_span())

    tracer = telemetry.tracer_provider.get_tracer("the caller's handler")
    async with AutumnCore(
        SECRET, server_url=scripted.url, hooks=Hooks(before_request=[look])
    ) as core:
        telemetry.instrument(core)
        with tracer.start_as_current_span("POST /checkout") as handler:
            assert (await balances_create(core, CREATE_EXAMPLE)).ok
            after = trace.get_current_span()
    (current,) = inside
    assert current.get_span_context().span_id == telemetry.call_span().context.span_id
    assert after is handler


async def test_telemetry_failures_are_logged_with_their_tracebacks(
    scripted: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(TracerProvider):
        def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
            tracer = super().get_tracer(*args, **kwargs)
            calls = 0

            def start_span(*args: Any, **kwargs: Any) -> trace.Span:
                nonlocal calls
                calls += 1
                if calls == 1:  # the call's span starts; its attempt's does not
                    return trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)
                raise RuntimeError("broken tracer")

            tracer.start_span = start_span  # type: ignore[method-assign]
            return tracer

    provider = Broken()
    async with AutumnCore(SECRET, server_url=scripted.url) as core:
        instrument(core, tracer_provider=provider)
        with caplog.at_level(logging.WARNING, logger="autumn"):
            assert (await balances_create(core, CREATE_EXAMPLE)).ok
    (record,) = autumn_records(caplog)
    assert record.getMessage() == "autumn_core.otel: telemetry failed; ignored"
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


async def test_a_call_that_cannot_be_traced_is_logged_with_its_traceback(
    scripted: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(TracerProvider):
        def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
            tracer = super().get_tracer(*args, **kwargs)

            def start_span(*_args: Any, **_kwargs: Any) -> trace.Span:
                raise RuntimeError("broken tracer")

            tracer.start_span = start_span  # type: ignore[method-assign]
            return tracer

    async with AutumnCore(SECRET, server_url=scripted.url) as core:
        instrument(core, tracer_provider=Broken())
        with caplog.at_level(logging.WARNING, logger="autumn"):
            assert (await balances_create(core, CREATE_EXAMPLE)).ok
    (record,) = autumn_records(caplog)
    assert record.getMessage() == "autumn_core.otel: could not trace a call; ignored"
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


async def test_instrumenting_something_else_or_twice_is_refused_by_name(
    telemetry: Telemetry, scripted: ScriptedServer
) -> None:
    with (
        AutumnSync(SECRET, server_url=scripted.url) as blocking,
        pytest.raises(SDKValidationError) as caught,
    ):
        instrument(blocking)  # type: ignore[arg-type]
    assert caught.value.field == "core"
    assert caught.value.message == (
        "invalid core: expected an AutumnCore (or Autumn), got AutumnSync"
    )
    async with AutumnCore(SECRET, server_url=scripted.url) as core:
        telemetry.instrument(core)
        with pytest.raises(SDKValidationError) as again:
            telemetry.instrument(core)
    assert again.value.field == "core"
    assert again.value.message == (
        "invalid core: this AutumnCore is already instrumented (instrument it once)"
    )


async def test_a_dropped_recorder_reports_nothing_and_breaks_no_collection(
    telemetry: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    async with AutumnCore(SECRET, server_url="http://127.0.0.1:9") as core:
        recorder = UsageRecorder(core)
        instrument_recorder(recorder, meter_provider=telemetry.meter_provider)
        await recorder.aclose()
        del recorder
        gc.collect()
        with caplog.at_level(logging.WARNING):
            assert telemetry.points("autumn.recorder.pending") == []
            assert telemetry.points("autumn.recorder.events") == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
