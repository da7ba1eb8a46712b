"""OpenTelemetry: spans, trace context and metrics of instrumented calls, read back from
opentelemetry-sdk's in-memory exporters, against the local server and scripted faults."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

pytest.importorskip("opentelemetry.sdk", reason="the otel tests need opentelemetry-sdk")

from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider

from autumn_core import AutumnCore, RetryConfig, SDKValidationError
from autumn_core.otel import instrument, instrument_recorder
from autumn_funcs import Autumn, UsageRecorder, balances_create, balances_track
from autumn_funcs._balances_create import CREATE_BALANCE
from autumn_local import LocalAutumn
from tests.scripted_server import (
    ScriptedServer,
    autumn_error,
    drop_connection,
    hold,
    json_reply,
)
from tests.sdk.conftest import CREATE_EXAMPLE, header
from tests.sdk.otel_memory import Telemetry, attrs_of


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    t = Telemetry()
    yield t
    t.shutdown()


async def test_a_call_is_a_span_with_a_client_span_per_attempt(telemetry: Telemetry) -> None:
    async with LocalAutumn(rate_limits=False) as server:
        url = server.url
        async with AutumnCore(server.secret_key, server_url=url) as core:
            telemetry.instrument(core)
            res = await balances_create(core, CREATE_EXAMPLE)
    assert res.ok
    call, (attempt,) = telemetry.call_span(), telemetry.attempt_spans()
    assert call.name == "autumn balances.create"
    assert attempt.name == "POST /v1/balances.create"
    assert attempt.parent is not None and attempt.parent.span_id == call.context.span_id
    assert attempt.context.trace_id == call.context.trace_id
    port = int(url.rsplit(":", 1)[1])
    assert attrs_of(attempt) == {
        "http.request.method": "POST",
        "url.full": f"{url}/v1/balances.create",
        "server.address": "127.0.0.1",
        "server.port": port,
        "url.scheme": "http",
        "autumn.operation": "balances.create",
        "http.response.status_code": 200,
    }
    fields = attrs_of(call)
    assert fields["autumn.operation"] == "balances.create"
    assert fields["autumn.attempts"] == 1
    assert fields["autumn.deduplicated"] is False
    assert len(str(fields["autumn.idempotency_key"])) == 32
    assert "error.type" not in fields
    assert call.status.status_code is trace.StatusCode.UNSET


async def test_traceparent_of_each_attempt_is_sent(
    telemetry: Telemetry, scripted: ScriptedServer, retries: Callable[..., RetryConfig]
) -> None:
    scripted.then(autumn_error(503, "service_unavailable"), json_reply())
    tracer = telemetry.tracer_provider.get_tracer("the caller's handler")
    async with AutumnCore("am_sk_test_x", server_url=scripted.url, retry_config=retries()) as core:
        telemetry.instrument(core)
        with tracer.start_as_current_span("POST /checkout") as handler:
            res = await balances_create(core, CREATE_EXAMPLE)
    assert res.ok
    call = telemetry.call_span()
    # The call continues the caller's trace, under the span current when it was made.
    assert call.parent is not None and call.parent.span_id == handler.get_span_context().span_id
    sent = [header(r, "traceparent") for r in scripted.requests]
    expected = [
        f"00-{s.context.trace_id:032x}-{s.context.span_id:016x}-{s.context.trace_flags:02x}"
        for s in telemetry.attempt_spans()
    ]
    assert sent == expected and len(set(sent)) == 2


async def test_a_retried_call_shows_each_attempt(
    telemetry: Telemetry, scripted: ScriptedServer, retries: Callable[..., RetryConfig]
) -> None:
    scripted.then(autumn_error(503, "service_unavailable"), drop_connection(), json_reply())
    async with AutumnCore("am_sk_test_x", server_url=scripted.url, retry_config=retries()) as core:
        telemetry.instrument(core)
        res = await balances_create(core, CREATE_EXAMPLE)
    assert res.ok
    first, second, third = telemetry.attempt_spans()
    assert attrs_of(first)["http.response.status_code"] == 503
    assert attrs_of(first)["error.type"] == "503"
    assert attrs_of(first)["autumn.error.code"] == "service_unavailable"
    assert first.status.status_code is trace.StatusCode.ERROR
    assert attrs_of(second)["http.request.resend_count"] == 1
    assert attrs_of(second)["error.type"] == "APIConnectionError"
    assert "http.response.status_code" not in attrs_of(second)
    assert attrs_of(third)["http.request.resend_count"] == 2
    assert attrs_of(third)["http.response.status_code"] == 200
    assert "error.type" not in attrs_of(third)
    call = telemetry.call_span()
    assert attrs_of(call)["autumn.attempts"] == 3
    assert call.status.status_code is trace.StatusCode.UNSET
    # The key is the one every attempt sent.
    keys = {header(r, "Idempotency-Key") for r in scripted.requests}
    assert keys == {attrs_of(call)["autumn.idempotency_key"]}
    retried = {
        p.attributes["error.type"]: p.value for p in telemetry.points("autumn.client.retries")
    }
    assert retried == {"503": 1, "APIConnectionError": 1}
    durations = telemetry.points("http.client.request.duration")
    assert sum(p.count for p in durations) == 3
    (ok,) = telemetry.points("autumn.client.calls")
    assert ok.attributes["autumn.outcome"] == "ok" and ok.value == 1


async def test_a_failed_call_says_code_and_applied(telemetry: Telemetry) -> None:
    unknown = {"customer_id": "cus_nobody", "feature_id": "api_calls", "value": 1}
    async with (
        LocalAutumn(rate_limits=False) as server,
        AutumnCore(server.secret_key, server_url=server.url) as core,
    ):
        telemetry.instrument(core)
        res = await balances_track(core, unknown)
    assert not res.ok
    code = res.error.code  # type: ignore[attr-defined]
    assert code and res.error.status_code == 404  # type: ignore[attr-defined]
    (attempt,) = telemetry.attempt_spans()
    assert attrs_of(attempt)["http.response.status_code"] == 404
    assert attrs_of(attempt)["error.type"] == "404"
    assert attrs_of(attempt)["autumn.error.code"] == code
    call = telemetry.call_span()
    assert call.status.status_code is trace.StatusCode.ERROR
    fields = attrs_of(call)
    assert fields["error.type"] == type(res.error).__name__
    assert fields["autumn.error.code"] == code
    assert fields["autumn.applied"] == "no"
    assert fields["autumn.attempts"] == 1
    assert fields["autumn.idempotency_key"] == res.error.idempotency_key
    (failed,) = telemetry.points("autumn.client.calls")
    assert failed.attributes == {
        "autumn.operation": "balances.track",
        "error.type": type(res.error).__name__,
        "autumn.outcome": code,
    }
    (duration,) = telemetry.points("http.client.request.duration")
    assert duration.attributes["http.response.status_code"] == 404
    assert duration.attributes["error.type"] == "404"
    assert "url.full" not in duration.attributes  # metrics stay low-cardinality


async def test_an_unknown_outcome_is_on_the_span(
    telemetry: Telemetry, scripted: ScriptedServer, retries: Callable[..., RetryConfig]
) -> None:
    scripted.then(drop_connection())
    policy = retries(max_retries=0)
    async with AutumnCore("am_sk_test_x", server_url=scripted.url, retry_config=policy) as core:
        telemetry.instrument(core)
        res = await balances_create(core, CREATE_EXAMPLE)
    assert not res.ok
    fields = attrs_of(telemetry.call_span())
    assert fields["autumn.applied"] == "unknown"
    assert fields["error.type"] == "APIConnectionError"
    assert "autumn.error.code" not in fields


async def test_a_deduplicated_retry_is_on_the_span(
    telemetry: Telemetry, scripted: ScriptedServer, retries: Callable[..., RetryConfig]
) -> None:
    duplicate = autumn_error(409, "duplicate_idempotency_key")
    scripted.then(drop_connection(), duplicate, duplicate)
    async with AutumnCore("am_sk_test_x", server_url=scripted.url, retry_config=retries()) as core:
        telemetry.instrument(core)
        res = await balances_create(core, CREATE_EXAMPLE)
    assert res.ok and res.deduplicated
    fields = attrs_of(telemetry.call_span())
    assert fields["autumn.deduplicated"] is True
    assert fields["autumn.attempts"] == 3
    (outcome,) = telemetry.points("autumn.client.calls")
    assert outcome.attributes["autumn.outcome"] == "deduplicated"


async def test_a_core_is_instrumented_once(telemetry: Telemetry, refused_url: str) -> None:
    async with AutumnCore("am_sk_test_x", server_url=refused_url) as core:
        telemetry.instrument(core)
        with pytest.raises(SDKValidationError, match="already instrumented"):
            telemetry.instrument(core)
    with pytest.raises(SDKValidationError, match="expected an AutumnCore") as caught:
        instrument(None)  # type: ignore[arg-type]
    assert caught.value.field == "core"


async def test_the_facade_is_instrumented_as_a_core(
    telemetry: Telemetry, scripted: ScriptedServer
) -> None:
    async with Autumn("am_sk_test_x", server_url=scripted.url) as autumn:
        telemetry.instrument(autumn)
        await autumn.balances.create(CREATE_EXAMPLE)
    assert telemetry.call_span().name == "autumn balances.create"
    assert len(telemetry.attempt_spans()) == 1


def test_nothing_of_opentelemetry_is_imported_unless_enabled() -> None:
    code = (
        "import sys, autumn_core, autumn_funcs, autumn_local\n"
        "from autumn_funcs import Autumn, balances_track\n"
        "print(sorted(m for m in sys.modules if 'opentelemetry' in m or m.endswith('.otel')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


async def test_an_aborted_call_ends_its_attempt_span(
    telemetry: Telemetry, scripted: ScriptedServer, release: asyncio.Event
) -> None:
    arrived, abort = asyncio.Event(), asyncio.Event()
    scripted.then(hold(release, arrived))
    async with AutumnCore("am_sk_test_x", server_url=scripted.url) as core:
        telemetry.instrument(core)
        call = asyncio.ensure_future(balances_create(core, CREATE_EXAMPLE, {"abort_signal": abort}))
        await arrived.wait()
        abort.set()
        res = await call
    assert not res.ok and type(res.error).__name__ == "RequestAbortedError"
    (attempt,) = telemetry.attempt_spans()  # ended, though no after-hook ran for it
    assert attrs_of(attempt)["error.type"] == "RequestAbortedError"
    fields = attrs_of(telemetry.call_span())
    assert fields["autumn.applied"] == "unknown"
    assert fields["error.type"] == "RequestAbortedError"


async def test_a_cancelled_call_ends_its_spans(
    telemetry: Telemetry, scripted: ScriptedServer, release: asyncio.Event
) -> None:
    arrived = asyncio.Event()
    scripted.then(hold(release, arrived))
    async with AutumnCore("am_sk_test_x", server_url=scripted.url) as core:
        telemetry.instrument(core)
        call = asyncio.ensure_future(balances_create(core, CREATE_EXAMPLE))
        await arrived.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
    (attempt,) = telemetry.attempt_spans()
    assert attrs_of(attempt)["error.type"] == "CancelledError"
    assert attrs_of(telemetry.call_span())["error.type"] == "CancelledError"
    (cancelled,) = telemetry.points("autumn.client.calls")
    assert cancelled.attributes["autumn.outcome"] == "CancelledError"


class BrokenTracerProvider(TracerProvider):
    """An OpenTelemetry SDK whose every span fails to start (a bug, a broken plugin)."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        tracer = super().get_tracer(*args, **kwargs)

        def start_span(*_args: Any, **_kwargs: Any) -> trace.Span:
            raise RuntimeError("broken tracer")

        tracer.start_span = start_span  # type: ignore[method-assign]
        return tracer


async def test_broken_telemetry_never_fails_a_call(
    scripted: ScriptedServer, retries: Callable[..., RetryConfig], caplog: pytest.LogCaptureFixture
) -> None:
    scripted.then(autumn_error(503, "service_unavailable"), json_reply())
    provider = BrokenTracerProvider()
    async with AutumnCore("am_sk_test_x", server_url=scripted.url, retry_config=retries()) as core:
        instrument(core, tracer_provider=provider)
        res = await balances_create(core, CREATE_EXAMPLE)
    assert res.ok and len(scripted.requests) == 2
    assert "could not trace a call" in caplog.text
    provider.shutdown()


async def test_a_failing_attempt_hook_of_telemetry_refuses_no_attempt(
    telemetry: Telemetry, scripted: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    class Refusing:
        """A propagator that fails to inject (one of the caller's, misconfigured)."""

        fields: set[str] = set()

        def inject(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("broken propagator")

        def extract(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("broken propagator")

    before = propagate.get_global_textmap()
    propagate.set_global_textmap(Refusing())  # type: ignore[arg-type]
    try:
        async with AutumnCore("am_sk_test_x", server_url=scripted.url) as core:
            telemetry.instrument(core)
            res = await balances_create(core, CREATE_EXAMPLE)
    finally:
        propagate.set_global_textmap(before)
    assert res.ok
    assert "telemetry failed; ignored" in caplog.text
    assert telemetry.call_span().name == "autumn balances.create"


async def test_the_trace_continues_into_a_server_that_reads_it(
    telemetry: Telemetry, scripted: ScriptedServer
) -> None:
    tracer = telemetry.tracer_provider.get_tracer("a server")

    async def traced(request: web.Request) -> web.StreamResponse:
        # What an instrumented server does: continue the trace its request carries.
        parent = propagate.extract(request.headers)
        with tracer.start_as_current_span("server", context=parent, kind=trace.SpanKind.SERVER):
            return web.json_response({"success": True})

    scripted.then(traced)
    async with AutumnCore("am_sk_test_x", server_url=scripted.url) as core:
        telemetry.instrument(core)
        assert (await balances_create(core, CREATE_EXAMPLE)).ok
    (server,) = [s for s in telemetry.finished() if s.kind is trace.SpanKind.SERVER]
    (attempt,) = telemetry.attempt_spans()
    assert server.parent is not None and server.parent.span_id == attempt.context.span_id
    assert server.context.trace_id == telemetry.call_span().context.trace_id


async def test_a_recorder_reports_its_queue_and_what_became_of_its_events(
    telemetry: Telemetry,
) -> None:
    event = {"customer_id": "cus_123", "feature_id": "api_calls", "value": 1}
    grant = {"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 100}
    async with (
        LocalAutumn(rate_limits=False) as server,
        AutumnCore(server.secret_key, server_url=server.url) as core,
    ):
        telemetry.instrument(core)
        assert (await balances_create(core, grant)).ok
        slow = {"flush_interval": 60.0, "requests_per_second": None}
        async with UsageRecorder(core, **slow) as recorder:
            instrument_recorder(recorder, meter_provider=telemetry.meter_provider)
            for _ in range(5):
                recorder.track(event)
            (queued,) = telemetry.points("autumn.recorder.pending")
            assert queued.value == 5
            assert await recorder.flush(timeout=10)
            (settled,) = telemetry.points("autumn.recorder.pending")
            events = {
                p.attributes["autumn.recorder.outcome"]: p.value
                for p in telemetry.points("autumn.recorder.events")
            }
    assert settled.value == 0
    assert events == {
        "recorded": 5,
        "recovered": 0,
        "delivered": 5,
        "retried": 0,
        "refused": 0,
        "dropped": 0,
    }
    # Its batch requests are calls of the instrumented core: traced and measured.
    assert "autumn balances.batch_track" in {s.name for s in telemetry.finished()}


async def test_a_recorder_is_not_kept_alive_by_its_metrics(telemetry: Telemetry) -> None:
    async with AutumnCore("am_sk_test_x", server_url="http://127.0.0.1:9") as core:
        recorder = UsageRecorder(core)
        instrument_recorder(recorder, meter_provider=telemetry.meter_provider)
        alive = weakref.ref(recorder)
        await recorder.aclose()
        del recorder
        gc.collect()
        assert alive() is None
        assert telemetry.points("autumn.recorder.pending") == []


async def test_an_instrumented_core_sends_the_options_it_is_given(
    telemetry: Telemetry, scripted: ScriptedServer
) -> None:
    async with AutumnCore("am_sk_test_x", server_url=scripted.url) as core:
        telemetry.instrument(core)
        res = await core.call(CREATE_BALANCE, CREATE_EXAMPLE, {"idempotency_key": "grant-42"})
    assert res.ok, res
    assert header(scripted.requests[0], "Idempotency-Key") == "grant-42"
