//! The evaluator: one tokio task that, every tick, renews the evaluation lease and starts
//! each due rule (its interval passed since its last evaluation) on a task of its own, so a
//! slow or failing rule never holds up another; a rule still being evaluated is not started
//! again. An evaluation measures under a deadline, applies the state machine, stores the
//! state and history, and only then hands notifications to their delivery tasks: a restart
//! resumes from the stored state without notifying twice.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tracehouse_store_api::alerts::AlertEventKind;
use tracehouse_store_api::{AlertEvent, AlertRule, AlertState, Store, StoreError};

use super::measure::measure;
use super::notify::{Delivery, send};
use super::transition::apply;
use crate::time::now_ns;

/// A rule of a project.
type RuleKey = (String, String);

/// The evaluator of every project's rules.
pub struct Evaluator {
    /// Where rules, data, state and history are.
    pub store: Arc<dyn Store>,
    /// The projects whose rules run.
    pub projects: Vec<String>,
    /// How notifications are delivered.
    pub delivery: Arc<Delivery>,
    /// How often due rules are looked for and the lease renewed.
    pub tick: Duration,
    /// How long the lease lasts unrenewed.
    pub lease_ttl: Duration,
    /// Longest one rule's measurement may take.
    pub deadline: Duration,
    /// This server's name in the lease.
    pub holder: String,
}

impl Evaluator {
    /// Runs until `shutdown` turns true, then waits for the evaluations and deliveries in
    /// flight.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let client = reqwest::Client::new();
        let running: Arc<Mutex<HashSet<RuleKey>>> = Arc::default();
        let mut last: HashMap<RuleKey, i64> = HashMap::new();
        let mut ticks = tokio::time::interval(self.tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = shutdown.changed() => break,
            }
            if let Err(e) = self.round(&client, &running, &mut last).await {
                tracing::warn!(error = %e, "alert evaluation round failed");
            }
        }
        // Let evaluations store their outcome and deliveries finish.
        let until = tokio::time::Instant::now() + self.deadline;
        while !lock(&running).is_empty() && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let d = &self.delivery;
        d.in_flight.drained(d.longest()).await;
    }

    /// One tick: starts the due rules of every project while this server holds the lease.
    async fn round(
        &self,
        client: &reqwest::Client,
        running: &Arc<Mutex<HashSet<RuleKey>>>,
        last: &mut HashMap<RuleKey, i64>,
    ) -> Result<(), StoreError> {
        let now = now_ns();
        let ttl = i64::try_from(self.lease_ttl.as_nanos()).unwrap_or(i64::MAX);
        if !self.store.alert_lease(&self.holder, now, ttl).await? {
            last.clear();
            return Ok(());
        }
        for project in &self.projects {
            if let Err(e) = self.start_due(project, client, running, last, now).await {
                tracing::warn!(project, error = %e, "cannot read a project's alert rules");
            }
        }
        Ok(())
    }

    /// Starts the due rules of one project.
    async fn start_due(
        &self,
        project: &str,
        client: &reqwest::Client,
        running: &Arc<Mutex<HashSet<RuleKey>>>,
        last: &mut HashMap<RuleKey, i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        let rules = self.store.alert_rules(project).await?;
        let mut states: HashMap<String, AlertState> = self
            .store
            .alert_states(project)
            .await?
            .into_iter()
            .map(|s| (s.rule_id.clone(), s))
            .collect();
        for rule in rules {
            let key = (project.to_string(), rule.id.clone());
            let state = states.remove(&rule.id);
            let previous = last
                .get(&key)
                .copied()
                .or(state.as_ref().map(|s| s.evaluated_ns))
                .unwrap_or(i64::MIN);
            let due = now.saturating_sub(previous) >= rule.interval_s * 1_000_000_000;
            if !due || !lock(running).insert(key.clone()) {
                continue;
            }
            last.insert(key.clone(), now);
            let job = Job {
                store: self.store.clone(),
                client: client.clone(),
                delivery: self.delivery.clone(),
                deadline: self.deadline,
                project: project.to_string(),
            };
            let done = Running(running.clone(), key);
            tokio::spawn(async move {
                let _done = done;
                job.evaluate(rule, state, now).await;
            });
        }
        Ok(())
    }
}

/// A rule being evaluated, until dropped (also when its evaluation panics).
struct Running(Arc<Mutex<HashSet<RuleKey>>>, RuleKey);

impl Drop for Running {
    fn drop(&mut self) {
        lock(&self.0).remove(&self.1);
    }
}

#[allow(
    clippy::unwrap_used,
    reason = "the set is only inserted into and removed from under the lock: no panic can \
              happen while it is held"
)]
fn lock(set: &Mutex<HashSet<RuleKey>>) -> std::sync::MutexGuard<'_, HashSet<RuleKey>> {
    set.lock().unwrap()
}

/// What one rule's evaluation needs.
struct Job {
    store: Arc<dyn Store>,
    client: reqwest::Client,
    delivery: Arc<Delivery>,
    deadline: Duration,
    project: String,
}

impl Job {
    /// Measures the rule, applies the state machine, stores the outcome, then notifies.
    async fn evaluate(self, rule: AlertRule, previous: Option<AlertState>, now: i64) {
        let measured = tokio::time::timeout(
            self.deadline,
            measure(self.store.as_ref(), &self.project, &rule, now),
        )
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!(
                "the measurement took longer than {:?}",
                self.deadline
            )))
        });
        let (state, events, notices) = match measured {
            Ok(values) => {
                let o = apply(&rule, previous.as_ref(), &values, now);
                (o.state, o.events, o.notices)
            }
            Err(e) => failed(&rule, previous, &e.to_string(), now),
        };
        let stored = self.store.put_alert_state(&self.project, state).await;
        let stored = match stored {
            Ok(()) if events.is_empty() => Ok(()),
            Ok(()) => self.store.add_alert_events(&self.project, events).await,
            Err(e) => Err(e),
        };
        if let Err(e) = stored {
            tracing::warn!(rule = %rule.id, error = %e, "cannot store an alert's state");
            return;
        }
        for notice in &notices {
            let (store, client) = (self.store.clone(), self.client.clone());
            send(
                store,
                client,
                self.delivery.clone(),
                self.project.clone(),
                &rule,
                notice,
            );
        }
    }
}

/// The state after a failed evaluation: the groups as they were, the error set, and a
/// history entry when the error is new.
fn failed(
    rule: &AlertRule,
    previous: Option<AlertState>,
    error: &str,
    now: i64,
) -> (AlertState, Vec<AlertEvent>, Vec<super::transition::Notice>) {
    let repeated = previous
        .as_ref()
        .is_some_and(|p| p.error.as_deref() == Some(error));
    let state = AlertState {
        rule_id: rule.id.clone(),
        evaluated_ns: now,
        error: Some(error.to_string()),
        groups: previous.map(|p| p.groups).unwrap_or_default(),
    };
    let event = AlertEvent {
        rule_id: rule.id.clone(),
        at_ns: now,
        kind: AlertEventKind::Failure,
        group: String::new(),
        from: None,
        to: None,
        value: None,
        link: None,
        channel: None,
        delivered: None,
        attempts: None,
        message: Some(error.to_string()),
    };
    let events = if repeated { vec![] } else { vec![event] };
    (state, events, vec![])
}
