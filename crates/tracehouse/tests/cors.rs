//! Browsers calling the OTLP/HTTP receiver: CORS preflights and actual requests from allowed
//! and refused origins (`--cors-origin` and its per-mode default), and public browser keys,
//! which write but cannot read. Real server, real HTTP.

use crate::common;

use common::TestServer;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

const SHOP: &str = "https://shop.example.com";
const EVIL: &str = "https://evil.example.com";

/// A one-span export with trace id `[trace; 16]`, its key (if any) in the resource.
fn export(trace: u8, key: Option<&str>) -> Vec<u8> {
    let mut attributes = vec![common::string_attr("service.name", "web")];
    attributes.extend(key.map(|k| common::string_attr("tracehouse.project", k)));
    let span = Span {
        trace_id: vec![trace; 16],
        span_id: vec![1; 8],
        name: "GET /cart".into(),
        kind: 3,
        start_time_unix_nano: 1_764_064_800_000_000_000,
        end_time_unix_nano: 1_764_064_800_000_001_000,
        ..Default::default()
    };
    common::traces_export(attributes, vec![span]).encode_to_vec()
}

/// The preflight a browser sends before posting OTLP protobuf with a key and trace context.
async fn preflight(s: &TestServer, path: &str, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}{path}", s.http))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,content-encoding,x-tracehouse-key,traceparent",
        )
        .send()
        .await
        .expect("OPTIONS")
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn allowed_origins_get_preflight_and_cors_answers_others_none() {
    let s = TestServer::start(&[
        "--project",
        "shop=secret",
        "--browser-key",
        "shop=pub-shop",
        "--cors-origin",
        &format!("{SHOP},http://localhost:5173"),
    ]);
    for path in ["/v1/traces", "/v1/logs"] {
        let resp = preflight(&s, path, SHOP).await;
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        assert_eq!(header(&resp, "access-control-allow-origin"), Some(SHOP));
        let methods = header(&resp, "access-control-allow-methods").unwrap_or_default();
        assert!(methods.contains("POST"), "{methods}");
        let allowed = header(&resp, "access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        for h in [
            "content-type",
            "content-encoding",
            "x-tracehouse-key",
            "authorization",
            "traceparent",
        ] {
            assert!(allowed.contains(h), "{h} not in {allowed}");
        }
        assert_eq!(header(&resp, "access-control-max-age"), Some("7200"));
        assert!(header(&resp, "access-control-allow-credentials").is_none());

        let refused = preflight(&s, path, EVIL).await;
        assert!(
            header(&refused, "access-control-allow-origin").is_none(),
            "{path}: a refused origin gets no CORS grant"
        );
    }

    // The actual request from the allowed origin, keyed with the browser key in the resource
    // (as the browser SDK sends it): stored, and readable by the page.
    let resp = s
        .post_traces(
            "application/x-protobuf",
            &[("origin", SHOP)],
            export(1, Some("pub-shop")),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "access-control-allow-origin"), Some(SHOP));
    let exposed = header(&resp, "access-control-expose-headers").unwrap_or_default();
    assert!(exposed.contains("retry-after"), "{exposed}");

    // From a refused origin the server answers without a grant: the browser hides the answer.
    let resp = s
        .post_traces(
            "application/x-protobuf",
            &[("origin", EVIL), ("x-tracehouse-key", "pub-shop")],
            export(2, None),
        )
        .await;
    assert!(header(&resp, "access-control-allow-origin").is_none());

    // The browser key wrote into its project, and cannot read it back; the project key can.
    let path = format!("/api/v1/traces/{}", hex::encode([1u8; 16]));
    let (status, body) = s.get_with_key(&path, Some("pub-shop")).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("browser key"), "{body}");
    let (status, body) = s.get_with_key(&path, Some("secret")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn default_origins_depend_on_the_mode() {
    // Keyed mode: no browser may send until origins are configured.
    let keyed = TestServer::start(&["--project", "shop=secret"]);
    let resp = preflight(&keyed, "/v1/traces", SHOP).await;
    assert!(header(&resp, "access-control-allow-origin").is_none());

    // Open single-project mode: any origin, as anyone can send there anyway.
    let open = TestServer::start(&[]);
    let resp = preflight(&open, "/v1/traces", EVIL).await;
    assert_eq!(header(&resp, "access-control-allow-origin"), Some("*"));
    let resp = open
        .post_traces("application/json", &[("origin", SHOP)], b"{}".to_vec())
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "access-control-allow-origin"), Some("*"));

    // `none` turns it off in open mode too.
    let off = TestServer::start(&["--cors-origin", "none"]);
    let resp = preflight(&off, "/v1/traces", SHOP).await;
    assert!(header(&resp, "access-control-allow-origin").is_none());
}
