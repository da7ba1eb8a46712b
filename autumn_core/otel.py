"""OpenTelemetry for an `AutumnCore`: a span per call, a client span per HTTP attempt,
W3C trace context in the request headers, and metrics. Needs the `otel` extra
(`pip install 'autumn-balances[otel]'`, which is `opentelemetry-api` only); nothing
imports this module unless you do, so a core that is not instrumented pays nothing.

>>> from autumn_core import AutumnCore
>>> from autumn_core.otel import instrument
>>> core = AutumnCore(secret_key="am_sk_test_...")
>>> instrument(core)  # the global tracer and meter providers

What a call gives (names from OpenTelemetry's HTTP client semantic conventions
where they have one, `autumn.*` for the rest):

- a span `autumn {operation}` (kind INTERNAL) for the whole call, retries and waits
  included: `autumn.operation`, `autumn.idempotency_key` (writes), `autumn.attempts`,
  `autumn.deduplicated`; on an error `error.type`, `autumn.error.code` (Autumn's
  `code`) and `autumn.applied` (`no`, `unknown`, `already`), status ERROR;
- under it, one span `POST /v1/balances.track` (kind CLIENT) per HTTP attempt:
  `http.request.method`, `server.address`, `server.port`, `url.full` (never with
  credentials), `http.request.resend_count` on a retry, `http.response.status_code`,
  `error.type` (the status code, or the SDK's error class when no answer came),
  `autumn.error.code`. The attempt's `traceparent` is sent in its request headers;
- metrics: `http.client.request.duration` (seconds, per attempt, the semantic
  conventions' histogram), `autumn.client.call.duration` (seconds, per call),
  `autumn.client.calls` (per call, by `autumn.outcome`: `ok`, `deduplicated`, Autumn's
  error code, or the error class) and `autumn.client.retries` (per retry, by the
  `error.type` of the attempt retried).

One span per attempt rather than one per call with events: that is what the HTTP
conventions ask of a client that resends, it gives each attempt its own duration
and status in a trace view, and the server's span of a retry hangs under the
attempt that carried it. The call's span holds what only the call knows (attempts,
deduplicated, applied). No attribute, event or metric carries a header: the
secret key is never read.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Protocol, cast

try:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics, propagate, trace
except ImportError as _missing:  # pragma: no cover - depends on the environment
    raise ImportError(
        "autumn_core.otel needs OpenTelemetry's API: pip install 'autumn-balances[otel]'"
    ) from _missing

import aiohttp
import yarl

from autumn_core import (
    AutumnCore,
    AutumnError,
    AutumnSDKError,
    Err,
    HookContext,
    Hooks,
    PreparedRequest,
    Result,
    SDKValidationError,
    __version__,
)
from autumn_core._call_context import CallCoroutine
from autumn_core._core import observe_calls
from autumn_core.seam import Operation

__all__ = ["instrument", "instrument_recorder"]

logger: logging.Logger = logging.getLogger("autumn")

_SCOPE = "autumn_core.otel"
_SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"
# The HTTP semantic conventions' advice for http.client.request.duration.
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)


def instrument(
    core: AutumnCore,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
) -> None:
    """Trace and measure every call of `core` from now on. Call it once per core,
    before its first call; a second call raises `SDKValidationError`.

    >>> async with AutumnCore() as core:
    ...     instrument(core)
    ...     await balances_track(core, {...})  # a span, a client span, metrics

    `tracer_provider` and `meter_provider` default to the global ones (set by
    your OpenTelemetry SDK setup, or left as the API's no-op ones).
    """
    given = cast("object", core)  # checked at run time too: AutumnSync, say, keeps its core
    if not isinstance(given, AutumnCore):
        raise SDKValidationError(
            f"invalid core: expected an AutumnCore (or Autumn), got {type(given).__name__}",
            field="core",
        )
    tracer = trace.get_tracer(
        _SCOPE, __version__, tracer_provider=tracer_provider, schema_url=_SCHEMA_URL
    )
    meter = metrics.get_meter(
        _SCOPE, __version__, meter_provider=meter_provider, schema_url=_SCHEMA_URL
    )
    telemetry = _Telemetry(tracer, meter)
    hooks = Hooks(
        before_request=[telemetry.before_request],
        after_success=[telemetry.after_success],
        after_error=[telemetry.after_error],
    )
    observe_calls(core, hooks, telemetry.observe)


class RecorderStatsLike(Protocol):
    """What `instrument_recorder` reads of `recorder.stats()` (autumn_funcs' `RecorderStats`)."""

    @property
    def recorded(self) -> int: ...
    @property
    def recovered(self) -> int: ...
    @property
    def delivered(self) -> int: ...
    @property
    def pending(self) -> int: ...
    @property
    def retried(self) -> int: ...
    @property
    def refused(self) -> int: ...
    @property
    def dropped(self) -> int: ...


class RecorderLike(Protocol):
    """A `UsageRecorder` or `UsageRecorderSync`, as `instrument_recorder` sees it."""

    def stats(self) -> RecorderStatsLike: ...


# What became of a recorder's events, one `autumn.recorder.outcome` each.
_EVENT_OUTCOMES = ("recorded", "recovered", "delivered", "retried", "refused", "dropped")


def instrument_recorder(
    recorder: RecorderLike, meter_provider: metrics.MeterProvider | None = None
) -> None:
    """Metrics of a `UsageRecorder` (or `UsageRecorderSync`): its queue depth and what
    became of its events, read from `recorder.stats()` each time the meter provider
    collects, so `recorder.track()` pays nothing for them.

    >>> async with AutumnCore() as core, UsageRecorder(core) as recorder:
    ...     instrument(core)  # the recorder's batch requests: spans and call metrics
    ...     instrument_recorder(recorder)

    - `autumn.recorder.pending` (gauge): events recorded and not yet settled
      (queued, in flight, or in the spool);
    - `autumn.recorder.events` (counter, by `autumn.recorder.outcome`): `recorded`,
      `recovered` (from a spool at start), `delivered`, `retried` (sent again after
      a failed request), `refused` (by Autumn, one event at a time), `dropped`.

    The instruments hold the recorder weakly: a recorder nobody keeps is not kept
    alive by its metrics, and reports nothing more.
    """
    meter = metrics.get_meter(
        _SCOPE, __version__, meter_provider=meter_provider, schema_url=_SCHEMA_URL
    )
    alive = weakref.ref(recorder)

    def pending(_options: metrics.CallbackOptions) -> list[metrics.Observation]:
        held = alive()
        return [] if held is None else [metrics.Observation(held.stats().pending)]

    def events(_options: metrics.CallbackOptions) -> list[metrics.Observation]:
        held = alive()
        if held is None:
            return []
        stats = held.stats()
        return [
            metrics.Observation(getattr(stats, outcome), {"autumn.recorder.outcome": outcome})
            for outcome in _EVENT_OUTCOMES
        ]

    meter.create_observable_gauge(
        "autumn.recorder.pending",
        [pending],
        unit="{event}",
        description="Usage events recorded and not yet settled (queued, in flight, spooled).",
    )
    meter.create_observable_counter(
        "autumn.recorder.events",
        [events],
        unit="{event}",
        description="Usage events by what became of them.",
    )


class _Call:
    """What the telemetry knows of one call in flight (shared with its attempts
    through a context variable, since hooks see only their attempt)."""

    __slots__ = (
        "attempts",
        "context",
        "last_error_type",
        "last_status",
        "open",
        "operation",
        "span",
        "started",
    )

    def __init__(self, operation: str, span: trace.Span) -> None:
        self.operation = operation
        self.span = span
        self.started = time.perf_counter()
        self.context = trace.set_span_in_context(span)  # the parent of its attempts
        self.attempts = 0
        self.last_status: int | None = None
        self.last_error_type: str | None = None
        # attempt number -> (its span, perf_counter at start, its metric attributes)
        self.open: dict[int, tuple[trace.Span, float, dict[str, Any]]] = {}


# An attempt's span name, its span's first attributes, its metric's first attributes.
_Target = tuple[str, dict[str, Any], dict[str, Any]]


def _safely(work: Callable[..., None], *args: Any) -> None:
    try:
        work(*args)
    except Exception:
        logger.warning("autumn_core.otel: telemetry failed; ignored", exc_info=True)


_CURRENT: ContextVar[_Call | None] = ContextVar("autumn_core.otel.call", default=None)


def _operation_name(operation: Operation[Any, Any]) -> str:
    # "/v1/balances.track" -> "balances.track": the name users know the call by.
    return operation.path.rsplit("/", 1)[-1] or operation.operation_id


def _server_attributes(url: yarl.URL) -> dict[str, Any]:
    return {
        "server.address": url.host or "",
        "server.port": url.port or 0,
        "url.scheme": url.scheme,
    }


def _outcome(result: Result[Any, AutumnSDKError]) -> tuple[str, str | None]:
    """The call's outcome for the calls counter, and its error.type (None: no error)."""
    if isinstance(result, Err):
        error = result.error
        kind = type(error).__name__
        code = error.code if isinstance(error, AutumnError) else None
        return (code or kind), kind
    return ("deduplicated" if result.deduplicated else "ok"), None


class _Telemetry:
    """The hooks and the call observer that `instrument` installs on a core."""

    def __init__(self, tracer: trace.Tracer, meter: metrics.Meter) -> None:
        self._tracer = tracer
        self._targets: dict[tuple[str, str], _Target] = {}
        self._request_duration = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of HTTP client requests.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._call_duration = meter.create_histogram(
            "autumn.client.call.duration",
            unit="s",
            description="Duration of Autumn SDK calls, every attempt and wait included.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._calls = meter.create_counter(
            "autumn.client.calls", unit="{call}", description="Autumn SDK calls, by outcome."
        )
        self._retries = meter.create_counter(
            "autumn.client.retries",
            unit="{retry}",
            description="Attempts the Autumn SDK sent again, by what the failed one came to.",
        )

    def observe(self, operation: Operation[Any, Any], call: CallCoroutine) -> CallCoroutine:
        return self._observed(operation, call)

    async def _observed(
        self, operation: Operation[Any, Any], call: CallCoroutine
    ) -> Result[Any, AutumnSDKError]:
        # Telemetry never changes what a call returns: a failure of its own (a broken
        # exporter, a propagator that raises) is logged, and the call goes on untraced.
        try:
            state = self._begin(operation)
        except Exception:
            logger.warning("autumn_core.otel: could not trace a call; ignored", exc_info=True)
            return await call
        token = _CURRENT.set(state)
        # The call's span is the current one while it runs: attempts, and any span
        # the caller's own aiohttp instrumentation makes, nest under it.
        attached = otel_context.attach(state.context)
        try:
            result = await call
        except BaseException as exc:  # only cancellation leaves a call
            _safely(self._cut_off, state, type(exc).__name__)
            raise
        finally:
            otel_context.detach(attached)
            _CURRENT.reset(token)
        _safely(self._finish, state, result)
        return result

    def _begin(self, operation: Operation[Any, Any]) -> _Call:
        name = _operation_name(operation)
        span = self._tracer.start_span(
            f"autumn {name}", kind=trace.SpanKind.INTERNAL, attributes={"autumn.operation": name}
        )
        return _Call(name, span)

    def _cut_off(self, state: _Call, error_type: str) -> None:
        self._abandon(state, error_type)
        self._end_call(state, error_type, error_type)

    def _finish(self, state: _Call, result: Result[Any, AutumnSDKError]) -> None:
        outcome, error_type = _outcome(result)
        if state.open:  # an abort_signal stopped an attempt: no after-hook ran for it
            self._abandon(state, error_type or "_OTHER")
        self._describe(state, result)
        self._end_call(state, outcome, error_type)

    def _describe(self, state: _Call, result: Result[Any, AutumnSDKError]) -> None:
        span = state.span
        if isinstance(result, Err):
            error = result.error
            span.set_attribute("autumn.applied", str(error.applied))
            span.set_attribute("autumn.attempts", error.attempts)
            if isinstance(error, AutumnError) and error.code:
                span.set_attribute("autumn.error.code", error.code)
            if error.idempotency_key is not None:
                span.set_attribute("autumn.idempotency_key", error.idempotency_key)
        else:
            span.set_attribute("autumn.attempts", state.attempts)
            span.set_attribute("autumn.deduplicated", result.deduplicated)
        if state.last_status is not None:
            span.set_attribute("http.response.status_code", state.last_status)

    def _end_call(self, state: _Call, outcome: str, error_type: str | None) -> None:
        span = state.span
        attributes: dict[str, Any] = {"autumn.operation": state.operation}
        if error_type is not None:
            span.set_attribute("error.type", error_type)
            # The error's class and Autumn's code only: messages stay in the error object.
            span.set_status(trace.StatusCode.ERROR, outcome)
            attributes["error.type"] = error_type
        span.end()
        self._call_duration.record(time.perf_counter() - state.started, attributes)
        self._calls.add(1, {**attributes, "autumn.outcome": outcome})

    def _abandon(self, state: _Call, error_type: str) -> None:
        """End the spans of attempts cut off by a cancellation or an abort_signal."""
        for attempt in list(state.open):
            self._end_attempt(state, attempt, None, error_type, None)

    # Hooks: around each attempt.

    def before_request(self, context: HookContext, request: PreparedRequest) -> None:
        # A before_request hook that raises refuses the attempt: this one never does.
        _safely(self._open_attempt, context, request)

    def _open_attempt(self, context: HookContext, request: PreparedRequest) -> None:
        state = _CURRENT.get()
        if state is None:  # a call the observer did not see: nothing to hang it on
            return
        attempt = context.attempt
        state.attempts = attempt
        if attempt > 1:
            self._retries.add(
                1,
                {
                    "autumn.operation": state.operation,
                    "error.type": state.last_error_type or "_OTHER",
                },
            )
        elif context.idempotency_key is not None:
            state.span.set_attribute("autumn.idempotency_key", context.idempotency_key)
        name, span_attributes, metric_attributes = self._target(
            request.method, request.url, state.operation
        )
        if attempt > 1:
            span_attributes = {**span_attributes, "http.request.resend_count": attempt - 1}
        span = self._tracer.start_span(
            name, context=state.context, kind=trace.SpanKind.CLIENT, attributes=span_attributes
        )
        propagate.inject(request.headers, context=trace.set_span_in_context(span))
        state.open[attempt] = (span, time.perf_counter(), dict(metric_attributes))

    def _target(self, method: str, url: str, operation: str) -> _Target:
        """The span name and the attributes an attempt to `url` starts with, built once
        per URL (a core has a handful)."""
        found = self._targets.get((method, url))
        if found is None:
            if len(self._targets) >= 256:  # per-call server_url options: stay bounded
                self._targets.clear()
            parsed = yarl.URL(url)
            server = _server_attributes(parsed)
            metric = {"http.request.method": method, "autumn.operation": operation, **server}
            # Never the user or password a server_url may carry (the SDK adds no query).
            full = str(parsed.with_user(None).with_query(None).with_fragment(None))
            found = (f"{method} {parsed.path}", {**metric, "url.full": full}, metric)
            self._targets[(method, url)] = found
        return found

    def after_success(self, context: HookContext, response: aiohttp.ClientResponse) -> None:
        state = _CURRENT.get()
        if state is not None:
            self._end_attempt(state, context.attempt, response.status, None, None)

    def after_error(
        self,
        context: HookContext,
        response: aiohttp.ClientResponse | None,
        error: AutumnSDKError,
    ) -> None:
        state = _CURRENT.get()
        if state is None:
            return
        status = None if response is None else response.status
        # The conventions' error.type: the status code of an error answer, else the
        # class of what went wrong (a timeout, a refused connection, a bad body).
        error_type = str(status) if status is not None and status >= 400 else type(error).__name__
        code = error.code if isinstance(error, AutumnError) else None
        self._end_attempt(state, context.attempt, status, error_type, code)

    def _end_attempt(
        self,
        state: _Call,
        attempt: int,
        status: int | None,
        error_type: str | None,
        code: str | None,
    ) -> None:
        opened = state.open.pop(attempt, None)
        if opened is None:  # refused by a hook of the caller's before it was opened
            state.last_error_type = error_type
            return
        span, started, attributes = opened
        state.last_status = status
        state.last_error_type = error_type
        if status is not None:
            attributes["http.response.status_code"] = status
        if error_type is not None:
            span.set_status(trace.StatusCode.ERROR)
            attributes["error.type"] = error_type
        span.set_attributes({**attributes, "autumn.error.code": code} if code else attributes)
        span.end()
        self._request_duration.record(time.perf_counter() - started, attributes)
