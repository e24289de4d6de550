//! Autocomplete: the keys and top values of a range, counted exactly ([`HourSplit`]): the
//! whole hours inside it from the `span_keys`/`span_values` (`log_keys`/`log_values`)
//! statistics, the partial hours at its edges from the rows themselves (or their hour's
//! statistics less the rows of the rest of it, when that is shorter to read), with the
//! materialized views' own expressions (below), so that both count alike. A partial hour
//! holding more than [`MAX_SCANNED_RECORDS`] rows is counted from its whole hour's
//! statistics instead.

use clickhouse::{Client, Row};
use serde::Deserialize;
use tracehouse_query::plan::Target;
use tracehouse_store_api::stats::{
    HOUR_NS, HourSplit, KeyStats, MAX_SCANNED_RECORDS, stats_keys, stats_prefix,
};
use tracehouse_store_api::{KeyInfo, KeysQuery, StoreError, ValueCount, ValuesQuery};

use crate::read::{ch, window_on};
use crate::sql::Params;

/// The hours overlapping `[start, end)` as Unix-second bounds `[from, to)`.
pub(crate) fn hour_bounds(p: &mut Params, start_ns: i64, end_ns: i64) -> (String, String) {
    let from = start_ns.div_euclid(HOUR_NS) * 3600;
    let to = end_ns.div_euclid(1_000_000_000) + i64::from(end_ns.rem_euclid(1_000_000_000) != 0);
    (p.i64(from), p.i64(to))
}

/// The key and value statistics tables of a target (fed by materialized views).
pub(crate) fn stats_tables(target: Target) -> (&'static str, &'static str) {
    match target {
        Target::Spans => ("span_keys", "span_values"),
        Target::Logs => ("log_keys", "log_values"),
    }
}

/// The rows a target's statistics count, and their time column.
fn source(target: Target) -> (&'static str, &'static str) {
    match target {
        Target::Spans => ("spans", "timestamp"),
        Target::Logs => ("logs", "time"),
    }
}

/// `(field, type)` of each key of a row, as `span_keys_mv` / `log_keys_mv2` (migrations 2
/// and 12, which stay as released) count them.
fn key_expr(target: Target) -> String {
    let fixed = match target {
        Target::Spans => {
            "[('i:trace_id', 'id'), ('i:span_id', 'id'), ('i:duration', 'duration'), \
             ('i:timestamp', 'timestamp'), ('i:span_kind', 'string'), \
             ('i:status_code', 'string'), ('i:has_errors', 'bool')], \
             if(parent_span_id IS NULL, [], [('i:parent_span_id', 'id')])"
        }
        Target::Logs => {
            "[('i:level', 'string'), ('i:timestamp', 'timestamp')], \
             if(body = '', [], [('i:body', 'string')]), \
             if(trace_id IS NULL, [], [('i:trace_id', 'id')]), \
             if(span_id IS NULL, [], [('i:span_id', 'id')])"
        }
    };
    let texts = text_intrinsics(target)
        .iter()
        .map(|(column, name)| format!("if({column} = '', [], [('i:{name}', 'string')])"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "arrayConcat({fixed}, {texts}, {}, {})",
        attribute_types("s:", "attributes"),
        attribute_types("r:", "resource_attributes")
    )
}

/// `(field, value)` of each kept value of a row, as `span_values_mv` / `log_values_mv`
/// count them.
fn value_expr(target: Target) -> String {
    let fixed = match target {
        Target::Spans => {
            "[('i:span_kind', toString(kind)), ('i:status_code', toString(status_code)), \
             ('i:has_errors', if(has_error, 'true', 'false'))]"
        }
        Target::Logs => "[('i:level', toString(level))]",
    };
    let texts = text_intrinsics(target)
        .iter()
        .map(|(column, name)| format!("if({column} = '', [], [('i:{name}', {column})])"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "arrayFilter(p -> length(p.2) <= 200, arrayConcat({fixed}, {texts}, \
         arrayMap((x, y) -> ('s:' || x, y), mapKeys(attributes), mapValues(attributes)), \
         arrayMap((x, y) -> ('r:' || x, y), mapKeys(resource_attributes), \
         mapValues(resource_attributes))))"
    )
}

/// The text intrinsics counted where set, as (column expression, intrinsic name).
fn text_intrinsics(target: Target) -> &'static [(&'static str, &'static str)] {
    const COMMON: [(&str, &str); 4] = [
        ("toString(service_name)", "service_name"),
        ("toString(service_version)", "service_version"),
        ("toString(environment)", "environment"),
        ("ifNull(session_id, '')", "secure_session_id"),
    ];
    match target {
        Target::Spans => &[
            ("toString(name)", "span_name"),
            COMMON[0],
            COMMON[1],
            COMMON[2],
            ("status_message", "status_message"),
            COMMON[3],
        ],
        Target::Logs => &COMMON,
    }
}

/// `(prefix || key, type)` of each attribute of a map column, typed by its typed JSON.
fn attribute_types(prefix: &str, map: &str) -> String {
    let typed = format!("{map}_typed[x]");
    format!(
        "arrayMap(x -> ('{prefix}' || x, if(mapContains({map}_typed, x), multiIf(\
         startsWith({typed}, '['), 'array', \
         startsWith({typed}, '{{\"$bytes\"'), 'bytes', \
         startsWith({typed}, '{{'), 'map', \
         startsWith({typed}, 't') OR startsWith({typed}, 'f'), 'bool', \
         match({typed}, '[.eE]'), 'float', \
         'int'), 'string')), mapKeys({map}))"
    )
}

/// Where a range's counts come from: hour ranges read from the statistics, partial hours
/// read from the rows, and the rows read to be taken away from their hour's counts.
struct Sources {
    hours: Vec<(i64, i64)>,
    rows: Vec<(i64, i64)>,
    minus: Vec<(i64, i64)>,
}

/// The sources of `[start_ns, end_ns)`: its whole hours, and each partial hour from its rows
/// or from its hour less the rows of the rest of it ([`HourSplit::rest_of`]), while they
/// fit in [`MAX_SCANNED_RECORDS`] (from its whole hour after that).
async fn sources(
    client: &Client,
    target: Target,
    project_id: &str,
    start_ns: i64,
    end_ns: i64,
) -> Result<Sources, StoreError> {
    let split = HourSplit::of(start_ns, end_ns);
    let mut out = Sources {
        hours: split.whole.into_iter().collect(),
        rows: Vec::new(),
        minus: Vec::new(),
    };
    let (table, time) = source(target);
    let mut budget = MAX_SCANNED_RECORDS;
    for edge in split.edges {
        let rest = HourSplit::rest_of(edge);
        let ranges = rest.clone().unwrap_or_else(|| vec![edge]);
        let mut p = Params::default();
        let within = ranges
            .iter()
            .map(|(a, b)| format!("({})", window_on(&mut p, time, project_id, *a, *b)))
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql = format!("SELECT count() FROM {table} WHERE {within}");
        let rows: u64 = p.bind(client.query(&sql)).fetch_one().await.map_err(ch)?;
        match (budget.checked_sub(rows), rest) {
            (Some(left), Some(rest)) => {
                budget = left;
                out.hours.push(HourSplit::hour_of(edge));
                out.minus.extend(rest);
            }
            (Some(left), None) => {
                budget = left;
                out.rows.push(edge);
            }
            (None, _) => out.hours.push(HourSplit::hour_of(edge)),
        }
    }
    Ok(out)
}

impl Sources {
    /// `SELECT {columns}, c` over every source, unioned, the count `c` signed: the statistics table
    /// with its `count`, the rows with `expr` array-joined as `e` and counted (negated for
    /// the rows taken away). `stats_where` and `rows_where` are the extra conditions on each.
    fn union(&self, p: &mut Params, project_id: &str, target: Target, q: &Union<'_>) -> String {
        let (table, time) = source(target);
        let mut selects = Vec::new();
        for (a, b) in &self.hours {
            let project = p.str(project_id);
            let (from, to) = hour_bounds(p, *a, *b);
            selects.push(format!(
                "SELECT {}, toInt64(count) AS c FROM {} WHERE project_id = {project} \
                 AND hour >= toDateTime({from}, 'UTC') AND hour < toDateTime({to}, 'UTC') \
                 AND {}",
                q.stats_columns, q.stats_table, q.stats_where
            ));
        }
        let signed = self
            .rows
            .iter()
            .map(|r| (r, ""))
            .chain(self.minus.iter().map(|r| (r, "-")));
        for ((a, b), sign) in signed {
            selects.push(format!(
                "SELECT {}, {sign}toInt64(count()) AS c FROM {table} ARRAY JOIN {} AS e \
                 WHERE {} AND {} GROUP BY {}",
                q.rows_columns,
                q.expr,
                window_on(p, time, project_id, *a, *b),
                q.rows_where,
                q.group
            ));
        }
        selects.join(" UNION ALL ")
    }
}

/// The two halves of a count over [`Sources`].
struct Union<'a> {
    stats_table: &'a str,
    stats_columns: &'a str,
    stats_where: &'a str,
    expr: String,
    rows_columns: &'a str,
    rows_where: &'a str,
    group: &'a str,
}

#[derive(Debug, Row, Deserialize)]
struct KeyRow {
    field: String,
    #[serde(rename = "type")]
    value_type: String,
    n: u64,
}

/// Keys of the range and how many records have each.
pub(crate) async fn keys(client: &Client, q: &KeysQuery) -> Result<Vec<KeyInfo>, StoreError> {
    let from = sources(client, q.target, &q.project_id, q.start_ns, q.end_ns).await?;
    let mut p = Params::default();
    let prefix = p.str(stats_prefix(&q.prefix.to_lowercase()).to_string());
    let stats_where = format!("startsWith(lowerUTF8(substring(field, 3)), {prefix})");
    let rows_where = format!("startsWith(lowerUTF8(substring(e.1, 3)), {prefix})");
    let union = from.union(
        &mut p,
        &q.project_id,
        q.target,
        &Union {
            stats_table: stats_tables(q.target).0,
            stats_columns: "toString(field) AS field, toString(type) AS type",
            stats_where: &stats_where,
            expr: key_expr(q.target),
            rows_columns: "toString(e.1) AS field, toString(e.2) AS type",
            rows_where: &rows_where,
            group: "field, type",
        },
    );
    if union.is_empty() {
        return Ok(KeyStats::default().key_infos(q.target, &q.prefix, q.limit));
    }
    let sql = format!(
        "SELECT field, type, toUInt64(sum(c)) AS n FROM ({union}) GROUP BY field, type \
             HAVING sum(c) > 0"
    );
    let rows: Vec<KeyRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    let mut stats = KeyStats::default();
    for r in rows {
        stats.entry(&r.field).add_rows(&r.value_type, r.n);
    }
    Ok(stats.key_infos(q.target, &q.prefix, q.limit))
}

#[derive(Debug, Row, Deserialize)]
struct ValueRow {
    value: String,
    n: u64,
}

/// Top values of a field in the range.
pub(crate) async fn values(
    client: &Client,
    q: &ValuesQuery,
) -> Result<Vec<ValueCount>, StoreError> {
    let from = sources(client, q.target, &q.project_id, q.start_ns, q.end_ns).await?;
    let mut p = Params::default();
    let fields = p.str_array(stats_keys(&q.field));
    let prefix = p.str(q.prefix.to_lowercase());
    let stats_where =
        format!("has({fields}, toString(field)) AND startsWith(lowerUTF8(value), {prefix})");
    let rows_where = format!("has({fields}, e.1) AND startsWith(lowerUTF8(e.2), {prefix})");
    let union = from.union(
        &mut p,
        &q.project_id,
        q.target,
        &Union {
            stats_table: stats_tables(q.target).1,
            stats_columns: "value",
            stats_where: &stats_where,
            expr: value_expr(q.target),
            rows_columns: "toString(e.2) AS value",
            rows_where: &rows_where,
            group: "value",
        },
    );
    if union.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT value, toUInt64(sum(c)) AS n FROM ({union}) GROUP BY value \
         HAVING sum(c) > 0 ORDER BY n DESC, value ASC LIMIT {}",
        q.limit
    );
    let rows: Vec<ValueRow> = p.bind(client.query(&sql)).fetch_all().await.map_err(ch)?;
    Ok(rows
        .into_iter()
        .map(|r| ValueCount {
            value: r.value,
            count: r.n,
        })
        .collect())
}
