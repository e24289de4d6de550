//! `tracehouse query`: run a search against a running server's API and print the matching
//! spans (or, with `--logs`, log records) as a table or as JSON lines.

use anyhow::Context;
use clap::Args;
use serde_json::Value;

use crate::cli::parse_duration;

/// Options of `tracehouse query`.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// The query, e.g. 'service:checkout duration>250ms' or '{service:frontend} >> {status_code:error}'.
    pub query: String,
    /// How far back to search (e.g. 15m, 1h, 7d).
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub since: String,
    /// Search log records instead of spans (a bare word matches the body; level:error).
    #[arg(long)]
    pub logs: bool,
    /// Maximum rows to print (1 to 1000).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Order: newest (default), time_asc, duration_desc or duration_asc (logs: the first two).
    #[arg(long, value_name = "ORDER")]
    pub sort: Option<String>,
    /// Print the rows as one JSON array (`[]` when nothing matches) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The server's API address.
    #[arg(
        long,
        env = "TRACEHOUSE_API",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    pub api: String,
    /// Project key, when the server has projects configured.
    #[arg(long, env = "TRACEHOUSE_KEY", value_name = "KEY")]
    pub key: Option<String>,
}

fn format_duration(ns: i64) -> String {
    match ns {
        n if n >= 1_000_000_000 => format!("{:.2}s", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.2}ms", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1}µs", n as f64 / 1e3),
        n => format!("{n}ns"),
    }
}

fn format_time(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns)
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string()
}

/// Renders an API error body, pointing at the offending part of the query when it says where.
fn explain_error(query: &str, body: &Value) -> String {
    let err = &body["error"];
    let message = err["message"].as_str().unwrap_or("request failed");
    match (err["start"].as_u64(), err["end"].as_u64()) {
        (Some(start), Some(end)) => {
            let start = start as usize;
            let width = (end as usize).saturating_sub(start).max(1);
            let pad: String = query
                .get(..start.min(query.len()))
                .unwrap_or("")
                .chars()
                .map(|_| ' ')
                .collect();
            let mut text = format!("{message}\n  {query}\n  {pad}{}", "^".repeat(width));
            if let Some(expected) = err["expected"].as_array().filter(|e| !e.is_empty()) {
                let list: Vec<&str> = expected.iter().filter_map(Value::as_str).collect();
                text.push_str(&format!("\n  expected: {}", list.join(", ")));
            }
            text
        }
        _ => message.to_string(),
    }
}

/// Runs the query and prints the result.
pub async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let since = parse_duration(&args.since).context("--since")?;
    let end = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
    let start = end - i64::try_from(since.as_nanos()).unwrap_or(i64::MAX);
    let mut params = vec![
        ("query", args.query.clone()),
        ("start", start.to_string()),
        ("end", end.to_string()),
        ("limit", args.limit.to_string()),
    ];
    if let Some(sort) = &args.sort {
        params.push(("sort", sort.clone()));
    }
    let (what, path) = if args.logs {
        ("log records", "logs")
    } else {
        ("spans", "spans")
    };
    let url = format!("{}/api/v1/{path}/search", args.api.trim_end_matches('/'));
    let mut request = reqwest::Client::new().get(&url).query(&params);
    if let Some(key) = &args.key {
        request = request.header("x-tracehouse-key", key);
    }
    let response = request.send().await.with_context(|| {
        format!(
            "cannot reach the tracehouse API at {} (is `tracehouse serve` running? set --api)",
            args.api
        )
    })?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .context("the API answered with something that is not JSON")?;
    if !status.is_success() {
        anyhow::bail!("{}", explain_error(&args.query, &body));
    }
    let rows = body[path].as_array().cloned().unwrap_or_default();
    if args.json {
        println!("{}", json_rows(&rows));
        return Ok(());
    }
    if rows.is_empty() {
        println!(
            "no {what} match in the last {} (try a wider --since)",
            args.since
        );
        return Ok(());
    }
    if args.logs {
        print_logs(&rows);
    } else {
        print_spans(&rows);
    }
    if body["next_cursor"].is_string() {
        println!("… more {what} match: raise --limit or narrow the query");
    }
    Ok(())
}

/// The `--json` output: a JSON array with one row per line, `[]` when empty.
fn json_rows(rows: &[Value]) -> String {
    if rows.is_empty() {
        return "[]".to_string();
    }
    let lines: Vec<String> = rows.iter().map(Value::to_string).collect();
    format!("[\n{}\n]", lines.join(",\n"))
}

/// The span table.
fn print_spans(spans: &[Value]) {
    println!(
        "{:<23}  {:<16}  {:<32}  {:>10}  {:<6}  TRACE",
        "TIME", "SERVICE", "SPAN", "DURATION", "STATUS"
    );
    for s in spans {
        let name: String = s["name"].as_str().unwrap_or("").chars().take(32).collect();
        println!(
            "{:<23}  {:<16}  {:<32}  {:>10}  {:<6}  {}",
            format_time(s["start_time_unix_nano"].as_i64().unwrap_or(0)),
            s["service_name"].as_str().unwrap_or(""),
            name,
            format_duration(s["duration_nanos"].as_i64().unwrap_or(0)),
            s["status_code"].as_str().unwrap_or(""),
            s["trace_id"].as_str().unwrap_or(""),
        );
    }
}

/// The log table: time, level, service, trace and the body's first line.
fn print_logs(logs: &[Value]) {
    println!(
        "{:<23}  {:<7}  {:<16}  {:<32}  BODY",
        "TIME", "LEVEL", "SERVICE", "TRACE"
    );
    for l in logs {
        let body = l["body"].as_str().unwrap_or("");
        println!(
            "{:<23}  {:<7}  {:<16}  {:<32}  {}",
            format_time(l["time_unix_nano"].as_i64().unwrap_or(0)),
            l["level"].as_str().unwrap_or(""),
            l["service_name"].as_str().unwrap_or(""),
            l["trace_id"].as_str().unwrap_or("-"),
            body.lines().next().unwrap_or(""),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(250), "250ns");
        assert_eq!(format_duration(1_500), "1.5µs");
        assert_eq!(format_duration(12_340_000), "12.34ms");
        assert_eq!(format_duration(2_000_000_000), "2.00s");
    }

    #[test]
    fn json_output_is_one_array() {
        assert_eq!(json_rows(&[]), "[]");
        let rows = [serde_json::json!({"a": 1}), serde_json::json!({"b": "x"})];
        let text = json_rows(&rows);
        assert_eq!(text, "[\n{\"a\":1},\n{\"b\":\"x\"}\n]");
        let back: Vec<Value> = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(back, rows);
    }

    #[test]
    fn errors_point_at_the_query() {
        let body = serde_json::json!({"error": {"message": "expected a value", "start": 8, "end": 9, "expected": ["value"]}});
        let text = explain_error("service:", &body);
        assert!(text.contains("  service:\n          ^"), "{text}");
        assert!(text.contains("expected: value"), "{text}");
    }
}
