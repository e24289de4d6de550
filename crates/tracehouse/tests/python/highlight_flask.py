#!/usr/bin/env python3
"""A small Flask app instrumented with Highlight's own Python SDK (PyPI `highlight-io`),
exporting to tracehouse: a request that logs and then fails, and a background job traced
with `H.trace` that logs and raises.

Used by crates/tracehouse/tests/interop_python.rs. highlight-io pins an older OpenTelemetry
SDK than the one send_spans.py uses, so it runs in a virtual environment of its own
(scripts/test creates it).

usage: highlight_flask.py ENDPOINT RUN_ID

  ENDPOINT  the OTLP/gRPC receiver, e.g. http://127.0.0.1:4317: highlight-io exports traces,
            logs and metrics over gRPC (gzip), to "<ENDPOINT>/v1/<signal>", of which gRPC
            uses only the host and port
  RUN_ID    a unique text put into the session id

What happens (project id "interop-project", service "py-highlight" 2.0.1, environment
"interop-test"):

  GET /orders/sku-7 over real HTTP with "X-Highlight-Request: session-<RUN_ID>/request-<RUN_ID>":
    Highlight's Flask integration opens the request span, the view logs
    "placing order for sku-7" (INFO) through the standard `logging` module, then raises
    InventoryError("sku-7 is out of stock"); Flask answers 500 and Highlight records the
    exception on the request span.
  with H.trace("nightly reindex"): logs "reindexing 3 shards" (WARNING), raises
    ReindexError("shard 2 is corrupt"), which H.trace records and re-raises.

Prints one JSON object on stdout:
  {"request": {"trace_id", "span_id"}, "job": {"trace_id", "span_id"}, "session_id": "...",
   "request_id": "...", "project_id": "..."}
Exits non-zero when the request did not fail as planned or a trace or log export failed
(failed metric exports are ignored: tracehouse does not receive metrics).
"""

import json
import logging
import sys
import threading
import urllib.error
import urllib.request

import highlight_io
from flask import Flask
from highlight_io.integrations.flask import FlaskIntegration
from opentelemetry import trace as otel_trace
from werkzeug.serving import make_server

PROJECT_ID = "interop-project"


class InventoryError(Exception):
    """Raised by the request."""


class ReindexError(Exception):
    """Raised by the background job."""


class ExportFailures(logging.Handler):
    """Collects the OTLP exporters' failure reports about traces and logs."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.failures = []

    def emit(self, record):
        text = record.getMessage()
        if "metrics" not in text:
            self.failures.append(text)


def current_ids():
    ctx = otel_trace.get_current_span().get_span_context()
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}


def check_stock(sku):
    raise InventoryError(f"{sku} is out of stock")


def main(argv):
    if len(argv) != 3:
        raise SystemExit(__doc__)
    endpoint, run_id = argv[1], argv[2]
    session_id, request_id = f"session-{run_id}", f"request-{run_id}"

    failures = ExportFailures()
    logging.getLogger("opentelemetry.exporter.otlp.proto.grpc.exporter").addHandler(failures)

    H = highlight_io.H(
        PROJECT_ID,
        integrations=[FlaskIntegration()],
        otlp_endpoint=endpoint,
        instrument_logging=True,
        service_name="py-highlight",
        service_version="2.0.1",
        environment="interop-test",
    )
    # The dev server's access log would become traces of its own ("highlight.log").
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    seen = {}
    app = Flask("highlight_interop")

    @app.route("/orders/<sku>")
    def order(sku):
        seen["request"] = current_ids()
        logging.info("placing order for %s", sku)
        check_stock(sku)
        return "unreachable"

    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.server_port}/orders/sku-7",
        headers={"X-Highlight-Request": f"{session_id}/{request_id}"},
    )
    try:
        urllib.request.urlopen(request, timeout=30)
        print("GET /orders/sku-7 succeeded; the view should have failed", file=sys.stderr)
        return 1
    except urllib.error.HTTPError as e:
        if e.code != 500:
            print(f"GET /orders/sku-7 answered {e.code}, expected 500", file=sys.stderr)
            return 1
    finally:
        server.shutdown()
        thread.join()

    try:
        with H.trace("nightly reindex"):
            seen["job"] = current_ids()
            logging.warning("reindexing %d shards", 3)
            raise ReindexError("shard 2 is corrupt")
    except ReindexError:
        pass

    H.flush()
    H._trace_provider.shutdown()
    H._log_provider.shutdown()
    if failures.failures:
        print("export failed:\n" + "\n".join(failures.failures), file=sys.stderr)
        return 1
    if "request" not in seen or "job" not in seen:
        print(f"the request or the job did not run: {seen}", file=sys.stderr)
        return 1

    print(
        json.dumps(
            {
                "request": seen["request"],
                "job": seen["job"],
                "session_id": session_id,
                "request_id": request_id,
                "project_id": PROJECT_ID,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
