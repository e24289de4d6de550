#!/usr/bin/env python3
"""A small HTTP front that serves the part of ClickHouse's HTTP interface the Rust
`clickhouse` crate uses, executing every statement in one persistent chDB session
(the real ClickHouse engine, in process).

It is transport only: it parses requests, hands the SQL to chDB and frames the reply.

Served:
  * GET/POST /ping and GET / -> "Ok.";
  * the query in the `query` URL parameter and/or the body (a plain body, or a
    multipart/form-data body with `query` and `param_<name>` fields: server-side
    parameters `{name:Type}`);
  * `database` (the session's current database), `default_format`, `param_*` and
    other settings (applied with SET);
  * INSERT … FORMAT F with the data in the body, optionally in ClickHouse's
    compressed block framing (`decompress=1`: LZ4 or uncompressed blocks); the data is
    written to a temporary file and loaded with `INSERT … FROM INFILE`;
  * errors as HTTP 500 with `X-ClickHouse-Exception-Code` and the
    `Code: N. DB::Exception: …` text.

Replies are never compressed (the client accepts uncompressed replies).

One test hook, not part of ClickHouse's interface: `POST /__fault/drop_insert_reply?
database=DB&count=N` makes the next N INSERTs into database DB execute and then close
the connection without a reply (a reply lost after the server stored the rows), so
tests can provoke the writer's retry of an insert that did succeed; it answers how many
drops were still pending.

Usage: chdb_front.py [--port N] [--path DIR] [--config-file XML] [--exit-with-stdin].
Prints `PORT <n>` on stdout once it listens. chDB allows one data path per process: run
one front per test process. `--config-file` passes a ClickHouse server configuration
(e.g. `remote_servers` and `macros`) to the engine.
"""

import argparse
import os
import re
import socket
import struct
import sys
import tempfile
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

try:
    from chdb import session as chdb_session
except ImportError as e:  # pragma: no cover - reported to the test harness
    print(f"CHDB_MISSING {e}", flush=True)
    sys.exit(3)

LOCK = threading.Lock()
SESSION = None
TMP_DIR = None
# database -> how many more INSERT replies to drop (the test hook above).
DROP_INSERT_REPLIES = {}

# Settings the client may send that are not ClickHouse settings or need no SET.
NOT_SETTINGS = {"query", "database", "default_format", "decompress", "compress",
                "user", "password", "query_id", "session_id", "role"}
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
INSERT_FORMAT = re.compile(r"^(?P<head>\s*INSERT\s+INTO\s.*?)\s+FORMAT\s+(?P<fmt>\w+)\s*$",
                           re.IGNORECASE | re.DOTALL)
FORMAT_CLAUSE = re.compile(r"\bFORMAT\s+\w+\s*;?\s*$", re.IGNORECASE)
ERROR_CODE = re.compile(r"Code:\s*(\d+)")


class FrontError(Exception):
    """A request the front cannot serve, reported like a ClickHouse error."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def lz4_block_decompress(src, size):
    """Decompresses one raw LZ4 block of known decompressed size."""
    out = bytearray()
    i, n = 0, len(src)
    while i < n:
        token = src[i]
        i += 1
        lit = token >> 4
        if lit == 15:
            while True:
                b = src[i]
                i += 1
                lit += b
                if b != 255:
                    break
        out += src[i:i + lit]
        i += lit
        if i >= n:
            break
        offset = src[i] | (src[i + 1] << 8)
        i += 2
        if offset == 0:
            raise FrontError(271, "Code: 271. DB::Exception: invalid LZ4 offset. (CANNOT_DECOMPRESS)")
        mlen = token & 15
        if mlen == 15:
            while True:
                b = src[i]
                i += 1
                mlen += b
                if b != 255:
                    break
        mlen += 4
        start = len(out) - offset
        if start < 0:
            raise FrontError(271, "Code: 271. DB::Exception: invalid LZ4 offset. (CANNOT_DECOMPRESS)")
        if offset >= mlen:
            out += out[start:start + mlen]
        else:
            for k in range(mlen):
                out.append(out[start + k])
    if len(out) != size:
        raise FrontError(271, "Code: 271. DB::Exception: LZ4 size mismatch. (CANNOT_DECOMPRESS)")
    return bytes(out)


def decompress_blocks(data):
    """Decodes ClickHouse's compressed block framing (checksum, method, sizes, data)."""
    out = bytearray()
    i = 0
    while i < len(data):
        if len(data) - i < 25:
            raise FrontError(271, "Code: 271. DB::Exception: truncated compressed block. (CANNOT_DECOMPRESS)")
        method = data[i + 16]
        compressed, raw = struct.unpack_from("<II", data, i + 17)
        body = data[i + 25:i + 16 + compressed]
        if len(body) != compressed - 9:
            raise FrontError(271, "Code: 271. DB::Exception: truncated compressed block. (CANNOT_DECOMPRESS)")
        if method == 0x82:
            out += lz4_block_decompress(body, raw)
        elif method == 0x02:
            out += body
        else:
            raise FrontError(271, f"Code: 271. DB::Exception: unsupported compression method {method:#x}. (CANNOT_DECOMPRESS)")
        i += 16 + compressed
    return bytes(out)


def parse_multipart(content_type, body):
    """Fields of a multipart/form-data body (names to text values)."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise FrontError(27, "Code: 27. DB::Exception: multipart body without boundary. (CANNOT_PARSE_INPUT_ASSERTION_FAILED)")
    delim = b"--" + m.group(1).encode()
    fields = {}
    for part in body.split(delim)[1:]:
        if part.startswith(b"--"):
            break
        part = part[2:] if part.startswith(b"\r\n") else part
        head, _, value = part.partition(b"\r\n\r\n")
        if value.endswith(b"\r\n"):
            value = value[:-2]
        nm = re.search(rb'name="([^"]*)"', head)
        if nm:
            fields[nm.group(1).decode()] = value.decode("utf-8")
    return fields


def execute(params, body, content_type):
    """Runs one request; returns (bytes, format)."""
    fields = {}
    if content_type.startswith("multipart/form-data"):
        fields = parse_multipart(content_type, body)
        body = b""
    merged = dict(params)
    merged.update(fields)
    query = merged.get("query", "")
    data = None
    is_insert = INSERT_FORMAT.match(query) is not None
    if is_insert:
        data = body
        if merged.get("decompress") == "1":
            data = decompress_blocks(data)
    elif body:
        query = (query + "\n" + body.decode("utf-8")) if query else body.decode("utf-8")
        if INSERT_FORMAT.match(query.split("\n", 1)[0]) and "\n" in query:
            head, rest = query.split("\n", 1)
            query, data, is_insert = head, rest.encode(), True
    if not query.strip():
        raise FrontError(62, "Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)")
    qparams = {k[6:]: v for k, v in merged.items() if k.startswith("param_")}
    settings = [(k, v) for k, v in merged.items()
                if k not in NOT_SETTINGS and not k.startswith("param_")]
    database = merged.get("database") or "default"
    fmt = merged.get("default_format") or "TabSeparated"
    with LOCK:
        if not IDENT.match(database):
            raise FrontError(81, f"Code: 81. DB::Exception: Database {database} does not exist. (UNKNOWN_DATABASE)")
        SESSION.query(f"USE {database}")
        applied = []
        try:
            for k, v in settings:
                if not IDENT.match(k):
                    raise FrontError(115, f"Code: 115. DB::Exception: Unknown setting {k}. (UNKNOWN_SETTING)")
                lit = v.replace("\\", "\\\\").replace("'", "\\'")
                SESSION.query(f"SET {k} = '{lit}'")
                applied.append(k)
            out, fmt = run(query, data, is_insert, fmt, qparams)
            drop = is_insert and DROP_INSERT_REPLIES.get(database, 0) > 0
            if drop:
                DROP_INSERT_REPLIES[database] -= 1
            return out, fmt, drop
        finally:
            # Settings belong to one request: restore them for the next one.
            for k in applied:
                SESSION.query(f"SET {k} = DEFAULT")


def run(query, data, is_insert, fmt, qparams):
    """Executes one statement in the session (the caller holds LOCK)."""
    if is_insert:
        m = INSERT_FORMAT.match(query)
        fd, path = tempfile.mkstemp(dir=TMP_DIR, suffix=".bin")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data or b"")
            sql = f"{m.group('head')} FROM INFILE '{path}' FORMAT {m.group('fmt')}"
            SESSION.query(sql, "TabSeparated")
        finally:
            os.unlink(path)
        return b"", fmt
    if FORMAT_CLAUSE.search(query):
        fmt_m = re.search(r"\bFORMAT\s+(\w+)\s*;?\s*$", query, re.IGNORECASE)
        fmt = fmt_m.group(1)
    res = SESSION.query(query, fmt, params=qparams or None)
    return res.bytes(), fmt


CONTENT_TYPES = {
    "JSON": "application/json; charset=UTF-8",
    "JSONEachRow": "application/x-ndjson; charset=UTF-8",
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet unless asked
        if os.environ.get("CHDB_FRONT_LOG"):
            sys.stderr.write("front: " + (fmt % args) + "\n")

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                line = self.rfile.readline().strip()
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self):
        url = urlsplit(self.path)
        body = self.read_body()
        if url.path in ("/ping", "/") and not url.query and not body:
            return self.reply(200, b"Ok.\n", [("Content-Type", "text/html; charset=UTF-8")])
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if url.path == "/__fault/drop_insert_reply":
            with LOCK:
                db = params.get("database", "")
                before = DROP_INSERT_REPLIES.get(db, 0)
                DROP_INSERT_REPLIES[db] = int(params.get("count", "1"))
            # The reply is how many drops were still pending.
            return self.reply(200, f"{before}\n".encode())
        try:
            out, fmt, drop = execute(params, body, self.headers.get("Content-Type", ""))
        except FrontError as e:
            return self.error(e.code, str(e))
        except Exception as e:  # chDB errors carry ClickHouse's own text
            text = str(e)
            m = ERROR_CODE.search(text)
            if not m:
                traceback.print_exc()
            return self.error(int(m.group(1)) if m else 1001, text)
        if drop:
            # The rows are stored; the reply is lost.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.reply(200, out, [
            ("Content-Type", CONTENT_TYPES.get(fmt, "application/octet-stream")),
            ("X-ClickHouse-Format", fmt),
            ("X-ClickHouse-Summary", '{"read_rows":"0","read_bytes":"0","written_rows":"0","written_bytes":"0","total_rows_to_read":"0"}'),
        ])

    def error(self, code, text):
        text = text.strip()
        if not text.startswith("Code:"):
            text = f"Code: {code}. DB::Exception: {text}"
        self.reply(500, (text + "\n").encode(), [
            ("Content-Type", "text/plain; charset=UTF-8"),
            ("X-ClickHouse-Exception-Code", str(code)),
        ])

    do_GET = handle_any
    do_POST = handle_any


def main():
    global SESSION, TMP_DIR
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--path", default=None)
    ap.add_argument("--config-file", default=None,
                    help="a ClickHouse server configuration file for the engine")
    ap.add_argument("--exit-with-stdin", action="store_true",
                    help="exit when stdin reaches EOF (the test process that started us ended)")
    args = ap.parse_args()
    path = args.path or tempfile.mkdtemp(prefix="chdb-front-")
    TMP_DIR = tempfile.mkdtemp(prefix="chdb-front-in-")
    SESSION = chdb_session.Session(
        f"file:{path}?config-file={args.config_file}" if args.config_file else path)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    if args.exit_with_stdin:
        threading.Thread(target=exit_on_stdin_eof, daemon=True).start()
    server.serve_forever()


def exit_on_stdin_eof():
    """Exits when the parent closes our stdin (the parent exited, however it ended)."""
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
