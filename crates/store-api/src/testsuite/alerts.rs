//! The alerts suite: rules saved, replaced, listed by id and deleted (with their state),
//! states replaced, histories appended and read newest first, the bounds of
//! [`crate::alerts`], and projects kept apart. Run by the embedded store in
//! `crates/engine/tests/embedded.rs` (also across a reopen) and by ClickHouse (through chDB)
//! in `crates/clickhouse/tests/correlate.rs`.

use crate::alerts::{
    AlertChannel, AlertEventKind, AlertFunction, AlertGroupState, AlertLink, AlertSource,
    AlertStatus, ChannelKind, Comparison,
};
use crate::{AlertEvent, AlertRule, AlertState, Store, StoreError};

/// The project the suite writes; [`OTHER`] must never see its alerts.
pub const PROJECT: &str = "alerts-p";
/// A second project.
pub const OTHER: &str = "alerts-q";

/// An error-rate rule of id `id` over spans.
pub fn rule(id: &str) -> AlertRule {
    AlertRule {
        id: id.into(),
        name: format!("errors {id}"),
        source: AlertSource::Spans,
        query: "service:checkout".into(),
        function: AlertFunction::ErrorRate,
        window_s: 300,
        threshold: 0.05,
        comparison: Comparison::Above,
        interval_s: 60,
        for_s: 0,
        by: "name".into(),
        cooldown_s: 600,
        channels: vec![AlertChannel {
            kind: ChannelKind::Webhook,
            url: "http://hooks.example.com/alerts".into(),
        }],
        saved_ns: 1_700_000_000_000_000_000,
    }
}

/// A state of rule `id` with one firing group.
pub fn state(id: &str) -> AlertState {
    AlertState {
        rule_id: id.into(),
        evaluated_ns: 1_700_000_060_000_000_000,
        error: None,
        groups: vec![AlertGroupState {
            group: "POST /pay".into(),
            status: AlertStatus::Firing,
            since_ns: 1_700_000_000_000_000_000,
            value: Some(0.25),
            notified_ns: Some(1_700_000_000_000_000_000),
            notified: true,
        }],
    }
}

/// A state change of rule `id` at `at_ns`.
pub fn event(id: &str, at_ns: i64) -> AlertEvent {
    AlertEvent {
        rule_id: id.into(),
        at_ns,
        kind: AlertEventKind::State,
        group: "POST /pay".into(),
        from: Some(AlertStatus::Ok),
        to: Some(AlertStatus::Firing),
        value: Some(0.25),
        link: Some(AlertLink {
            source: AlertSource::Spans,
            query: "service:checkout name:\"POST /pay\"".into(),
            start_ns: at_ns - 300_000_000_000,
            end_ns: at_ns,
        }),
        channel: None,
        delivered: None,
        attempts: None,
        message: None,
    }
}

/// Saves, replaces and deletes rules, states and history of [`PROJECT`] and [`OTHER`],
/// checking every answer; leaves [`PROJECT`] as [`check`] expects.
pub async fn run(store: &dyn Store) {
    assert_eq!(store.alert_rules(PROJECT).await.unwrap(), vec![]);
    for id in ["a", "b", "gone"] {
        store.save_alert_rule(PROJECT, rule(id)).await.unwrap();
    }
    store.save_alert_rule(OTHER, rule("a")).await.unwrap();
    store.save_alert_rule(PROJECT, replaced()).await.unwrap();
    store.put_alert_state(PROJECT, state("a")).await.unwrap();
    store.put_alert_state(PROJECT, state("gone")).await.unwrap();
    store.put_alert_state(PROJECT, state("b")).await.unwrap();
    store
        .put_alert_state(
            PROJECT,
            AlertState {
                groups: vec![],
                ..state("b")
            },
        )
        .await
        .unwrap();
    store
        .add_alert_events(PROJECT, vec![event("a", 1), event("b", 2)])
        .await
        .unwrap();
    store
        .add_alert_events(PROJECT, vec![event("a", 3)])
        .await
        .unwrap();
    assert!(store.delete_alert_rule(PROJECT, "gone").await.unwrap());
    assert!(!store.delete_alert_rule(PROJECT, "gone").await.unwrap());
    assert!(!store.delete_alert_rule(OTHER, "b").await.unwrap());
    let refused = store
        .save_alert_rule(
            PROJECT,
            AlertRule {
                window_s: 0,
                ..rule("bad")
            },
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::InvalidArgument(_))),
        "{refused:?}"
    );
    check(store).await;
    assert_eq!(store.alert_rules(OTHER).await.unwrap(), vec![rule("a")]);
    assert_eq!(store.alert_states(OTHER).await.unwrap(), vec![]);
    assert_eq!(store.alert_history(OTHER, "a", 10).await.unwrap(), vec![]);
}

/// Rule `b` as [`run`] replaces it.
fn replaced() -> AlertRule {
    AlertRule {
        threshold: 0.5,
        by: String::new(),
        ..rule("b")
    }
}

/// Checks that [`PROJECT`] holds what [`run`] left (for instance after a restart).
pub async fn check(store: &dyn Store) {
    assert_eq!(
        store.alert_rules(PROJECT).await.unwrap(),
        vec![rule("a"), replaced()]
    );
    let empty_b = AlertState {
        groups: vec![],
        ..state("b")
    };
    assert_eq!(
        store.alert_states(PROJECT).await.unwrap(),
        vec![state("a"), empty_b]
    );
    assert_eq!(
        store.alert_history(PROJECT, "a", 10).await.unwrap(),
        vec![event("a", 3), event("a", 1)]
    );
    assert_eq!(
        store.alert_history(PROJECT, "a", 1).await.unwrap(),
        vec![event("a", 3)]
    );
    assert_eq!(
        store.alert_history(PROJECT, "b", 10).await.unwrap(),
        vec![event("b", 2)]
    );
}
