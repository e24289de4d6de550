//! The state machine of a rule's groups, a pure function of the rule, its previous state,
//! the values just measured and the time: ok → pending (breaching, for less than `for_s`)
//! → firing → resolved (no longer breaching); pending that stops breaching goes back to
//! ok. Entering firing notifies unless the group's last firing notification is within the
//! cooldown (then the history says it was suppressed); resolving notifies only a firing
//! that was notified. A resolved group is listed for one window, then is ok (kept while its cooldown lasts).

use std::collections::BTreeMap;

use tracehouse_store_api::alerts::{AlertEventKind, AlertGroupState, AlertStatus};
use tracehouse_store_api::{AlertEvent, AlertRule, AlertState};

use super::measure::{Values, link};

const NS_PER_S: i64 = 1_000_000_000;

/// A notification to send: a group entered `status` (firing or resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The group's state after the change.
    pub group: AlertGroupState,
    /// The history entry of the change.
    pub event: AlertEvent,
}

/// What one evaluation changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The rule's new state.
    pub state: AlertState,
    /// History entries: state changes and suppressed notifications.
    pub events: Vec<AlertEvent>,
    /// Notifications to deliver.
    pub notices: Vec<Notice>,
}

/// Applies the values measured at `now_ns` to the rule's previous state.
pub fn apply(
    rule: &AlertRule,
    previous: Option<&AlertState>,
    values: &Values,
    now_ns: i64,
) -> Outcome {
    let mut before: BTreeMap<&str, &AlertGroupState> = previous
        .map(|s| s.groups.iter().map(|g| (g.group.as_str(), g)).collect())
        .unwrap_or_default();
    let mut out = Outcome {
        state: AlertState {
            rule_id: rule.id.clone(),
            evaluated_ns: now_ns,
            error: None,
            groups: Vec::new(),
        },
        events: Vec::new(),
        notices: Vec::new(),
    };
    for (group, value) in values {
        let old = before.remove(group.as_str());
        let breached = value.is_some_and(|v| rule.comparison.breached(v, rule.threshold));
        step(rule, &mut out, group, old, *value, breached, now_ns);
    }
    for (group, old) in before {
        step(rule, &mut out, group, Some(old), None, false, now_ns);
    }
    out
}

/// One group's step.
fn step(
    rule: &AlertRule,
    out: &mut Outcome,
    group: &str,
    old: Option<&AlertGroupState>,
    value: Option<f64>,
    breached: bool,
    now_ns: i64,
) {
    let mut g = old.cloned().unwrap_or(AlertGroupState {
        group: group.to_string(),
        status: AlertStatus::Ok,
        since_ns: now_ns,
        value,
        notified_ns: None,
        notified: false,
    });
    g.value = value;
    let from = g.status;
    let to = next_status(rule, &g, breached, now_ns);
    if to != from {
        g.status = to;
        g.since_ns = now_ns;
        let event = event(rule, &g, from, now_ns);
        match to {
            AlertStatus::Firing => fire(rule, out, &mut g, event, now_ns),
            AlertStatus::Resolved if g.notified => {
                g.notified = false;
                out.events.push(event.clone());
                out.notices.push(Notice {
                    group: g.clone(),
                    event,
                });
            }
            _ => out.events.push(event),
        }
    }
    if g.status == AlertStatus::Resolved && now_ns - g.since_ns >= rule.window_s * NS_PER_S {
        g.status = AlertStatus::Ok;
    }
    let cooling = g.notified_ns.is_some_and(|t| in_cooldown(rule, t, now_ns));
    if g.status != AlertStatus::Ok || cooling {
        out.state.groups.push(g);
    }
}

/// The status a group moves to.
fn next_status(rule: &AlertRule, g: &AlertGroupState, breached: bool, now_ns: i64) -> AlertStatus {
    use AlertStatus::*;
    let held = |since: i64| now_ns - since >= rule.for_s * NS_PER_S;
    match (g.status, breached) {
        (Ok | Resolved, true) if rule.for_s == 0 => Firing,
        (Ok | Resolved, true) => Pending,
        (Pending, true) if held(g.since_ns) => Firing,
        (Pending, false) => Ok,
        (Firing, false) => Resolved,
        (status, _) => status,
    }
}

fn in_cooldown(rule: &AlertRule, notified_ns: i64, now_ns: i64) -> bool {
    now_ns - notified_ns < rule.cooldown_s * NS_PER_S
}

/// Enters firing: notified, or suppressed within the cooldown.
fn fire(
    rule: &AlertRule,
    out: &mut Outcome,
    g: &mut AlertGroupState,
    event: AlertEvent,
    now_ns: i64,
) {
    out.events.push(event.clone());
    if g.notified_ns.is_some_and(|t| in_cooldown(rule, t, now_ns)) {
        g.notified = false;
        out.events.push(AlertEvent {
            kind: AlertEventKind::Suppressed,
            message: Some(format!(
                "not notified: within the {} s cooldown of the last notification",
                rule.cooldown_s
            )),
            ..event
        });
        return;
    }
    g.notified = true;
    g.notified_ns = Some(now_ns);
    out.notices.push(Notice {
        group: g.clone(),
        event,
    });
}

/// The history entry of a group's change from `from` to its current status.
fn event(rule: &AlertRule, g: &AlertGroupState, from: AlertStatus, now_ns: i64) -> AlertEvent {
    AlertEvent {
        rule_id: rule.id.clone(),
        at_ns: now_ns,
        kind: AlertEventKind::State,
        group: g.group.clone(),
        from: Some(from),
        to: Some(g.status),
        value: g.value,
        link: Some(link(rule, &g.group, now_ns)),
        channel: None,
        delivered: None,
        attempts: None,
        message: None,
    }
}

#[cfg(test)]
mod tests {
    use tracehouse_store_api::testsuite::alerts::rule;

    use super::*;

    const S: i64 = NS_PER_S;

    fn values(v: &[(&str, f64)]) -> Values {
        v.iter().map(|(g, v)| (g.to_string(), Some(*v))).collect()
    }

    fn statuses(o: &Outcome) -> Vec<(String, AlertStatus)> {
        o.state
            .groups
            .iter()
            .map(|g| (g.group.clone(), g.status))
            .collect()
    }

    /// Runs values through the rule one evaluation per second from t=1s, returning every
    /// outcome.
    fn run(rule: &AlertRule, steps: &[Values]) -> Vec<Outcome> {
        let mut state: Option<AlertState> = None;
        let mut outs = Vec::new();
        for (i, v) in steps.iter().enumerate() {
            let o = apply(rule, state.as_ref(), v, (i as i64 + 1) * S);
            state = Some(o.state.clone());
            outs.push(o);
        }
        outs
    }

    #[test]
    fn fires_once_resolves_once_and_the_cooldown_suppresses_a_repeat() {
        let r = AlertRule {
            by: String::new(),
            cooldown_s: 10,
            window_s: 2,
            ..rule("r")
        };
        let (hi, lo) = (values(&[("", 0.5)]), values(&[("", 0.0)]));
        let outs = run(
            &r,
            &[lo.clone(), hi.clone(), hi.clone(), lo.clone(), hi, lo],
        );
        let notices: Vec<(usize, AlertStatus)> = outs
            .iter()
            .enumerate()
            .flat_map(|(i, o)| o.notices.iter().map(move |n| (i, n.group.status)))
            .collect();
        assert_eq!(
            notices,
            vec![(1, AlertStatus::Firing), (3, AlertStatus::Resolved)]
        );
        assert_eq!(outs[4].events[1].kind, AlertEventKind::Suppressed);
        assert!(
            outs[5].notices.is_empty(),
            "an unnotified firing resolves quietly"
        );
        assert_eq!(
            statuses(&outs[2]),
            vec![(String::new(), AlertStatus::Firing)]
        );
        let link = outs[1].notices[0].event.link.clone().unwrap();
        assert_eq!((link.start_ns, link.end_ns), (0, 2 * S));
    }

    #[test]
    fn pending_until_the_breach_lasts_for_s_and_groups_are_their_own() {
        let r = AlertRule {
            for_s: 2,
            ..rule("r")
        };
        let outs = run(
            &r,
            &[
                values(&[("a", 0.5), ("b", 0.5)]),
                values(&[("a", 0.5)]),
                values(&[("a", 0.5), ("b", 0.0)]),
            ],
        );
        assert_eq!(
            statuses(&outs[0]),
            vec![
                ("a".into(), AlertStatus::Pending),
                ("b".into(), AlertStatus::Pending)
            ]
        );
        assert_eq!(statuses(&outs[1]), vec![("a".into(), AlertStatus::Pending)]);
        assert_eq!(statuses(&outs[2]), vec![("a".into(), AlertStatus::Firing)]);
        assert_eq!(outs[2].notices.len(), 1);
        assert_eq!(
            outs[1].events[0].to,
            Some(AlertStatus::Ok),
            "b went back to ok"
        );
    }

    #[test]
    fn an_undefined_value_does_not_breach_and_resolved_groups_age_out() {
        let r = AlertRule {
            window_s: 2,
            ..rule("r")
        };
        let none: Values = [("a".to_string(), None)].into();
        let outs = run(
            &r,
            &[values(&[("a", 0.9)]), none.clone(), none.clone(), none],
        );
        assert_eq!(
            statuses(&outs[1]),
            vec![("a".into(), AlertStatus::Resolved)]
        );
        assert_eq!(
            statuses(&outs[2]),
            vec![("a".into(), AlertStatus::Resolved)]
        );
        assert_eq!(
            statuses(&outs[3]),
            vec![("a".into(), AlertStatus::Ok)],
            "ok after a window, kept while in its cooldown"
        );
    }
}
