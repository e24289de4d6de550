#!/usr/bin/env python3
"""Sends metrics to tracehouse with the official OpenTelemetry Python SDK's meter provider
and OTLP metric exporter, with exemplars recorded inside a traced span.

Used by crates/tracehouse/tests/interop_python.rs.

usage: send_metrics.py ENDPOINT PROTOCOL

  ENDPOINT  base URL of the receiver, e.g. http://127.0.0.1:4317 (grpc) or
            http://127.0.0.1:4318 (http/protobuf; "/v1/traces" and "/v1/metrics" are appended)
  PROTOCOL  grpc | http/protobuf

What is sent (service "py-metrics", cumulative temporality, one export at shutdown), all
inside the span "GET /cart" (server), so the exemplars carry its trace:

  interop.requests   counter          route=/a: 1 + 1 + 1, route=/b: 2
  interop.queue      up-down counter  +5, -2
  interop.temperature gauge           21.5
  interop.latency    histogram (ms)   bounds [1, 5, 10]: 0.5, 3, 4, 7, 12
  interop.payload    exponential histogram: 1, 2, 4, 8

Prints one JSON object on stdout: {"trace_id": hex, "span_id": hex, "protocol": "..."}.
Exits non-zero when an exporter reported a failure.
"""

import json
import sys

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import (
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
    View,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind


class CountingSpans:
    """Wraps the span exporter and counts failed exports."""

    def __init__(self, inner):
        self.inner = inner
        self.failures = 0

    def export(self, batch):
        result = self.inner.export(batch)
        if result != SpanExportResult.SUCCESS:
            self.failures += 1
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return self.inner.force_flush(timeout_millis)


class CountingMetrics(MetricExporter):
    """Wraps the metric exporter (keeping its temporality and aggregation preferences) and
    counts failed exports."""

    def __init__(self, inner):
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self.inner = inner
        self.failures = 0

    def export(self, metrics_data, timeout_millis=10_000, **kwargs):
        result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        if result != MetricExportResult.SUCCESS:
            self.failures += 1
        return result

    def force_flush(self, timeout_millis=10_000):
        return self.inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis=30_000, **kwargs):
        self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)


def make_exporters(endpoint, protocol):
    """The span and metric exporters of `protocol`, both sending to `endpoint`."""
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return (
            OTLPSpanExporter(endpoint=endpoint, insecure=True, timeout=10),
            OTLPMetricExporter(endpoint=endpoint, insecure=True, timeout=10),
        )
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        base = endpoint.rstrip("/")
        return (
            OTLPSpanExporter(endpoint=base + "/v1/traces", timeout=10),
            OTLPMetricExporter(endpoint=base + "/v1/metrics", timeout=10),
        )
    raise SystemExit(f"unknown protocol {protocol!r}: use grpc or http/protobuf")


def main(argv):
    if len(argv) != 3:
        raise SystemExit(__doc__)
    endpoint, protocol = argv[1], argv[2]
    resource = Resource.create({"service.name": "py-metrics"})
    span_exporter, metric_exporter = make_exporters(endpoint, protocol)
    spans_out = CountingSpans(span_exporter)
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans_out))
    tracer = tracer_provider.get_tracer("tracehouse.interop")

    metrics_out = CountingMetrics(metric_exporter)
    # One export, at shutdown.
    reader = PeriodicExportingMetricReader(metrics_out, export_interval_millis=3_600_000)
    views = [
        View(
            instrument_name="interop.latency",
            aggregation=ExplicitBucketHistogramAggregation(boundaries=[1.0, 5.0, 10.0]),
        ),
        View(
            instrument_name="interop.payload",
            aggregation=ExponentialBucketHistogramAggregation(),
        ),
    ]
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader], views=views)
    meter = meter_provider.get_meter("tracehouse.interop")
    requests = meter.create_counter("interop.requests", unit="{request}", description="requests")
    queue = meter.create_up_down_counter("interop.queue")
    temperature = meter.create_gauge("interop.temperature", unit="Cel")
    latency = meter.create_histogram("interop.latency", unit="ms")
    payload = meter.create_histogram("interop.payload", unit="By")

    with tracer.start_as_current_span("GET /cart", kind=SpanKind.SERVER) as span:
        ctx = span.get_span_context()
        for _ in range(3):
            requests.add(1, {"route": "/a"})
        requests.add(2, {"route": "/b"})
        queue.add(5)
        queue.add(-2)
        temperature.set(21.5)
        for v in [0.5, 3, 4, 7, 12]:
            latency.record(v)
        for v in [1, 2, 4, 8]:
            payload.record(v)

    meter_provider.shutdown()
    tracer_provider.shutdown()
    failures = spans_out.failures + metrics_out.failures
    if failures:
        print(f"{failures} exports failed", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "protocol": protocol,
                "trace_id": format(ctx.trace_id, "032x"),
                "span_id": format(ctx.span_id, "016x"),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
