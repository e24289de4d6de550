//! Saved views through the API: saved, listed, read by name, replaced and deleted; bad
//! bodies and names refused with a JSON 400; kept per project; durable across a restart.

use crate::common;

use common::TestServer;
use serde_json::{Value, json};

/// Sends `method` to an API path with a JSON body and a project key.
async fn send(
    s: &TestServer,
    method: &str,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", s.api))
        .header("x-tracehouse-key", key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn names(list: &Value) -> Vec<&str> {
    list["views"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn views_are_saved_per_project_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--project", "shop=shop-key", "--project", "blog=blog-key"];
    let mut s = TestServer::start_in(dir.path(), &args);
    let slow = json!({"query": "name:checkout duration>1s", "range": "24h", "columns": ["time", "duration", "attr:http.route"]});
    let (status, saved) = send(
        &s,
        "PUT",
        "/api/v1/views/slow%20checkouts",
        "shop-key",
        Some(slow),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["name"], "slow checkouts");
    assert_eq!(
        saved["columns"],
        json!(["time", "duration", "attr:http.route"])
    );
    assert!(saved["saved_ns"].as_i64().unwrap() > 0);
    let errors = json!({"query": "status:error", "start": "2026-11-25T10:00:00Z", "end": "2026-11-25T11:00:00Z"});
    assert_eq!(
        send(&s, "PUT", "/api/v1/views/errors", "shop-key", Some(errors))
            .await
            .0,
        200
    );
    // Saving a name again replaces the view.
    let replaced = json!({"query": "name:checkout duration>2s", "range": "1h"});
    assert_eq!(
        send(
            &s,
            "PUT",
            "/api/v1/views/slow%20checkouts",
            "shop-key",
            Some(replaced)
        )
        .await
        .0,
        200
    );

    let (status, list) = send(&s, "GET", "/api/v1/views", "shop-key", None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(names(&list), ["errors", "slow checkouts"]);
    let (status, one) = send(
        &s,
        "GET",
        "/api/v1/views/slow%20checkouts",
        "shop-key",
        None,
    )
    .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(
        (one["query"].as_str(), one["range"].as_str()),
        (Some("name:checkout duration>2s"), Some("1h"))
    );
    // Another project sees none of them.
    let (_, other) = send(&s, "GET", "/api/v1/views", "blog-key", None).await;
    assert_eq!(names(&other), Vec::<&str>::new());
    assert_eq!(
        send(&s, "GET", "/api/v1/views/errors", "blog-key", None)
            .await
            .0,
        404
    );
    assert_eq!(
        send(&s, "DELETE", "/api/v1/views/errors", "blog-key", None)
            .await
            .0,
        404
    );

    // Bad input: precise 400s in the JSON error shape.
    let long = format!("/api/v1/views/{}", "n".repeat(201));
    for (path, body, needle) in [
        (long.as_str(), json!({}), "name"),
        ("/api/v1/views/x", json!({"query": 5}), "query"),
        ("/api/v1/views/x", json!({"qurey": "typo"}), "qurey"),
        (
            "/api/v1/views/x",
            json!({"columns": vec!["c"; 65]}),
            "columns",
        ),
    ] {
        let (status, err) = send(&s, "PUT", path, "shop-key", Some(body)).await;
        assert_eq!(status, 400, "{path}: {err}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(needle),
            "{err}"
        );
    }
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/views/x", s.api))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET,HEAD,PUT,DELETE");

    // Durable: a restart keeps them; a deletion too.
    assert!(s.terminate());
    let s = TestServer::start_in(dir.path(), &args);
    let (_, list) = send(&s, "GET", "/api/v1/views", "shop-key", None).await;
    assert_eq!(names(&list), ["errors", "slow checkouts"]);
    assert_eq!(
        send(&s, "DELETE", "/api/v1/views/errors", "shop-key", None)
            .await
            .0,
        204
    );
    assert_eq!(
        send(&s, "DELETE", "/api/v1/views/errors", "shop-key", None)
            .await
            .0,
        404
    );
    let (_, list) = send(&s, "GET", "/api/v1/views", "shop-key", None).await;
    assert_eq!(names(&list), ["slow checkouts"]);
}
