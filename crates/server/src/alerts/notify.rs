//! Notifications: the generic webhook body ([`AlertNotification`], in the OpenAPI document),
//! the Slack incoming-webhook body, and their delivery: a POST with a timeout, retried with
//! doubling backoff on a timeout, a connection failure or a 5xx, the outcome recorded in the
//! rule's history. Each delivery runs on its own task, so a slow receiver delays nobody;
//! at shutdown the server waits for the deliveries in flight (at most as long as one
//! delivery can take).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use tracehouse_store_api::alerts::{
    AlertChannel, AlertEventKind, AlertFunction, AlertLink, AlertSource, AlertStatus, ChannelKind,
    Comparison,
};
use tracehouse_store_api::{AlertEvent, AlertRule, Store};
use utoipa::ToSchema;

use super::transition::Notice;

/// How notifications are delivered.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Longest one attempt may take.
    pub timeout: Duration,
    /// Attempts per notification (at least 1).
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each next one.
    pub backoff: Duration,
    /// The UI's address as people reach it (links in notifications), no trailing slash.
    pub public_url: String,
    /// The deliveries in flight.
    pub in_flight: InFlight,
}

impl Delivery {
    /// The longest one notification's delivery takes: every attempt timing out, with the
    /// waits between them.
    pub fn longest(&self) -> Duration {
        let attempts = self.attempts.max(1);
        let waits = self
            .backoff
            .saturating_mul(2u32.saturating_pow(attempts - 1));
        self.timeout.saturating_mul(attempts).saturating_add(waits)
    }
}

/// The rule a notification is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotifiedRule {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it reads.
    pub source: AlertSource,
    /// Its query.
    pub query: String,
    /// Its function.
    pub function: AlertFunction,
    /// How the value is compared.
    pub comparison: Comparison,
    /// The threshold.
    pub threshold: f64,
    /// Its window, s.
    pub window_s: i64,
    /// Its `by` key (empty: none).
    pub by: String,
}

/// The JSON body POSTed to a `webhook` channel when a group fires or resolves.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertNotification {
    /// The body's version: 1.
    pub version: u32,
    /// `firing` or `resolved`.
    pub status: AlertStatus,
    /// The project.
    pub project: String,
    /// The rule.
    pub rule: NotifiedRule,
    /// The `by` value (empty without `by`; the fingerprint for `new_error_group`).
    pub group: String,
    /// The value that fired or resolved it (null when undefined).
    pub value: Option<f64>,
    /// When, ns.
    pub at_ns: i64,
    /// The data behind it.
    pub link: AlertLink,
    /// The UI's search of that data.
    pub url: String,
}

impl AlertNotification {
    /// The body of a notice.
    pub fn new(project: &str, rule: &AlertRule, notice: &Notice, public_url: &str) -> Self {
        let link = notice.event.link.clone().unwrap_or(AlertLink {
            source: rule.source,
            query: rule.query.clone(),
            start_ns: notice.event.at_ns,
            end_ns: notice.event.at_ns,
        });
        AlertNotification {
            version: 1,
            status: notice.group.status,
            project: project.to_string(),
            rule: NotifiedRule {
                id: rule.id.clone(),
                name: rule.name.clone(),
                source: rule.source,
                query: rule.query.clone(),
                function: rule.function,
                comparison: rule.comparison,
                threshold: rule.threshold,
                window_s: rule.window_s,
                by: rule.by.clone(),
            },
            group: notice.group.group.clone(),
            value: notice.group.value,
            at_ns: notice.event.at_ns,
            url: ui_url(public_url, &link),
            link,
        }
    }

    /// The Slack incoming-webhook body: a `text` (what notifications show) and the same as
    /// a section block.
    pub fn slack(&self) -> Value {
        let status = match self.status {
            AlertStatus::Firing => "FIRING",
            _ => "RESOLVED",
        };
        let group = if self.group.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.group)
        };
        let value = self
            .value
            .map_or_else(|| "no value".to_string(), |v| format!("{v}"));
        let function = serde_json::to_value(self.rule.function).unwrap_or(Value::Null);
        let text = format!(
            "[{status}] {}{group}: {} {value} {} {} over {} s. <{}|Open the data>",
            self.rule.name,
            function.as_str().unwrap_or_default(),
            self.rule.comparison.symbol(),
            self.rule.threshold,
            self.rule.window_s,
            self.url,
        );
        json!({
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        })
    }
}

/// The UI page showing a link's data.
fn ui_url(public_url: &str, link: &AlertLink) -> String {
    let page = match link.source {
        AlertSource::Spans => "/?query=",
        AlertSource::Logs => "/logs?query=",
        AlertSource::Errors => "/errors?text=",
    };
    let query = form_urlencoded(&link.query);
    format!(
        "{public_url}{page}{query}&start={}&end={}",
        link.start_ns, link.end_ns
    )
}

/// Percent-encodes a query parameter's value.
fn form_urlencoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Counts the deliveries in flight, so that shutdown can let them finish.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<AtomicUsize>);

/// One delivery in flight, counted until dropped.
struct Flying(Arc<AtomicUsize>);

impl Drop for Flying {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl InFlight {
    fn start(&self) -> Flying {
        self.0.fetch_add(1, Ordering::SeqCst);
        Flying(self.0.clone())
    }

    /// Waits until no delivery is in flight, or `limit` passed.
    pub async fn drained(&self, limit: Duration) {
        let until = tokio::time::Instant::now() + limit;
        while self.0.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Delivers a notice to every channel of the rule, each on its own task, recording each
/// outcome in the rule's history.
pub fn send(
    store: Arc<dyn Store>,
    client: reqwest::Client,
    delivery: Arc<Delivery>,
    project: String,
    rule: &AlertRule,
    notice: &Notice,
) {
    let body = AlertNotification::new(&project, rule, notice, &delivery.public_url);
    for channel in rule.channels.clone() {
        let (store, client, delivery, project, body) = (
            store.clone(),
            client.clone(),
            delivery.clone(),
            project.clone(),
            body.clone(),
        );
        let event = notice.event.clone();
        let flying = delivery.in_flight.start();
        tokio::spawn(async move {
            let _flying = flying;
            let payload = match channel.kind {
                ChannelKind::Webhook => serde_json::to_value(&body).unwrap_or(Value::Null),
                ChannelKind::Slack => body.slack(),
            };
            let (attempts, failure) = post(&client, &delivery, &channel, &payload).await;
            let record = delivered(event, &channel, attempts, failure);
            if let Err(e) = store.add_alert_events(&project, vec![record]).await {
                tracing::warn!(error = %e, "cannot record an alert delivery");
            }
        });
    }
}

/// POSTs `payload` until it is accepted or the attempts are spent: the attempts made and
/// the last failure.
async fn post(
    client: &reqwest::Client,
    delivery: &Delivery,
    channel: &AlertChannel,
    payload: &Value,
) -> (u32, Option<String>) {
    let mut wait = delivery.backoff;
    let attempts = delivery.attempts.max(1);
    let mut failure = None;
    for attempt in 1..=attempts {
        let sent = client
            .post(&channel.url)
            .timeout(delivery.timeout)
            .json(payload)
            .send()
            .await;
        let retry = match sent {
            Ok(r) if r.status().is_success() => return (attempt, None),
            Ok(r) => {
                failure = Some(format!("answered {}", r.status()));
                r.status().is_server_error() || r.status().as_u16() == 429
            }
            Err(e) if e.is_timeout() => {
                failure = Some(format!("no answer within {:?}", delivery.timeout));
                true
            }
            Err(e) => {
                failure = Some(format!("cannot send: {e}"));
                e.is_connect() || e.is_request()
            }
        };
        if !retry {
            return (attempt, failure);
        }
        if attempt < attempts {
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
    }
    (attempts, failure)
}

/// The history entry of a delivery.
fn delivered(
    event: AlertEvent,
    channel: &AlertChannel,
    attempts: u32,
    failure: Option<String>,
) -> AlertEvent {
    AlertEvent {
        kind: AlertEventKind::Delivery,
        from: None,
        channel: Some(channel.url.clone()),
        delivered: Some(failure.is_none()),
        attempts: Some(attempts),
        message: failure,
        ..event
    }
}

#[cfg(test)]
mod tests {
    use tracehouse_store_api::testsuite::alerts::{event, rule, state};

    use super::*;

    #[test]
    fn the_bodies_say_what_fired_and_link_to_the_data() {
        let notice = Notice {
            group: state("a").groups[0].clone(),
            event: event("a", 600_000_000_000),
        };
        let body = AlertNotification::new("shop", &rule("a"), &notice, "http://th:8080");
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["status"], "firing");
        assert_eq!(json["rule"]["function"], "error_rate");
        assert_eq!(json["rule"]["comparison"], ">");
        assert_eq!(json["group"], "POST /pay");
        assert_eq!(
            json["url"],
            "http://th:8080/?query=service%3Acheckout%20name%3A%22POST%20%2Fpay%22&start=300000000000&end=600000000000"
        );
        let slack = body.slack();
        let text = slack["text"].as_str().unwrap();
        assert!(
            text.starts_with("[FIRING] errors a (POST /pay): error_rate 0.25 > 0.05 over 300 s."),
            "{text}"
        );
        assert_eq!(slack["blocks"][0]["text"]["text"], text);
    }

    /// An `https://` channel is spoken to in TLS: the receiver's first bytes are a TLS
    /// handshake record (Slack's incoming webhooks and most receivers are HTTPS only).
    #[tokio::test]
    async fn https_channels_are_reached_over_tls() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = std::thread::spawn(move || {
            use std::io::Read;
            let (mut conn, _) = listener.accept().unwrap();
            let mut first = [0_u8; 3];
            conn.read_exact(&mut first).ok().map(|()| first)
        });
        let delivery = Delivery {
            timeout: Duration::from_secs(5),
            attempts: 1,
            backoff: Duration::from_millis(1),
            public_url: "http://th:8080".into(),
            in_flight: InFlight::default(),
        };
        let channel = AlertChannel {
            kind: ChannelKind::Webhook,
            url: format!("https://127.0.0.1:{port}/hook"),
        };
        let client = reqwest::Client::new();
        let (attempts, failure) = post(&client, &delivery, &channel, &Value::Null).await;
        assert_eq!(attempts, 1);
        assert!(failure.is_some(), "the receiver speaks no TLS back");
        // Unblocks the receiver if the client never connected (it then reads nothing).
        let _ = std::net::TcpStream::connect(("127.0.0.1", port));
        let first = receiver
            .join()
            .unwrap()
            .expect("the client connected and wrote");
        // A TLS record of type handshake (22), protocol major version 3.
        assert_eq!(first[..2], [22, 3]);
    }
}
