//! Alerts: rules over spans, log records or error occurrences that a server evaluates on an
//! interval, their state (per `by` group: ok → pending → firing → resolved) and their
//! history (state changes and notification deliveries), kept by the store so that all
//! three survive restarts. The bounds are here, once: [`AlertRule::check`], which
//! `Store::save_alert_rule` applies before a backend's `put_alert_rule`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::StoreError;

/// Most rules one project keeps.
pub const MAX_RULES_PER_PROJECT: usize = 200;
/// Longest rule name, in bytes.
pub const MAX_NAME_LEN: usize = 200;
/// Longest rule query, in bytes.
pub const MAX_QUERY_LEN: usize = 10_000;
/// Longest window, in seconds (one day).
pub const MAX_WINDOW_S: i64 = 86_400;
/// Most channels of a rule.
pub const MAX_CHANNELS: usize = 10;
/// Longest channel URL, in bytes.
pub const MAX_URL_LEN: usize = 2_000;
/// History entries a store keeps per rule (the oldest go first).
pub const MAX_HISTORY_PER_RULE: usize = 500;

/// What a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertSource {
    /// Spans matching the query (the tracehouse query language, plain or structural).
    Spans,
    /// Log records matching the query (the tracehouse query language on logs).
    Logs,
    /// Error occurrences whose type or message contains the query text (empty: all).
    Errors,
}

/// What a rule computes over its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertFunction {
    /// Matching spans, log records or error occurrences.
    Count,
    /// Matches per second.
    Rate,
    /// Spans with an error, or log records at level error or above, as a fraction of all
    /// matches (0 to 1).
    ErrorRate,
    /// The 50th percentile of span durations, in ms.
    P50,
    /// The 75th percentile of span durations, in ms.
    P75,
    /// The 90th percentile of span durations, in ms.
    P90,
    /// The 95th percentile of span durations, in ms.
    P95,
    /// The 99th percentile of span durations, in ms.
    P99,
    /// Error groups first seen in the window (errors only): each new group is its own
    /// alert group, with its occurrences as the value.
    NewErrorGroup,
}

impl AlertFunction {
    /// The percentile (0 to 1) of a duration function.
    pub fn quantile(self) -> Option<f64> {
        match self {
            AlertFunction::P50 => Some(0.5),
            AlertFunction::P75 => Some(0.75),
            AlertFunction::P90 => Some(0.9),
            AlertFunction::P95 => Some(0.95),
            AlertFunction::P99 => Some(0.99),
            _ => None,
        }
    }
}

/// How a value is compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Comparison {
    /// Above the threshold.
    #[serde(rename = ">")]
    Above,
    /// At or above the threshold.
    #[serde(rename = ">=")]
    AtLeast,
    /// Below the threshold.
    #[serde(rename = "<")]
    Below,
    /// At or below the threshold.
    #[serde(rename = "<=")]
    AtMost,
}

impl Comparison {
    /// Whether `value` breaches `threshold`.
    pub fn breached(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Above => value > threshold,
            Comparison::AtLeast => value >= threshold,
            Comparison::Below => value < threshold,
            Comparison::AtMost => value <= threshold,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Above => ">",
            Comparison::AtLeast => ">=",
            Comparison::Below => "<",
            Comparison::AtMost => "<=",
        }
    }
}

/// The shape a channel's notifications take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// The generic JSON body (`AlertNotification`).
    Webhook,
    /// A Slack incoming-webhook body (`{"text": …, "blocks": […]}`).
    Slack,
}

/// Where a rule's notifications go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertChannel {
    /// The body's shape.
    pub kind: ChannelKind,
    /// An `http://` or `https://` URL the body is POSTed to.
    pub url: String,
}

/// An alert rule of one project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertRule {
    /// The rule's id (set by the server).
    pub id: String,
    /// A name for people (1 to 200 bytes, no control characters).
    pub name: String,
    /// What the rule reads.
    pub source: AlertSource,
    /// The query: the tracehouse query language for spans and logs, a text filter for
    /// errors; empty matches everything.
    #[serde(default)]
    #[schema(required = true)]
    pub query: String,
    /// What is computed over the window.
    pub function: AlertFunction,
    /// The window the function reads, in seconds before each evaluation (1 to 86400).
    pub window_s: i64,
    /// The value compared with.
    pub threshold: f64,
    /// How the value is compared with the threshold.
    pub comparison: Comparison,
    /// Seconds between evaluations (at least 1).
    pub interval_s: i64,
    /// Seconds a breach must last before the rule fires (0: at once); until then it is
    /// pending.
    #[serde(default)]
    #[schema(required = true)]
    pub for_s: i64,
    /// A key to split by (spans only: any key of the query language, e.g. `service`): each
    /// value alerts on its own. Empty: one group.
    #[serde(default)]
    #[schema(required = true)]
    pub by: String,
    /// Seconds after a firing notification during which the same group's next firing is
    /// not notified (0: every firing is).
    #[serde(default)]
    #[schema(required = true)]
    pub cooldown_s: i64,
    /// Where notifications go.
    #[serde(default)]
    #[schema(required = true)]
    pub channels: Vec<AlertChannel>,
    /// When the rule was saved, ns (set by the server).
    #[serde(default)]
    #[schema(required = true)]
    pub saved_ns: i64,
}

impl AlertRule {
    /// Refuses a rule outside the bounds, saying which field and why. (The query itself is
    /// parsed by the server, which answers a parse error with its position.)
    pub fn check(&self) -> Result<(), StoreError> {
        let bad = |m: String| Err(StoreError::InvalidArgument(m));
        if self.name.trim().is_empty() || self.name.len() > MAX_NAME_LEN {
            return bad(format!("an alert name has 1 to {MAX_NAME_LEN} bytes"));
        }
        if self.name.chars().any(char::is_control) {
            return bad("an alert name has no control characters".into());
        }
        if self.query.len() > MAX_QUERY_LEN {
            return bad(format!(
                "an alert's query has at most {MAX_QUERY_LEN} bytes"
            ));
        }
        if !(1..=MAX_WINDOW_S).contains(&self.window_s) {
            return bad(format!(
                "window_s must be between 1 and {MAX_WINDOW_S} seconds, not {}",
                self.window_s
            ));
        }
        if !(1..=MAX_WINDOW_S).contains(&self.interval_s) {
            return bad(format!(
                "interval_s must be between 1 and {MAX_WINDOW_S} seconds, not {}",
                self.interval_s
            ));
        }
        for (name, v) in [("for_s", self.for_s), ("cooldown_s", self.cooldown_s)] {
            if !(0..=MAX_WINDOW_S).contains(&v) {
                return bad(format!(
                    "{name} must be between 0 and {MAX_WINDOW_S} seconds, not {v}"
                ));
            }
        }
        if !self.threshold.is_finite() {
            return bad("threshold must be a finite number".into());
        }
        self.check_function()?;
        if self.channels.len() > MAX_CHANNELS {
            return bad(format!("an alert has at most {MAX_CHANNELS} channels"));
        }
        self.channels.iter().try_for_each(check_url)
    }

    /// Refuses a function the source has no value for, and `by` outside spans.
    fn check_function(&self) -> Result<(), StoreError> {
        use AlertFunction as F;
        let fits = match self.source {
            AlertSource::Spans => !matches!(self.function, F::NewErrorGroup),
            AlertSource::Logs => matches!(self.function, F::Count | F::Rate | F::ErrorRate),
            AlertSource::Errors => matches!(self.function, F::Count | F::Rate | F::NewErrorGroup),
        };
        if !fits {
            return Err(StoreError::InvalidArgument(format!(
                "function {} does not apply to {}: spans take count, rate, error_rate and \
                 p50 to p99; logs count, rate and error_rate; errors count, rate and \
                 new_error_group",
                json_name(&self.function),
                json_name(&self.source),
            )));
        }
        if !self.by.is_empty() && self.source != AlertSource::Spans {
            return Err(StoreError::InvalidArgument(
                "by splits span rules only; leave it empty for logs and errors".into(),
            ));
        }
        Ok(())
    }
}

/// How a value reads in JSON (`error_rate`, `spans`).
fn json_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Refuses a channel URL that is not `http://` or `https://` with a host.
fn check_url(channel: &AlertChannel) -> Result<(), StoreError> {
    let url = channel.url.as_str();
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    match host {
        _ if url.len() > MAX_URL_LEN => Err(StoreError::InvalidArgument(format!(
            "a channel URL has at most {MAX_URL_LEN} bytes"
        ))),
        Some(h) if !h.is_empty() && !url.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            Ok(())
        }
        Some(_) => Err(StoreError::InvalidArgument(format!(
            "channel URL {url:?} has no host (or has spaces)"
        ))),
        None => Err(StoreError::InvalidArgument(format!(
            "channel URL {url:?} must start with http:// or https://"
        ))),
    }
}

/// Refuses a new rule when the project already keeps [`MAX_RULES_PER_PROJECT`] rules.
pub fn check_room(existing: &[AlertRule], id: &str) -> Result<(), StoreError> {
    if existing.len() >= MAX_RULES_PER_PROJECT && !existing.iter().any(|r| r.id == id) {
        return Err(StoreError::InvalidArgument(format!(
            "a project keeps at most {MAX_RULES_PER_PROJECT} alert rules: delete one first"
        )));
    }
    Ok(())
}

/// Where an alert group stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// Not breaching.
    Ok,
    /// Breaching for less than the rule's `for_s`.
    Pending,
    /// Breaching for at least `for_s`.
    Firing,
    /// Was firing, not breaching any more.
    Resolved,
}

/// One group of a rule (one value of its `by` key, or the whole rule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertGroupState {
    /// The `by` key's value (empty for a rule without `by`; the fingerprint for
    /// `new_error_group`).
    pub group: String,
    /// Where it stands.
    pub status: AlertStatus,
    /// Since when, ns.
    pub since_ns: i64,
    /// The value at the last evaluation (null when undefined, e.g. no spans).
    pub value: Option<f64>,
    /// When the last firing notification was sent, ns (for the cooldown).
    pub notified_ns: Option<i64>,
    /// Whether the current firing was notified (a resolution is notified only then).
    pub notified: bool,
}

/// Where a rule stands after its last evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertState {
    /// The rule.
    pub rule_id: String,
    /// When it was last evaluated, ns.
    pub evaluated_ns: i64,
    /// Why the last evaluation failed, or null.
    pub error: Option<String>,
    /// Its groups that are not ok.
    pub groups: Vec<AlertGroupState>,
}

/// Where the data behind an alert is: the search the UI opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertLink {
    /// What to search.
    pub source: AlertSource,
    /// The query (with the group's `by` value added).
    pub query: String,
    /// Window start, ns.
    pub start_ns: i64,
    /// Window end, ns.
    pub end_ns: i64,
}

/// What a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertEventKind {
    /// A group changed state.
    State,
    /// A notification was delivered, or failed after its retries.
    Delivery,
    /// A notification was not sent: the group is in its cooldown.
    Suppressed,
    /// An evaluation failed.
    Failure,
}

/// One entry of a rule's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertEvent {
    /// The rule.
    pub rule_id: String,
    /// When, ns.
    pub at_ns: i64,
    /// What happened.
    pub kind: AlertEventKind,
    /// The group.
    pub group: String,
    /// The state it left (state entries).
    pub from: Option<AlertStatus>,
    /// The state it entered (state entries), or that was notified (deliveries).
    pub to: Option<AlertStatus>,
    /// The value at the time.
    pub value: Option<f64>,
    /// The data behind it.
    pub link: Option<AlertLink>,
    /// The channel's URL (deliveries).
    pub channel: Option<String>,
    /// Whether delivery succeeded (deliveries).
    pub delivered: Option<bool>,
    /// Delivery attempts made (deliveries).
    pub attempts: Option<u32>,
    /// Details: a delivery's last failure, an evaluation's error.
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> AlertRule {
        AlertRule {
            id: "r1".into(),
            name: "errors".into(),
            source: AlertSource::Spans,
            query: "service:web".into(),
            function: AlertFunction::ErrorRate,
            window_s: 60,
            threshold: 0.1,
            comparison: Comparison::Above,
            interval_s: 10,
            for_s: 0,
            by: String::new(),
            cooldown_s: 0,
            channels: vec![AlertChannel {
                kind: ChannelKind::Webhook,
                url: "https://hooks.example.com/a".into(),
            }],
            saved_ns: 1,
        }
    }

    fn refusal(r: AlertRule) -> String {
        match r.check() {
            Err(StoreError::InvalidArgument(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bounds_are_checked_with_what_is_wrong() {
        assert!(rule().check().is_ok());
        let url = |u: &str| AlertRule {
            channels: vec![AlertChannel {
                kind: ChannelKind::Slack,
                url: u.into(),
            }],
            ..rule()
        };
        assert!(refusal(url("ftp://x/y")).contains("http:// or https://"));
        assert!(refusal(url("http:///y")).contains("no host"));
        assert!(
            refusal(AlertRule {
                window_s: 0,
                ..rule()
            })
            .contains("window_s")
        );
        assert!(
            refusal(AlertRule {
                window_s: -5,
                ..rule()
            })
            .contains("not -5")
        );
        assert!(
            refusal(AlertRule {
                name: " ".into(),
                ..rule()
            })
            .contains("name")
        );
        assert!(
            refusal(AlertRule {
                source: AlertSource::Logs,
                function: AlertFunction::P95,
                ..rule()
            })
            .contains("p95 does not apply to logs")
        );
        assert!(
            refusal(AlertRule {
                source: AlertSource::Errors,
                function: AlertFunction::Count,
                by: "service".into(),
                ..rule()
            })
            .contains("by splits span rules only")
        );
        assert!(
            refusal(AlertRule {
                threshold: f64::NAN,
                ..rule()
            })
            .contains("finite")
        );
    }

    #[test]
    fn comparisons_and_names_read_as_written() {
        assert!(Comparison::Above.breached(2.0, 1.0));
        assert!(!Comparison::Above.breached(1.0, 1.0));
        assert!(Comparison::AtMost.breached(1.0, 1.0));
        assert_eq!(
            serde_json::to_string(&Comparison::AtLeast).unwrap(),
            "\">=\""
        );
        assert_eq!(json_name(&AlertFunction::NewErrorGroup), "new_error_group");
        assert_eq!(AlertFunction::P90.quantile(), Some(0.9));
    }

    #[test]
    fn a_full_project_only_replaces() {
        let full: Vec<AlertRule> = (0..MAX_RULES_PER_PROJECT)
            .map(|i| AlertRule {
                id: i.to_string(),
                ..rule()
            })
            .collect();
        assert!(check_room(&full, "7").is_ok());
        assert!(check_room(&full, "new").is_err());
    }
}
