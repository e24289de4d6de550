//! What a rule's function reads over its window, per group: from the span or log histograms
//! (counts and error counts of the whole rule), from the matching spans (a `by` key or a
//! duration percentile: read with `metrics::scan::each_matching`, at most 100,000 spans), or
//! from the error groups.

use std::collections::BTreeMap;

use tracehouse_model::Level;
use tracehouse_query::{ParseError, Plan, Target, parse, plan_for};
use tracehouse_store_api::alerts::{AlertFunction, AlertLink, AlertSource};
use tracehouse_store_api::metrics::MetricKey;
use tracehouse_store_api::metrics::scan::{SpanParts, SpanScan, each_matching, field_value};
use tracehouse_store_api::value::SpanRef;
use tracehouse_store_api::{AlertRule, ErrorGroupsQuery, HistogramQuery, Store, StoreError};

/// How far back "new error group" looks for an earlier occurrence: a group is new when it
/// was not seen in the week before the window.
pub const NEW_GROUP_LOOKBACK_NS: i64 = 7 * 86_400 * NS_PER_S;
/// Error groups one evaluation reads (the most frequent first).
const MAX_ERROR_GROUPS: usize = 1000;
const NS_PER_S: i64 = 1_000_000_000;

/// A rule's value for one group (`""` without `by`); `None` where the function is
/// undefined (an error rate or percentile of nothing).
pub type Values = BTreeMap<String, Option<f64>>;

/// The plan of a span or log rule's query (`None` for errors, whose query is a text filter).
pub fn rule_plan(rule: &AlertRule) -> Result<Option<Plan>, ParseError> {
    let target = match rule.source {
        AlertSource::Spans => Target::Spans,
        AlertSource::Logs => Target::Logs,
        AlertSource::Errors => return Ok(None),
    };
    Ok(Some(plan_for(&parse(&rule.query)?, target)))
}

/// The rule's values over `[end_ns - window, end_ns)`.
pub async fn measure(
    store: &dyn Store,
    project_id: &str,
    rule: &AlertRule,
    end_ns: i64,
) -> Result<Values, StoreError> {
    let window = (end_ns - rule.window_s * NS_PER_S, end_ns);
    let plan = rule_plan(rule).map_err(|e| StoreError::InvalidArgument(e.message))?;
    match (rule.source, plan) {
        (AlertSource::Spans, Some(plan))
            if rule.by.is_empty() && rule.function.quantile().is_none() =>
        {
            let (count, errors) = span_counts(store, project_id, plan, window).await?;
            Ok(one(counted(rule, count, errors)))
        }
        (AlertSource::Spans, Some(plan)) => scan_spans(store, project_id, rule, plan, window).await,
        (AlertSource::Logs, Some(plan)) => {
            let (count, errors) = log_counts(store, project_id, plan, window).await?;
            Ok(one(counted(rule, count, errors)))
        }
        _ => error_values(store, project_id, rule, window).await,
    }
}

/// The value of a counting function from a count and an error count.
fn counted(rule: &AlertRule, count: u64, errors: u64) -> Option<f64> {
    match rule.function {
        AlertFunction::Rate => Some(count as f64 / rule.window_s as f64),
        AlertFunction::ErrorRate => (count > 0).then(|| errors as f64 / count as f64),
        _ => Some(count as f64),
    }
}

fn one(value: Option<f64>) -> Values {
    Values::from([(String::new(), value)])
}

fn histogram(project_id: &str, plan: Plan, (start_ns, end_ns): (i64, i64)) -> HistogramQuery {
    HistogramQuery {
        project_id: project_id.to_string(),
        plan,
        start_ns,
        end_ns,
        buckets: 1,
        traces: false,
    }
}

async fn span_counts(
    store: &dyn Store,
    project_id: &str,
    plan: Plan,
    window: (i64, i64),
) -> Result<(u64, u64), StoreError> {
    let h = store
        .histogram(&histogram(project_id, plan, window))
        .await?;
    Ok(h.buckets
        .iter()
        .fold((0, 0), |(c, e), b| (c + b.count, e + b.error_count)))
}

async fn log_counts(
    store: &dyn Store,
    project_id: &str,
    plan: Plan,
    window: (i64, i64),
) -> Result<(u64, u64), StoreError> {
    let h = store
        .log_histogram(&histogram(project_id, plan, window))
        .await?;
    Ok(h.buckets.iter().fold((0, 0), |(c, e), b| {
        let errors: u64 = b
            .levels
            .iter()
            .filter(|(level, _)| **level >= Level::Error)
            .map(|(_, n)| n)
            .sum();
        (c + b.count, e + errors)
    }))
}

/// Counts, errors and durations per `by` value of the matching spans.
#[derive(Default)]
struct Tally {
    count: u64,
    errors: u64,
    durations: Vec<i64>,
}

async fn scan_spans(
    store: &dyn Store,
    project_id: &str,
    rule: &AlertRule,
    plan: Plan,
    window: (i64, i64),
) -> Result<Values, StoreError> {
    let by = (!rule.by.is_empty()).then(|| MetricKey::named(&rule.by).field);
    let mut groups: BTreeMap<String, Tally> = BTreeMap::new();
    let scan = SpanScan {
        project_id,
        plan: &plan,
        window,
        parts: SpanParts::for_fields(&by),
    };
    each_matching(store, &scan, |span| {
        let view = SpanRef(span);
        let group = by
            .as_ref()
            .and_then(|f| field_value(f, &view).map(|v| v.as_text().into_owned()))
            .unwrap_or_default();
        let t = groups.entry(group).or_default();
        t.count += 1;
        t.errors += u64::from(span.has_error);
        t.durations.push(span.duration_nanos.max(0));
    })
    .await?;
    if by.is_none() && groups.is_empty() {
        groups.insert(String::new(), Tally::default());
    }
    Ok(groups
        .into_iter()
        .map(|(group, mut t)| {
            let value = match rule.function.quantile() {
                Some(q) => percentile_ms(&mut t.durations, q),
                None => counted(rule, t.count, t.errors),
            };
            (group, value)
        })
        .collect())
}

/// The `q` percentile (nearest rank) of durations in ns, in ms.
fn percentile_ms(durations: &mut [i64], q: f64) -> Option<f64> {
    if durations.is_empty() {
        return None;
    }
    durations.sort_unstable();
    let rank = ((q * durations.len() as f64).ceil() as usize).clamp(1, durations.len());
    Some(durations[rank - 1] as f64 / 1e6)
}

async fn error_values(
    store: &dyn Store,
    project_id: &str,
    rule: &AlertRule,
    (start_ns, end_ns): (i64, i64),
) -> Result<Values, StoreError> {
    let new_groups = rule.function == AlertFunction::NewErrorGroup;
    let query = ErrorGroupsQuery {
        project_id: project_id.to_string(),
        start_ns: if new_groups {
            start_ns.saturating_sub(NEW_GROUP_LOOKBACK_NS)
        } else {
            start_ns
        },
        end_ns,
        text: (!rule.query.trim().is_empty()).then(|| rule.query.clone()),
        fingerprint: None,
        service: None,
        environment: None,
        limit: MAX_ERROR_GROUPS,
        buckets: 1,
    };
    let groups = store.error_groups(&query).await?.groups;
    if new_groups {
        return Ok(groups
            .into_iter()
            .filter(|g| g.first_seen_ns >= start_ns)
            .map(|g| (g.fingerprint, Some(g.count as f64)))
            .collect());
    }
    let count: u64 = groups.iter().map(|g| g.count).sum();
    Ok(one(counted(rule, count, 0)))
}

/// Where the data behind a group's value is: the rule's query narrowed to the group, over
/// the window that ended at `end_ns`.
pub fn link(rule: &AlertRule, group: &str, end_ns: i64) -> AlertLink {
    let narrowed = match rule.source {
        AlertSource::Spans if !rule.by.is_empty() => {
            let term = format!("{}={}", rule.by, quoted(group));
            if rule.query.trim().is_empty() {
                term
            } else {
                format!("({}) {term}", rule.query)
            }
        }
        _ => rule.query.clone(),
    };
    AlertLink {
        source: rule.source,
        query: narrowed,
        start_ns: end_ns - rule.window_s * NS_PER_S,
        end_ns,
    }
}

/// `text` in double quotes with `"` and `\` escaped, as the query language reads it.
fn quoted(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use tracehouse_store_api::testsuite::alerts::rule;

    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank_in_ms() {
        let mut d: Vec<i64> = (1..=100).rev().map(|ms| ms * 1_000_000).collect();
        assert_eq!(percentile_ms(&mut d, 0.5), Some(50.0));
        assert_eq!(percentile_ms(&mut d, 0.99), Some(99.0));
        assert_eq!(percentile_ms(&mut [], 0.5), None);
    }

    #[test]
    fn a_link_narrows_to_the_group_and_parses() {
        let r = rule("a");
        let l = link(&r, "POST \"/pay\"", 10 * NS_PER_S);
        assert_eq!(l.query, r#"(service:checkout) name="POST \"/pay\"""#);
        assert_eq!((l.start_ns, l.end_ns), (-290 * NS_PER_S, 10 * NS_PER_S));
        parse(&l.query).unwrap();
        let whole = AlertRule {
            by: String::new(),
            ..rule("b")
        };
        assert_eq!(link(&whole, "", 0).query, "service:checkout");
    }
}
