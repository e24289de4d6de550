//! Slow and hostile clients against the real binary: request heads and bodies trickled a byte
//! at a time, connections that send nothing, more connections than the limit, running out of
//! file descriptors; gRPC requests that do not decode or are too large; and a generated set of
//! bad JSON API requests, every one of which must answer the documented JSON error.

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut};
use common::TestServer;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

const NOW: u64 = 1_764_064_800_000_000_000;

fn addr(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|e| panic!("address of {url}: {e}"))
}

/// Waits until the server closes `conn` (a read returns end of file or an error) or `within`
/// passes; returns how long that took, or `None` if it is still open. Whatever the server
/// answered before closing is appended to `answer`.
fn closed_within(conn: &mut TcpStream, within: Duration, answer: &mut Vec<u8>) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    while start.elapsed() < within {
        conn.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("read timeout");
        match conn.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}

/// Sends `head` one byte every `every` (the last byte never), stopping when the server closes
/// the connection; returns after how long it was closed, or `None` if it still was not after
/// `give_up`.
fn trickle(to: SocketAddr, head: &[u8], every: Duration, give_up: Duration) -> Option<Duration> {
    let mut conn = TcpStream::connect(to).expect("connect");
    let start = Instant::now();
    for &b in &head[..head.len() - 1] {
        if conn.write_all(&[b]).is_err() {
            return Some(start.elapsed());
        }
        let mut answer = Vec::new();
        if closed_within(&mut conn, every, &mut answer).is_some() {
            return Some(start.elapsed());
        }
        if start.elapsed() > give_up {
            return None;
        }
    }
    None
}

#[test]
fn slow_request_heads_and_silent_connections_are_cut_at_the_header_timeout() {
    let s = TestServer::start(&["--header-read-timeout", "1s", "--idle-timeout", "30s"]);
    let head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    for url in [&s.api, &s.http] {
        let held = trickle(
            addr(url),
            head,
            Duration::from_millis(250),
            Duration::from_secs(8),
        );
        let held = held.unwrap_or_else(|| panic!("{url}: a trickled request head held 8 s"));
        assert!(held < Duration::from_secs(4), "{url}: held {held:?}");

        // A connection that never sends a byte is closed after the same time.
        let mut silent = TcpStream::connect(addr(url)).expect("connect");
        let mut answer = Vec::new();
        let held = closed_within(&mut silent, Duration::from_secs(8), &mut answer)
            .unwrap_or_else(|| panic!("{url}: a silent connection held 8 s"));
        assert!(held < Duration::from_secs(4), "{url}: held {held:?}");
    }
    // An idle keep-alive connection that did answer a request is closed too.
    let mut conn = TcpStream::connect(addr(&s.api)).expect("connect");
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    let held = closed_within(&mut conn, Duration::from_secs(8), &mut answer)
        .expect("an idle keep-alive connection held 8 s");
    assert!(held < Duration::from_secs(4), "held {held:?}");
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[test]
fn a_trickled_otlp_body_is_answered_408() {
    let s = TestServer::start(&["--request-body-timeout", "1s"]);
    let mut conn = TcpStream::connect(addr(&s.http)).expect("connect");
    conn.write_all(
        b"POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\n",
    )
    .expect("write head");
    let start = Instant::now();
    let mut answer = Vec::new();
    let mut closed = None;
    while start.elapsed() < Duration::from_secs(8) && closed.is_none() {
        if conn.write_all(&[0x0a]).is_err() {
            break;
        }
        closed = closed_within(&mut conn, Duration::from_millis(200), &mut answer);
        if answer.starts_with(b"HTTP/1.1 408") {
            break;
        }
    }
    let elapsed = start.elapsed();
    let text = String::from_utf8_lossy(&answer).to_string();
    assert!(
        text.starts_with("HTTP/1.1 408"),
        "answer {text:?} after {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
    // The listener takes the next request as usual.
    let resp = tokio_block_on(async {
        let resp = s
            .post_traces("application/x-protobuf", &[], vec![0xff; 8])
            .await;
        resp.status().as_u16()
    });
    assert_eq!(resp, 400);
}

fn tokio_block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Sends `GET /healthz` on a fresh connection and returns the status line, or `None` when the
/// connection is closed without an answer.
fn healthz(to: SocketAddr) -> Option<String> {
    let mut conn = TcpStream::connect(to).ok()?;
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut answer = Vec::new();
    closed_within(&mut conn, Duration::from_secs(5), &mut answer)?;
    let text = String::from_utf8_lossy(&answer).to_string();
    text.lines().next().map(str::to_owned)
}

#[test]
fn connections_past_the_limit_are_closed_and_the_limit_frees_up() {
    let s = TestServer::start(&["--max-connections", "5", "--header-read-timeout", "60s"]);
    for url in [&s.api, &s.http] {
        let to = addr(url);
        let mut held: Vec<TcpStream> = (0..5)
            .map(|_| TcpStream::connect(to).expect("connect"))
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let start = Instant::now();
        assert_eq!(healthz(to), None, "{url}: a sixth connection was served");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{url}: not closed promptly"
        );
        held.pop();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut answer = None;
        while answer.is_none() && Instant::now() < deadline {
            answer = healthz(to);
            std::thread::sleep(Duration::from_millis(50));
        }
        // The OTLP/HTTP listener has no /healthz: any answer shows the connection was served.
        assert!(
            answer
                .as_deref()
                .is_some_and(|a| a.starts_with("HTTP/1.1 ")),
            "{url}: {answer:?}"
        );
    }
    // The gRPC listener has the same limit.
    let to = addr(&s.grpc);
    let held: Vec<TcpStream> = (0..5)
        .map(|_| TcpStream::connect(to).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut sixth = TcpStream::connect(to).expect("connect");
    let mut answer = Vec::new();
    assert!(
        closed_within(&mut sixth, Duration::from_secs(3), &mut answer).is_some(),
        "a sixth gRPC connection stayed open"
    );
    drop(held);
}

#[test]
fn healthz_answers_while_300_slow_clients_hold_connections() {
    let s = TestServer::start(&["--header-read-timeout", "3s"]);
    let to = addr(&s.api);
    let slow: Vec<std::thread::JoinHandle<Option<Duration>>> = (0..300)
        .map(|_| {
            std::thread::spawn(move || {
                trickle(
                    to,
                    b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n\r\n",
                    Duration::from_millis(500),
                    Duration::from_secs(15),
                )
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..10 {
        let start = Instant::now();
        assert_eq!(healthz(to).as_deref(), Some("HTTP/1.1 200 OK"));
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let held: Vec<Option<Duration>> = slow
        .into_iter()
        .map(|h| h.join().expect("slow client"))
        .collect();
    let cut = held
        .iter()
        .filter(|h| h.is_some_and(|d| d < Duration::from_secs(7)))
        .count();
    assert_eq!(cut, 300, "slow clients cut within 7 s: {cut} of 300");
}

/// CPU ticks (user + system) the process has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[test]
fn out_of_file_descriptors_the_accept_loop_backs_off_and_recovers() {
    if std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_err()
        || !std::path::Path::new("/proc/self/stat").exists()
    {
        eprintln!("skipped: needs prlimit and /proc");
        return;
    }
    let s = TestServer::start_under(
        &["prlimit", "--nofile=96:96"],
        &["--header-read-timeout", "60s", "--idle-timeout", "60s"],
    );
    let to = addr(&s.api);
    let mut held: Vec<TcpStream> = (0..150)
        .filter_map(|_| TcpStream::connect(to).ok())
        .collect();
    assert!(held.len() > 100, "only {} connections", held.len());
    // Connections waiting on the gRPC listener too (tonic's own accept loop retries at once).
    held.extend((0..5).filter_map(|_| TcpStream::connect(addr(&s.grpc)).ok()));
    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_ticks(s.pid());
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_ticks(s.pid()) - before;
    // A spinning accept loop burns ~300 ticks in 3 s (100 per second of CPU).
    assert!(
        used < 60,
        "the server used {used} ticks of CPU in 3 s at the descriptor limit"
    );
    let log = s.log();
    let lines = log.matches("cannot accept connections").count();
    // At most one line per listener out of descriptors (API, OTLP/gRPC), not one per attempt.
    assert!(
        (1..=2).contains(&lines),
        "{lines} accept error lines (expected rate-limited logging):\n{log}"
    );
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut answer = None;
    while answer.is_none() && Instant::now() < deadline {
        answer = healthz(to);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(answer.as_deref(), Some("HTTP/1.1 200 OK"));
}

/// Sends raw bytes as the request message, to say what a broken client would.
#[derive(Clone, Copy, Default)]
struct RawCodec;

struct RawEncoder;
struct ResponseDecoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawEncoder;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> ResponseDecoder {
        ResponseDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        buf: &mut DecodeBuf<'_>,
    ) -> Result<Option<ExportTraceServiceResponse>, tonic::Status> {
        let bytes = buf.copy_to_bytes(buf.remaining());
        ExportTraceServiceResponse::decode(bytes)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

async fn export_raw(grpc: &str, path: &'static str, body: Vec<u8>) -> tonic::Code {
    let channel = tonic::transport::Endpoint::from_shared(grpc.to_string())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.expect("ready");
    match client
        .unary(
            tonic::Request::new(body),
            tonic::codegen::http::uri::PathAndQuery::from_static(path),
            RawCodec,
        )
        .await
    {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    }
}

fn span_request(name: &str, attributes: Vec<KeyValue>) -> ExportTraceServiceRequest {
    let span = Span {
        trace_id: vec![7; 16],
        span_id: vec![7; 8],
        name: name.into(),
        kind: 2,
        start_time_unix_nano: NOW,
        end_time_unix_nano: NOW + 1000,
        attributes,
        ..Default::default()
    };
    common::traces_export(
        vec![common::string_attr("service.name", "checkout")],
        vec![span],
    )
}

const TRACES: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const LOGS: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

#[tokio::test]
async fn grpc_bodies_that_do_not_decode_are_invalid_argument_and_too_large_is_resource_exhausted() {
    let s = TestServer::start(&["--max-request-bytes", "65536"]);
    let good = span_request("ok", vec![]).encode_to_vec();

    let mut nested = AnyValue {
        value: Some(any_value::Value::StringValue("deep".into())),
    };
    for _ in 0..200 {
        nested = AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: vec![nested],
            })),
        };
    }
    let over_nested = span_request(
        "nested",
        vec![KeyValue {
            key: "deep".into(),
            value: Some(nested),
            ..Default::default()
        }],
    )
    .encode_to_vec();

    let marked = span_request("MARKER!!", vec![]).encode_to_vec();
    let at = marked
        .windows(8)
        .position(|w| w == b"MARKER!!")
        .expect("marker");
    let mut bad_utf8 = marked.clone();
    bad_utf8[at..at + 8].copy_from_slice(&[0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28]);

    let cases: Vec<(&str, &'static str, Vec<u8>)> = vec![
        ("garbage", TRACES, vec![0xff; 32]),
        ("truncated", TRACES, good[..good.len() - 5].to_vec()),
        ("over-nested", TRACES, over_nested),
        ("invalid UTF-8", TRACES, bad_utf8),
        (
            "garbage logs",
            LOGS,
            vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        ),
    ];
    for (what, path, body) in cases {
        let code = export_raw(&s.grpc, path, body).await;
        assert_eq!(code, tonic::Code::InvalidArgument, "{what}");
    }

    let huge = span_request(&"x".repeat(100_000), vec![]).encode_to_vec();
    for path in [TRACES, LOGS] {
        let code = export_raw(&s.grpc, path, huge.clone()).await;
        assert_eq!(code, tonic::Code::ResourceExhausted, "{path}");
    }

    // The server still takes good requests, through the generated client too.
    assert_eq!(export_raw(&s.grpc, TRACES, good).await, tonic::Code::Ok);
    let mut client = TraceServiceClient::connect(s.grpc.clone())
        .await
        .expect("connect");
    client
        .export(span_request("again", vec![]))
        .await
        .expect("a good export");
    let code = export_raw(
        &s.grpc,
        "/opentelemetry.proto.collector.trace.v1.TraceService/Nope",
        vec![],
    )
    .await;
    assert_eq!(code, tonic::Code::Unimplemented);
}

/// A small deterministic generator (xorshift), so the bad requests are the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

/// Bad requests of every kind the JSON API can refuse: wrong types and ranges of counts,
/// unparsable times, sorts, cursors, targets and queries, duplicated parameters, bad percent
/// encoding, ids and fingerprints, unknown routes and other methods than GET.
fn bad_requests() -> Vec<(&'static str, String)> {
    const ROUTES: &[&str] = &[
        "/api/v1/spans",
        "/api/v1/spans/search",
        "/api/v1/spans/histogram",
        "/api/v1/traces/search",
        "/api/v1/keys",
        "/api/v1/keys/http.method/values",
        "/api/v1/logs/search",
        "/api/v1/logs/histogram",
        "/api/v1/errors/groups",
        "/api/v1/errors/groups/0123456789abcdef",
        "/api/v1/sessions",
        "/api/v1/sessions/s1",
    ];
    const BAD_COUNTS: &[&str] = &[
        "abc",
        "-1",
        "99999999999999999999",
        "1.5",
        "0x10",
        "1e3",
        "%20",
        "NaN",
        "%FF",
        "%ZZ",
        "18446744073709551616",
        "-9223372036854775809",
        "0",
        "1000000",
    ];
    const BAD_TIMES: &[&str] = &[
        "garbage",
        "2025-13-45T00:00:00Z",
        "1e99",
        "%FF%FE",
        "99999999999999999999999",
        "--1",
    ];
    let mut out = Vec::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for route in ROUTES {
        let counts: &[&str] = match *route {
            "/api/v1/spans/histogram" | "/api/v1/logs/histogram" => &["buckets"],
            "/api/v1/errors/groups" | "/api/v1/errors/groups/0123456789abcdef" => {
                &["limit", "buckets"]
            }
            _ => &["limit"],
        };
        for name in counts {
            for value in BAD_COUNTS {
                out.push(("GET", format!("{route}?{name}={value}")));
            }
            out.push(("GET", format!("{route}?{name}=1&{name}=2")));
        }
        for name in ["start", "end"] {
            for _ in 0..3 {
                let value = rng.pick(BAD_TIMES);
                out.push(("GET", format!("{route}?{name}={value}")));
            }
        }
        out.push(("GET", format!("{route}?start=2000&end=1000")));
        for method in ["POST", "PUT", "DELETE", "PATCH"] {
            out.push((method, route.to_string()));
        }
    }
    for route in [
        "/api/v1/spans/search",
        "/api/v1/traces/search",
        "/api/v1/logs/search",
    ] {
        for extra in [
            "sort=sideways",
            "cursor=garbage",
            "cursor=%FF",
            "query=(((",
            "query=service%3A",
            "query=%7B%7B%7B",
            "limit=5&sort=newest&sort=oldest",
        ] {
            out.push(("GET", format!("{route}?{extra}")));
        }
    }
    for extra in ["target=metrics", "target=%00", "limit=abc&target=logs"] {
        out.push(("GET", format!("/api/v1/keys?{extra}")));
        out.push(("GET", format!("/api/v1/keys/service/values?{extra}")));
    }
    for path in [
        "/api/v1/traces/zz",
        "/api/v1/traces/%FF%FE",
        "/api/v1/traces/00000000000000000000000000000000",
        "/api/v1/traces/0af7651916cd43dd8448eb211c80319",
        "/api/v1/errors/groups/%C3%28",
        "/api/v1/errors/groups/not-a-fingerprint",
        "/api/v1/keys/%FF/values",
        "/api/v1/sessions/%FF",
        "/api/v1/nope",
        "/api/v1/spans/search/extra",
        "/api/v2/spans",
        "/api/v1/traces",
        "/api/v1/keys/a/b/values",
    ] {
        out.push(("GET", path.to_string()));
    }
    for method in ["POST", "DELETE"] {
        out.push((
            method,
            "/api/v1/traces/0af7651916cd43dd8448eb211c80319c".into(),
        ));
    }
    out
}

#[tokio::test]
async fn bad_api_requests_all_answer_the_json_error_with_a_4xx() {
    let s = TestServer::start(&[]);
    let requests = bad_requests();
    assert!(requests.len() > 300, "only {} requests", requests.len());
    let client = reqwest::Client::new();
    let mut wrong = Vec::new();
    for (method, path) in &requests {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let url = format!("{}{path}", s.api);
        let resp = client
            .request(method.clone(), &url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = resp.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned));
        if !(400..500).contains(&status)
            || !content_type.starts_with("application/json")
            || message.is_none_or(|m| m.is_empty())
        {
            wrong.push(format!("{method} {path} -> {status} {content_type} {text}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} bad requests did not answer a JSON 4xx:\n{}",
        wrong.len(),
        requests.len(),
        wrong.join("\n")
    );
    // Statuses that say what was wrong.
    let (status, body) = s.get("/api/v1/spans/search?limit=abc").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("limit")),
        "{body}"
    );
    let resp = client
        .post(format!("{}/api/v1/spans", s.api))
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 405);
    assert_eq!(
        resp.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET,HEAD")
    );
    let (status, _) = s.get("/api/v1/nope").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn sigterm_with_silent_and_slow_clients_connected_drains_flushes_and_exits_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = TestServer::start_in(dir.path(), &["--header-read-timeout", "60s"]);
    let resp = s
        .post_traces(
            "application/x-protobuf",
            &[],
            span_request("kept", vec![]).encode_to_vec(),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let mut held: Vec<TcpStream> = Vec::new();
    for url in [&s.api, &s.http, &s.grpc] {
        held.extend((0..10).map(|_| TcpStream::connect(addr(url)).expect("connect")));
    }
    let mut half = TcpStream::connect(addr(&s.api)).expect("connect");
    half.write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .expect("write");
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    assert!(s.terminate(), "exit status after SIGTERM");
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "shutdown took {:?} with idle clients connected",
        start.elapsed()
    );
    drop(held);
    let s = TestServer::start_in(dir.path(), &[]);
    assert_eq!(s.trace(&hex::encode([7u8; 16])).await.len(), 1);
}
