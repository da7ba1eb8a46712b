"""Telemetry read back from memory: opentelemetry-sdk's in-memory span exporter and
metric reader, for the tests of `autumn_core.otel`. Import it after
`pytest.importorskip("opentelemetry.sdk")`."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Metric
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from autumn_core import AutumnCore
from autumn_core.otel import instrument


class Telemetry:
    """A tracer and a meter provider exporting to memory."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def instrument(self, core: AutumnCore) -> AutumnCore:
        instrument(core, tracer_provider=self.tracer_provider, meter_provider=self.meter_provider)
        return core

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def call_span(self) -> ReadableSpan:
        (span,) = [s for s in self.finished() if s.name.startswith("autumn ")]
        return span

    def attempt_spans(self) -> list[ReadableSpan]:
        spans = [s for s in self.finished() if s.kind is trace.SpanKind.CLIENT]
        return sorted(spans, key=lambda s: s.start_time or 0)

    def metrics(self) -> dict[str, tuple[Any, Metric]]:
        """Each metric by name, with the instrumentation scope that made it."""
        data = self.reader.get_metrics_data()
        found: dict[str, tuple[Any, Metric]] = {}
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found[metric.name] = (scope.scope, metric)
        return found

    def points(self, name: str) -> list[Any]:
        found = self.metrics().get(name)
        return [] if found is None else list(found[1].data.data_points)


def attrs_of(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})
