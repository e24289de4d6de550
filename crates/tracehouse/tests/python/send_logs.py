#!/usr/bin/env python3
"""Sends a trace with its logs and an error to tracehouse with the official OpenTelemetry
Python SDK: a tracer plus the SDK's `logging` handler (LoggingHandler) and OTLP log exporter.

Used by crates/tracehouse/tests/interop_python.rs.

usage: send_logs.py ENDPOINT PROTOCOL RUN_ID

  ENDPOINT  base URL of the receiver, e.g. http://127.0.0.1:4317 (grpc) or
            http://127.0.0.1:4318 (http/protobuf; "/v1/traces" and "/v1/logs" are appended)
  PROTOCOL  grpc | http/protobuf
  RUN_ID    a unique text put into the session id

What is sent (service "py-logs" 3.1.0, environment "interop-test", logger
"tracehouse.interop.orders"):

  "POST /orders" (server, root, highlight.session_id = "session-<RUN_ID>")
     log INFO  "order received for cart-42"  (extra attributes: highlight.session_id, order.items=3)
     └ "reserve stock" (internal): OutOfStockError("sku-7 is out of stock") raised two calls
                                   deep, recorded with span.record_exception + status ERROR
          log ERROR "reservation failed for sku-7" via logging.exception (exception.* attributes)
     log WARNING "order rejected"
  log INFO "nightly cleanup done" outside any span (no trace context)

Prints one JSON object on stdout:
  {"trace_id": hex, "spans": {name: span_id hex}, "session_id": "...", "protocol": "..."}
Exits non-zero when an exporter reported a failure or a flush timed out.
"""

import json
import logging
import sys
import warnings

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

SERVICE_NAME = "py-logs"
SERVICE_VERSION = "3.1.0"
ENVIRONMENT = "interop-test"
LOGGER_NAME = "tracehouse.interop.orders"


class OutOfStockError(Exception):
    """The error the order path raises."""


class Counting:
    """Wraps an exporter (spans or logs) and counts exported items and failed batches."""

    def __init__(self, inner, success):
        self.inner = inner
        self.success = success
        self.exported = 0
        self.failures = 0

    def export(self, batch):
        result = self.inner.export(batch)
        if result == self.success:
            self.exported += len(batch)
        else:
            self.failures += 1
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return self.inner.force_flush(timeout_millis)


def make_exporters(endpoint, protocol):
    """The span and log exporters of `protocol`, both sending to `endpoint`."""
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return (
            OTLPSpanExporter(endpoint=endpoint, insecure=True, timeout=10),
            OTLPLogExporter(endpoint=endpoint, insecure=True, timeout=10),
        )
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        base = endpoint.rstrip("/")
        return (
            OTLPSpanExporter(endpoint=base + "/v1/traces", timeout=10),
            OTLPLogExporter(endpoint=base + "/v1/logs", timeout=10),
        )
    raise SystemExit(f"unknown protocol {protocol!r}: use grpc or http/protobuf")


def check_stock(sku):
    raise OutOfStockError(f"{sku} is out of stock")


def reserve(sku):
    check_stock(sku)


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
    span_exporter, log_exporter = make_exporters(endpoint, protocol)
    spans_out = Counting(span_exporter, SpanExportResult.SUCCESS)
    logs_out = Counting(log_exporter, LogRecordExportResult.SUCCESS)

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(spans_out))
    tracer = tracer_provider.get_tracer("tracehouse.interop")

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(logs_out))
    with warnings.catch_warnings():
        # Deprecated in favour of opentelemetry-instrumentation-logging, still the SDK's own.
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(level=logging.INFO, logger_provider=logger_provider)
    log = logging.getLogger(LOGGER_NAME)
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(handler)

    ids = {}

    def remember(span):
        ctx = span.get_span_context()
        ids[span.name] = format(ctx.span_id, "016x")
        return ctx

    with tracer.start_as_current_span(
        "POST /orders", kind=SpanKind.SERVER, context=set_span_in_context(None)
    ) as root:
        root_ctx = remember(root)
        root.set_attribute("highlight.session_id", session_id)
        log.info(
            "order received for %s",
            "cart-42",
            extra={"highlight.session_id": session_id, "order.items": 3},
        )
        with tracer.start_as_current_span(
            "reserve stock", record_exception=False, set_status_on_exception=False
        ) as child:
            remember(child)
            try:
                reserve("sku-7")
            except OutOfStockError as exc:
                child.record_exception(exc)
                child.set_status(Status(StatusCode.ERROR, str(exc)))
                log.exception("reservation failed for %s", "sku-7")
        log.warning("order rejected")
    log.info("nightly cleanup done")

    flushed = tracer_provider.force_flush(timeout_millis=30000)
    flushed = logger_provider.force_flush(timeout_millis=30000) and flushed
    tracer_provider.shutdown()
    logger_provider.shutdown()
    if not flushed:
        print("force_flush timed out", file=sys.stderr)
        return 1
    if spans_out.failures or logs_out.failures or spans_out.exported != 2 or logs_out.exported != 4:
        print(
            f"export failed: spans {spans_out.exported} of 2 exported "
            f"({spans_out.failures} failed batches), logs {logs_out.exported} of 4 exported "
            f"({logs_out.failures} failed batches)",
            file=sys.stderr,
        )
        return 1

    print(
        json.dumps(
            {
                "protocol": protocol,
                "trace_id": format(root_ctx.trace_id, "032x"),
                "spans": ids,
                "session_id": session_id,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
