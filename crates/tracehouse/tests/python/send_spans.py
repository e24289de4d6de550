#!/usr/bin/env python3
"""Sends a small trace of known shape to tracehouse with the official OpenTelemetry Python SDK.

Used by crates/tracehouse/tests/interop_python.rs.

usage: send_spans.py ENDPOINT PROTOCOL RUN_ID

  ENDPOINT  base URL of the receiver, e.g. http://127.0.0.1:4317 (grpc) or
            http://127.0.0.1:4318 (http/protobuf; "/v1/traces" is appended)
  PROTOCOL  grpc | http/protobuf
  RUN_ID    a unique text put into the session id and the attribute test.run_id

What is sent (service "py-interop" 1.4.2, environment "interop-test",
scope "tracehouse.interop" 0.9.0):

  trace A:  "enqueue cart"  (producer, its own trace; the target of a link)
  trace B:  "GET /checkout" (server, root; attributes of every type; event "cart.loaded";
                             link to "enqueue cart")
              └ "POST /payments" (client, status OK)
                  └ "charge card" (internal; record_exception(ValueError) + status ERROR)

Every span of trace B carries highlight.session_id = "session-<RUN_ID>".

Prints one JSON object on stdout:
  {"trace_id": hex, "linked_trace_id": hex,
   "spans": {name: span_id hex, ...}, "session_id": "...", "protocol": "..."}
Exits non-zero when the exporter reported a failure or the flush timed out.
"""

import json
import sys

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, set_span_in_context

SERVICE_NAME = "py-interop"
SERVICE_VERSION = "1.4.2"
ENVIRONMENT = "interop-test"
SCOPE_NAME = "tracehouse.interop"
SCOPE_VERSION = "0.9.0"


class RecordingExporter(SpanExporter):
    """Delegates to the real exporter and remembers whether any export failed."""

    def __init__(self, inner):
        self.inner = inner
        self.failures = 0
        self.exported = 0

    def export(self, spans):
        result = self.inner.export(spans)
        if result == SpanExportResult.SUCCESS:
            self.exported += len(spans)
        else:
            self.failures += 1
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return self.inner.force_flush(timeout_millis)


def make_exporter(endpoint, protocol):
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=endpoint, insecure=True, timeout=10)
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces", timeout=10)
    raise SystemExit(f"unknown protocol {protocol!r}: use grpc or http/protobuf")


def main(argv):
    if len(argv) != 4:
        raise SystemExit(__doc__)
    endpoint, protocol, run_id = argv[1], argv[2], argv[3]
    session_id = f"session-{run_id}"

    resource = Resource.create(
        {
            "service.name": SERVICE_NAME,
            "service.version": SERVICE_VERSION,
            "deployment.environment": ENVIRONMENT,
        }
    )
    provider = TracerProvider(resource=resource)
    exporter = RecordingExporter(make_exporter(endpoint, protocol))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer(SCOPE_NAME, SCOPE_VERSION)

    ids = {}

    def remember(span):
        ctx = span.get_span_context()
        ids[span.name] = format(ctx.span_id, "016x")
        return ctx

    # The target of the link: a span in a trace of its own.
    with tracer.start_as_current_span(
        "enqueue cart", kind=SpanKind.PRODUCER, context=set_span_in_context(None)
    ) as linked:
        linked.set_attribute("messaging.system", "kafka")
        linked_ctx = remember(linked)

    with tracer.start_as_current_span(
        "GET /checkout",
        kind=SpanKind.SERVER,
        context=set_span_in_context(None),
        links=[Link(linked_ctx, {"link.reason": "follows", "link.hops": 2})],
        record_exception=False,
        set_status_on_exception=False,
    ) as root:
        root_ctx = remember(root)
        root.set_attribute("highlight.session_id", session_id)
        root.set_attribute("test.run_id", run_id)
        root.set_attribute("http.request.method", "GET")
        root.set_attribute("http.response.status_code", 200)
        root.set_attribute("app.cart.total", 12.5)
        root.set_attribute("app.cart.ratio", 3.0)
        root.set_attribute("app.cart.express", True)
        root.set_attribute("app.cart.items", ["apple", "pear"])
        root.set_attribute("app.cart.quantities", [1, 2, 3])
        root.add_event(
            "cart.loaded",
            {"cart.id": "c-42", "cart.size": 3, "cart.weight": 1.25, "cart.cached": False},
        )

        with tracer.start_as_current_span(
            "POST /payments",
            kind=SpanKind.CLIENT,
            record_exception=False,
            set_status_on_exception=False,
        ) as child:
            remember(child)
            child.set_attribute("highlight.session_id", session_id)
            child.set_attribute("server.address", "payments.internal")
            child.set_attribute("server.port", 8443)

            with tracer.start_as_current_span(
                "charge card",
                kind=SpanKind.INTERNAL,
                record_exception=False,
                set_status_on_exception=False,
            ) as grandchild:
                remember(grandchild)
                grandchild.set_attribute("highlight.session_id", session_id)
                try:
                    raise ValueError("card declined")
                except ValueError as exc:
                    grandchild.record_exception(exc, {"payment.attempt": 1})
                    grandchild.set_status(Status(StatusCode.ERROR, "card declined"))

            child.set_status(Status(StatusCode.OK))

    flushed = provider.force_flush(timeout_millis=30000)
    provider.shutdown()
    if not flushed:
        print("force_flush timed out", file=sys.stderr)
        return 1
    if exporter.failures or exporter.exported != 4:
        print(
            f"export failed: {exporter.failures} failed batches, {exporter.exported} of 4 spans exported",
            file=sys.stderr,
        )
        return 1

    print(
        json.dumps(
            {
                "protocol": protocol,
                "trace_id": format(root_ctx.trace_id, "032x"),
                "linked_trace_id": format(linked_ctx.trace_id, "032x"),
                "spans": ids,
                "session_id": session_id,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
