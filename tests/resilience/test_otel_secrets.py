"""The secret key shows in no span, event, metric or log record of an instrumented core,
even when a server echoes it back in every place an answer has (as test_secrets.py
checks the error objects). Log records are checked by the suite's autouse fixture."""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the otel tests need opentelemetry-sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from autumn_core import AutumnCore
from autumn_core.otel import instrument
from autumn_funcs import balances_create
from tests.resilience.conftest import SECRET, assert_no_secret, assert_secret_nowhere, fast_retries
from tests.resilience.hostile import ECHO_PLACES, HostileServer, echo_secret

pytestmark = pytest.mark.resilience

GRANT = {"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 100}


@pytest.mark.parametrize("where", ECHO_PLACES)
async def test_echoed_key_is_in_no_span_or_metric(hostile: HostileServer, where: str) -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    hostile.default = echo_secret(where)
    # Retried on every status: each echo reaches an attempt span, the retry counter
    # and the call's span.
    policy = fast_retries(max_retries=1, retry_codes={401, 403, 500, 502, 503, 200, 302})
    async with AutumnCore(SECRET, server_url=hostile.url, retry_config=policy) as core:
        instrument(core, tracer_provider=tracer_provider, meter_provider=meter_provider)
        res = await balances_create(core, GRANT)
    finished = spans.get_finished_spans()
    assert len(finished) >= 2, "no span recorded: this test would prove nothing"
    assert SECRET in hostile.requests[0].headers["Authorization"]
    metrics = reader.get_metrics_data()
    assert metrics is not None
    assert_no_secret(*(span.to_json() for span in finished), metrics.to_json(), repr(res))
    assert_secret_nowhere(
        [dict(span.attributes or {}) for span in finished],
        [[(e.name, dict(e.attributes or {})) for e in span.events] for span in finished],
        [span.status.description for span in finished],
    )
    tracer_provider.shutdown()
    meter_provider.shutdown()
