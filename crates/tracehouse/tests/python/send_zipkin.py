#!/usr/bin/env python3
"""Sends a small trace to tracehouse's Zipkin receiver with the OpenTelemetry Python SDK's
Zipkin exporters (opentelemetry-exporter-zipkin-json / -proto-http).

Used by crates/tracehouse/tests/zipkin.rs.

usage: send_zipkin.py ENDPOINT ENCODING RUN_ID

  ENDPOINT  the receiver's URL, e.g. http://127.0.0.1:4318/api/v2/spans
  ENCODING  json | protobuf
  RUN_ID    a unique text put into the attribute test.run_id

What is sent (service "zipkin-py", local endpoint 10.1.2.3:8080):

  "get /cart" (server, root; attributes; event "cart.loaded" with an attribute)
    └ "select cart" (client, remote service "postgres"; status ERROR "deadlock")

Prints one JSON object on stdout: {"trace_id": hex, "spans": {name: span_id hex}}.
Exits non-zero when the exporter reported a failure.
"""

import json
import sys

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context


class RecordingExporter(SpanExporter):
    """Delegates to the real exporter and remembers whether any export failed."""

    def __init__(self, inner):
        self.inner = inner
        self.failed = False

    def export(self, spans):
        result = self.inner.export(spans)
        if result is not SpanExportResult.SUCCESS:
            self.failed = True
        return result

    def shutdown(self):
        self.inner.shutdown()


def exporter(endpoint, encoding):
    if encoding == "json":
        from opentelemetry.exporter.zipkin.json import ZipkinExporter
    elif encoding == "protobuf":
        from opentelemetry.exporter.zipkin.proto.http import ZipkinExporter
    else:
        sys.exit(f"unknown encoding {encoding!r}: use json or protobuf")
    return ZipkinExporter(endpoint=endpoint, local_node_ipv4="10.1.2.3", local_node_port=8080)


def main():
    endpoint, encoding, run_id = sys.argv[1:4]
    recording = RecordingExporter(exporter(endpoint, encoding))
    provider = TracerProvider(resource=Resource.create({"service.name": "zipkin-py"}))
    provider.add_span_processor(SimpleSpanProcessor(recording))
    tracer = provider.get_tracer("tracehouse.zipkin-interop", "0.3.0")
    with tracer.start_as_current_span("get /cart", kind=SpanKind.SERVER) as root:
        root.set_attribute("test.run_id", run_id)
        root.set_attribute("http.status_code", 500)
        root.add_event("cart.loaded", {"items": 3})
        with tracer.start_as_current_span(
            "select cart", kind=SpanKind.CLIENT, context=set_span_in_context(root)
        ) as child:
            child.set_attribute("peer.service", "postgres")
            child.set_status(Status(StatusCode.ERROR, "deadlock"))
    provider.shutdown()
    if recording.failed:
        sys.exit("the Zipkin exporter reported a failed export")
    print(json.dumps({
        "trace_id": format(root.get_span_context().trace_id, "032x"),
        "spans": {
            "get /cart": format(root.get_span_context().span_id, "016x"),
            "select cart": format(child.get_span_context().span_id, "016x"),
        },
    }))


if __name__ == "__main__":
    main()
