//! Test harness: runs the real `tracehouse` binary on ephemeral ports and a temporary data
//! directory, and talks to it over HTTP and gRPC.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan};

/// A running `tracehouse serve` process.
pub struct TestServer {
    child: Child,
    /// `http://host:port` of the JSON API.
    pub api: String,
    /// `http://host:port` of the OTLP/gRPC receiver.
    pub grpc: String,
    /// `http://host:port` of the OTLP/HTTP receiver.
    pub http: String,
    /// The data directory.
    pub data_dir: PathBuf,
    /// One HTTP client for the server's requests (a client per request would load the TLS
    /// roots each time and slow every test down).
    client: reqwest::Client,
    _tmp: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on a fresh temporary data directory.
    pub fn start(extra: &[&str]) -> TestServer {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut s = TestServer::start_in(tmp.path(), extra);
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server on `data_dir` (which may hold data of an earlier run).
    pub fn start_in(data_dir: &Path, extra: &[&str]) -> TestServer {
        TestServer::spawn(&[], data_dir, extra)
    }

    /// Starts a server on a fresh temporary data directory, run through `wrapper` (a program
    /// and its arguments that execs the rest, e.g. `prlimit --nofile=128`).
    pub fn start_under(wrapper: &[&str], extra: &[&str]) -> TestServer {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut s = TestServer::spawn(wrapper, tmp.path(), extra);
        s._tmp = Some(tmp);
        s
    }

    fn spawn(wrapper: &[&str], data_dir: &Path, extra: &[&str]) -> TestServer {
        std::fs::create_dir_all(data_dir).expect("data dir");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.join("server.log"))
            .expect("log file");
        let binary = env!("CARGO_BIN_EXE_tracehouse");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        let mut child = command
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--otlp-grpc",
                "127.0.0.1:0",
                "--otlp-http",
                "127.0.0.1:0",
            ])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn tracehouse");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (mut api, mut grpc, mut http) = (None, None, None);
        while api.is_none() || grpc.is_none() || http.is_none() {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
                let _ = child.kill();
                let log = std::fs::read_to_string(data_dir.join("server.log")).unwrap_or_default();
                panic!("tracehouse did not print its addresses; log:\n{log}");
            };
            let mut words = line.split_whitespace();
            let (Some(label), Some(url)) = (words.next(), words.next()) else {
                continue;
            };
            let url = url.trim_end_matches("/v1/traces").to_string();
            match label {
                "api" => api = Some(url),
                "otlp-grpc" => grpc = Some(url),
                "otlp-http" => http = Some(url),
                _ => {}
            }
        }
        TestServer {
            child,
            api: api.unwrap_or_default(),
            grpc: grpc.unwrap_or_default(),
            http: http.unwrap_or_default(),
            data_dir: data_dir.to_path_buf(),
            client: reqwest::Client::new(),
            _tmp: None,
        }
    }

    /// Kills the process with SIGKILL (no chance to flush) and waits for it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for a clean exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// GET an API path, returning status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.get_with_key(path, None).await
    }

    /// GET an API path with an optional project key.
    pub async fn get_with_key(&self, path: &str, key: Option<&str>) -> (u16, serde_json::Value) {
        let mut req = self.client.get(format!("{}{path}", self.api));
        if let Some(k) = key {
            req = req.header("x-tracehouse-key", k);
        }
        let resp = req.send().await.expect("GET");
        let status = resp.status().as_u16();
        let body = resp.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// The spans of a trace as JSON (panics unless 200).
    pub async fn trace(&self, trace_id: &str) -> Vec<serde_json::Value> {
        let (status, body) = self.get(&format!("/api/v1/traces/{trace_id}")).await;
        assert_eq!(status, 200, "trace {trace_id}: {body}");
        body["spans"].as_array().cloned().unwrap_or_default()
    }

    /// GET an API path with query parameters (URL-encoded here), returning status and JSON.
    pub async fn get_params(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let url = reqwest::Url::parse_with_params(&format!("{}{path}", self.api), params)
            .expect("API URL");
        let resp = self.client.get(url).send().await.expect("GET");
        let status = resp.status().as_u16();
        let body = resp.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// GET an API path with query parameters and one header (a key), returning status,
    /// content type and the JSON body (panics on a body that is not JSON).
    pub async fn get_as(
        &self,
        path: &str,
        params: &[(&str, &str)],
        header: (&str, &str),
    ) -> (u16, String, serde_json::Value) {
        let (status, content_type, text) = self.get_text_as(path, params, header).await;
        let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
        (status, content_type, body)
    }

    /// GET an API path with query parameters and one header (a key), returning status,
    /// content type and the body as text.
    pub async fn get_text_as(
        &self,
        path: &str,
        params: &[(&str, &str)],
        header: (&str, &str),
    ) -> (u16, String, String) {
        let url = reqwest::Url::parse_with_params(&format!("{}{path}", self.api), params)
            .expect("API URL");
        let resp = self
            .client
            .get(url)
            .header(header.0, header.1)
            .send()
            .await
            .expect("GET");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, content_type, resp.text().await.expect("body"))
    }

    /// POST a raw body to an OTLP/HTTP endpoint (`/v1/traces`, `/v1/logs`).
    pub async fn post_otlp(
        &self,
        path: &str,
        content_type: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}{path}", self.http))
            .header("content-type", content_type)
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// POST a raw body to the OTLP/HTTP traces endpoint.
    pub async fn post_traces(
        &self,
        content_type: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> reqwest::Response {
        self.post_otlp("/v1/traces", content_type, headers, body)
            .await
    }

    /// POST `spans` of `service` as OTLP protobuf with a key header; asserts they are taken.
    pub async fn post_service_spans(&self, key: (&str, &str), service: &str, spans: Vec<OtlpSpan>) {
        let body = traces_export(vec![string_attr("service.name", service)], spans);
        let resp = self
            .post_traces(
                "application/x-protobuf",
                &[key],
                prost::Message::encode_to_vec(&body),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 200, "POST spans of {service}");
    }

    /// POST a raw body to the OTLP/HTTP logs endpoint.
    pub async fn post_logs(
        &self,
        content_type: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> reqwest::Response {
        self.post_otlp("/v1/logs", content_type, headers, body)
            .await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `script` with `python` and `args`, bounded in time, and returns the JSON object it
/// prints.
pub fn run_python(
    python: &str,
    script: &str,
    install_hint: &str,
    args: &[&str],
) -> serde_json::Value {
    let name = script.rsplit('/').next().unwrap_or(script);
    let mut child = Command::new(python)
        .arg(script)
        .args(args)
        // Exporter settings come from the arguments only, not from the environment.
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_HEADERS")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .env_remove("OTEL_SERVICE_NAME")
        .env("OTEL_SDK_DISABLED", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python} {script}: {e}; {install_hint}"));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for python3") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} {args:?} did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut stdout);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut stderr);
    }
    assert!(
        status.success(),
        "{name} {args:?} failed ({status}):\nstdout: {stdout}\nstderr: {stderr}"
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("{name} printed no JSON ({e}):\nstdout: {stdout}\nstderr: {stderr}")
    })
}

/// The shared folder beside the checkout (fixtures, reference).
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// The spans of an OTLP/JSON `TracesData` (`{"resourceSpans": [{"scopeSpans": [{"spans"}]}]}`).
pub fn otlp_json_spans(data: &serde_json::Value) -> Vec<&serde_json::Value> {
    data["resourceSpans"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["scopeSpans"].as_array().into_iter().flatten())
        .flat_map(|s| s["spans"].as_array().into_iter().flatten())
        .collect()
}

/// A string attribute, as OTLP carries it.
pub fn string_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// A traces export of `spans` from one resource with `resource_attributes` (one scope).
pub fn traces_export(
    resource_attributes: Vec<KeyValue>,
    spans: Vec<OtlpSpan>,
) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: resource_attributes,
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Now, in ns since the Unix epoch.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(0))
}

/// An OTLP/JSON resource of one service on its own host (`<service>-host`) with its spans.
pub fn service_resource(service: &str, spans: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": service}},
            {"key": "host.name", "value": {"stringValue": format!("{service}-host")}}
        ]},
        "scopeSpans": [{"spans": spans}]
    })
}

/// Stops a `tracehouse demo` with SIGTERM, checks that it exits cleanly and leaves nothing in
/// `tmp` (its TMPDIR: the temporary store, the browser's profile).
pub fn stop_demo(mut child: Child, tmp: &Path) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    assert!(status.success(), "demo stops cleanly: {status}");
    std::thread::sleep(Duration::from_millis(300));
    let left: Vec<_> = std::fs::read_dir(tmp)
        .expect("read temp")
        .map(|e| e.map(|e| e.file_name()))
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}
