//! Span metrics (RED: rate, errors, duration) kept at ingest, and the rules every backend
//! answers them by.
//!
//! At ingest each backend keeps, per project, minute, service, span name, span kind and
//! status code, the number of spans, of spans with `has_error`, and their durations as a
//! DDSketch with a relative error of [`SKETCH_RELATIVE_ERROR`] (the embedded engine in its
//! statistics sidecars, ClickHouse in an `AggregatingMergeTree` fed by a materialized view).
//! Percentiles over any range and any set of groups are then a merge of sketches, never a
//! scan.
//!
//! A [`SpanMetricsQuery`] is answered from these cells when its filter and its `by` keys
//! read only those four dimensions and it measures durations
//! ([`SpanMetricsQuery::from_cells`]); the filter is evaluated on each cell with the query
//! crate's evaluator, so `service:x`, globs, regexes and `NOT` mean what they mean in a
//! search. Any other plain query is answered by scanning the matching spans ([`scan`]) into
//! the same cells, with the same semantics, as long as it matches at most
//! [`scan::MAX_SCAN_SPANS`] spans. Ranges are widened to whole minutes; series are bounded
//! to the [`MAX_SERIES`] with the most spans, points to [`MAX_POINTS`] per series.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sketches_ddsketch::{Config, DDSketch};
use tracehouse_model::{SpanKind, StatusCode};
use tracehouse_query::eval::matches;
use tracehouse_query::plan::{Target, resolve_key};
use tracehouse_query::{AttrValue, Field, Filter, Intrinsic, Plan, Scope, SpanView};
use utoipa::ToSchema;

use crate::error::StoreError;
use crate::stats::MINUTE_NS;

pub mod compare;
pub mod scan;

/// Relative error of every duration percentile kept at ingest (1 %).
pub const SKETCH_RELATIVE_ERROR: f64 = 0.01;
/// Most series an answer holds: the ones with the most spans over the range.
pub const MAX_SERIES: usize = 50;
/// Most points (steps) of one series.
pub const MAX_POINTS: usize = 1_440;
/// The duration percentiles every point carries.
pub const PERCENTILES: [f64; 5] = [0.5, 0.75, 0.9, 0.95, 0.99];
/// Largest sketch (bins) kept per cell: 2048 bins at 1 % cover 17 decades of durations.
const SKETCH_BINS: u32 = 2048;

/// The sketch configuration every cell uses (sketches merge only with the same one).
fn sketch_config() -> Config {
    Config::new(SKETCH_RELATIVE_ERROR, SKETCH_BINS, 1.0)
}

/// A dimension span metrics are kept by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricDim {
    /// `service_name`.
    Service,
    /// `span_name`.
    Name,
    /// `span_kind`.
    Kind,
    /// `status_code`.
    Status,
}

impl MetricDim {
    /// Every dimension.
    pub const ALL: [MetricDim; 4] = [
        MetricDim::Service,
        MetricDim::Name,
        MetricDim::Kind,
        MetricDim::Status,
    ];

    /// The built-in field it is.
    pub fn intrinsic(self) -> Intrinsic {
        match self {
            MetricDim::Service => Intrinsic::ServiceName,
            MetricDim::Name => Intrinsic::SpanName,
            MetricDim::Kind => Intrinsic::SpanKind,
            MetricDim::Status => Intrinsic::StatusCode,
        }
    }

    /// The dimension a field is, if any.
    pub fn of(field: &Field) -> Option<MetricDim> {
        MetricDim::ALL
            .into_iter()
            .find(|d| *field == Field::Intrinsic(d.intrinsic()))
    }

    /// The label name of the dimension in answers (the field's canonical name).
    pub fn label(self) -> &'static str {
        self.intrinsic().name()
    }
}

/// Whether a filter reads only the dimensions span metrics are kept by.
pub fn answerable(filter: &Filter) -> bool {
    let mut fields = Vec::new();
    filter.collect_fields(&mut fields);
    fields.into_iter().all(|f| MetricDim::of(f).is_some())
}

/// Where a cell's spans belong: a minute and the four dimensions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CellKey {
    /// Minutes since the epoch of the spans' start.
    pub minute: i64,
    /// Service name.
    pub service: String,
    /// Span name.
    pub name: String,
    /// Span kind.
    pub kind: SpanKind,
    /// Status code.
    pub status: StatusCode,
}

impl CellKey {
    /// The value of one dimension.
    pub fn dim(&self, d: MetricDim) -> &str {
        match d {
            MetricDim::Service => &self.service,
            MetricDim::Name => &self.name,
            MetricDim::Kind => self.kind.as_str(),
            MetricDim::Status => self.status.as_str(),
        }
    }
}

/// A cell's spans as the query evaluator sees them: its four dimensions and nothing else
/// (a filter [`answerable`] from cells reads nothing else).
struct CellView<'a>(&'a CellKey);

impl SpanView for CellView<'_> {
    fn intrinsic(&self, which: Intrinsic) -> Option<AttrValue<'_>> {
        MetricDim::ALL
            .into_iter()
            .find(|d| d.intrinsic() == which)
            .map(|d| AttrValue::str(self.0.dim(d)))
    }

    fn attribute(&self, _: Scope, _: &str) -> Option<AttrValue<'_>> {
        None
    }

    fn attribute_values(&self, _: Scope, _: &str) -> Vec<AttrValue<'_>> {
        Vec::new()
    }

    fn span_id(&self) -> &[u8] {
        &[]
    }

    fn parent_span_id(&self) -> Option<&[u8]> {
        None
    }

    fn start_time_ns(&self) -> i64 {
        self.0.minute.saturating_mul(MINUTE_NS)
    }

    fn end_time_ns(&self) -> i64 {
        self.start_time_ns()
    }
}

/// The spans of one cell: counts and the duration sketch (ns).
#[derive(Clone, Serialize, Deserialize)]
pub struct Cell {
    /// Spans.
    pub count: u64,
    /// Spans with `has_error`.
    pub errors: u64,
    /// Durations, ns (for a scan of another value: that value of the spans that have it).
    pub durations: DDSketch,
}

impl std::fmt::Debug for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cell")
            .field("count", &self.count)
            .field("errors", &self.errors)
            .field("sum", &self.durations.sum())
            .finish()
    }
}

impl Default for Cell {
    fn default() -> Self {
        Cell {
            count: 0,
            errors: 0,
            durations: DDSketch::new(sketch_config()),
        }
    }
}

impl PartialEq for Cell {
    fn eq(&self, other: &Cell) -> bool {
        let quantiles = |c: &Cell| [0.5, 0.99].map(|q| c.durations.quantile(q).ok().flatten());
        self.count == other.count
            && self.errors == other.errors
            && self.durations.sum() == other.durations.sum()
            && self.durations.min() == other.durations.min()
            && self.durations.max() == other.durations.max()
            && quantiles(self) == quantiles(other)
    }
}

impl Cell {
    /// Counts one span.
    pub fn add(&mut self, duration_ns: i64, error: bool) {
        self.add_span(Some(duration_ns.max(0) as f64), error);
    }

    /// Counts one span and, when it has one, its measured value.
    pub fn add_span(&mut self, value: Option<f64>, error: bool) {
        self.count += 1;
        self.errors += u64::from(error);
        if let Some(v) = value {
            self.durations.add(v);
        }
    }

    /// Adds another cell's spans.
    pub fn merge(&mut self, other: &Cell) {
        self.count += other.count;
        self.errors += other.errors;
        // Every cell is made with the same configuration, the one condition of a merge.
        if self.durations.merge(&other.durations).is_err() {
            unreachable!("sketches of span metrics share one configuration");
        }
    }

    /// The cell's numbers as a point (at `t` = 0, which [`assemble`] sets).
    fn point(&self) -> MetricPoint {
        let d = &self.durations;
        MetricPoint::new(
            [self.count, self.errors, d.count() as u64],
            [d.min(), d.max(), d.sum()].map(|v| v.unwrap_or(0.0)),
            PERCENTILES.map(|q| d.quantile(q).ok().flatten().unwrap_or(0.0)),
        )
    }
}

/// Span metrics of a set of spans, cell by cell. Serialised as a list of `[key, cell]` pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpanMetrics {
    cells: HashMap<CellKey, Cell, foldhash::fast::RandomState>,
}

impl SpanMetrics {
    /// The cell of `key`, created empty when new.
    pub fn cell(&mut self, key: CellKey) -> &mut Cell {
        self.cells.entry(key).or_default()
    }

    /// Adds a cell's spans under `key`, taking the cell (no copy of its sketch when the key
    /// is new).
    pub fn add_owned(&mut self, key: CellKey, cell: Cell) {
        match self.cells.entry(key) {
            Entry::Occupied(mut mine) => mine.get_mut().merge(&cell),
            Entry::Vacant(slot) => {
                slot.insert(cell);
            }
        }
    }

    /// Adds a cell's spans under `key`.
    pub fn add(&mut self, key: &CellKey, cell: &Cell) {
        match self.cells.get_mut(key) {
            Some(mine) => mine.merge(cell),
            None => {
                self.cells.insert(key.clone(), cell.clone());
            }
        }
    }

    /// Adds another set's spans to this one.
    pub fn merge(&mut self, other: &SpanMetrics) {
        for (k, c) in &other.cells {
            self.add(k, c);
        }
    }

    /// Spans counted.
    pub fn total(&self) -> u64 {
        self.cells.values().map(|c| c.count).sum()
    }

    /// Every cell.
    pub fn cells(&self) -> impl Iterator<Item = (&CellKey, &Cell)> {
        self.cells.iter()
    }
}

impl Serialize for SpanMetrics {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.cells.iter())
    }
}

impl<'de> Deserialize<'de> for SpanMetrics {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs: Vec<(CellKey, Cell)> = Vec::deserialize(d)?;
        Ok(SpanMetrics {
            cells: pairs.into_iter().collect(),
        })
    }
}

/// A request for span metrics of one project.
#[derive(Debug, Clone)]
pub struct SpanMetricsQuery {
    /// Only spans of this project.
    pub project_id: String,
    /// A filter-only plan (no structure).
    pub plan: Plan,
    /// Inclusive lower bound of the span start, ns (widened to its minute).
    pub start_ns: i64,
    /// Exclusive upper bound, ns (widened to the end of its minute).
    pub end_ns: i64,
    /// Step of the series, ns: a positive multiple of a minute.
    pub step_ns: i64,
    /// Keys to split by (each series has one value of each).
    pub by: Vec<MetricKey>,
    /// What the percentiles, bounds and sum measure.
    pub value: MetricValue,
}

/// A key to split series by: a field with one value per span, and its label in answers.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricKey {
    /// The label (a built-in field's canonical name, an attribute key as written).
    pub label: String,
    /// The field.
    pub field: Field,
}

impl MetricKey {
    /// The key a query names `key` (as in a filter): a built-in field labelled by its
    /// canonical name, or an attribute labelled as written.
    pub fn named(key: &str) -> MetricKey {
        let field = resolve_key(key, Target::Spans);
        let label = match &field {
            Field::Intrinsic(i) => i.name().to_string(),
            Field::Attr { .. } => key.to_string(),
        };
        MetricKey { label, field }
    }

    /// The key of a dimension.
    pub fn of_dim(d: MetricDim) -> MetricKey {
        MetricKey {
            label: d.label().to_string(),
            field: Field::Intrinsic(d.intrinsic()),
        }
    }
}

/// What a query measures besides counts.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    /// Span durations, ns.
    Duration,
    /// A numeric field (spans without a number there are counted, not measured).
    Field(Field),
}

impl SpanMetricsQuery {
    /// The first minute counted and the minute after the last.
    pub fn minutes(&self) -> (i64, i64) {
        (
            self.start_ns.div_euclid(MINUTE_NS),
            self.end_ns.div_euclid(MINUTE_NS) + i64::from(self.end_ns.rem_euclid(MINUTE_NS) != 0),
        )
    }

    /// Start of the first step, ns: the range's first minute.
    pub fn grid_start(&self) -> i64 {
        self.minutes().0.saturating_mul(MINUTE_NS)
    }

    /// The step a minute falls in.
    pub fn step_of(&self, minute: i64) -> i64 {
        (minute - self.minutes().0).div_euclid(self.step_ns / MINUTE_NS)
    }

    /// Checks the request against the rules every store enforces: a range that is not
    /// inverted, a step of whole minutes, at most [`MAX_POINTS`] steps, a plain filter, and
    /// keys and a value with one value per span.
    pub fn check(&self) -> Result<(), StoreError> {
        let bad = |m: String| Err(StoreError::InvalidArgument(m));
        if self.end_ns <= self.start_ns {
            return bad("the range is empty or inverted: end must be after start".into());
        }
        if self.step_ns <= 0 || self.step_ns % MINUTE_NS != 0 {
            return bad("step must be a positive whole number of minutes".into());
        }
        let (first, end) = self.minutes();
        let per_step = self.step_ns / MINUTE_NS;
        let steps = (end - first + per_step - 1) / per_step;
        if steps > MAX_POINTS as i64 {
            return bad(format!(
                "the range has {steps} steps of this size, more than {MAX_POINTS}: choose a larger step or a shorter range"
            ));
        }
        if self.plan.structure.is_some() {
            return bad("span metrics take a plain filter, not a structural query".into());
        }
        let value = match &self.value {
            MetricValue::Duration => None,
            MetricValue::Field(f) => Some(f),
        };
        for field in self.by.iter().map(|k| &k.field).chain(value) {
            if let Field::Attr {
                scope: scope @ (Scope::Event | Scope::Link),
                key,
            } = field
            {
                return bad(format!(
                    "{}{key} has one value per {scope:?} (a span may have many): split and measure by span and resource keys",
                    scope.prefix().unwrap_or_default()
                ).to_lowercase());
            }
        }
        Ok(())
    }

    /// The dimensions of the `by` keys, when each is one.
    pub fn dims(&self) -> Option<Vec<MetricDim>> {
        self.by.iter().map(|k| MetricDim::of(&k.field)).collect()
    }

    /// Whether the cells kept at ingest answer the query: its filter and keys read only
    /// their dimensions and it measures durations.
    pub fn from_cells(&self) -> bool {
        self.value == MetricValue::Duration
            && answerable(&self.plan.pushdown)
            && self.dims().is_some()
    }

    /// The labels of a cell's series (the query is [`SpanMetricsQuery::from_cells`]).
    fn labels_of(&self, key: &CellKey) -> Vec<String> {
        self.by
            .iter()
            .filter_map(|k| MetricDim::of(&k.field))
            .map(|d| key.dim(d).to_string())
            .collect()
    }
}

/// One point of a series: the spans that started in one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricPoint {
    /// Start of the step, ns (for a series' total: the start of the range).
    pub t: i64,
    /// Spans.
    pub count: u64,
    /// Spans with `has_error`.
    pub errors: u64,
    /// Spans measured: all of them for durations, those with a number for a field.
    pub measured: u64,
    /// Smallest value (duration in ns).
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Sum of the values.
    pub sum: f64,
    /// Median (each percentile is within 1 % of the value at its rank).
    pub p50: f64,
    /// 75th percentile, ns.
    pub p75: f64,
    /// 90th percentile, ns.
    pub p90: f64,
    /// 95th percentile, ns.
    pub p95: f64,
    /// 99th percentile, ns.
    pub p99: f64,
}

impl MetricPoint {
    /// A point at `t` = 0 from `[count, errors, measured]`, `[min, max, sum]` and the
    /// [`PERCENTILES`].
    pub fn new(
        [count, errors, measured]: [u64; 3],
        [min, max, sum]: [f64; 3],
        p: [f64; 5],
    ) -> MetricPoint {
        let [p50, p75, p90, p95, p99] = p;
        MetricPoint {
            t: 0,
            count,
            errors,
            measured,
            min,
            max,
            sum,
            p50,
            p75,
            p90,
            p95,
            p99,
        }
    }

    /// The kept percentile `q` (one of [`PERCENTILES`]), `None` for any other.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        let kept = PERCENTILES.iter().position(|k| (k - q).abs() < 1e-9)?;
        Some([self.p50, self.p75, self.p90, self.p95, self.p99][kept])
    }
}

/// One series: the spans of one combination of `by` values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricSeries {
    /// The value of each `by` key, by label (empty when a span has none).
    pub labels: BTreeMap<String, String>,
    /// Steps that have spans, oldest first.
    pub points: Vec<MetricPoint>,
    /// The whole range.
    pub total: MetricPoint,
}

/// Span metrics over a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SpanMetricsAnswer {
    /// Start of the first step, ns.
    pub start_ns: i64,
    /// Step, ns.
    pub step_ns: i64,
    /// Series, most spans first (ties by labels).
    pub series: Vec<MetricSeries>,
    /// Set when more series matched than [`MAX_SERIES`]: only the largest are kept.
    pub series_truncated: bool,
    /// Where the numbers come from.
    pub source: MetricSource,
}

/// Where the numbers of an answer come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MetricSource {
    /// The cells kept at ingest (merged sketches).
    Sketches,
    /// A scan of the matching spans.
    Scan,
}

/// One row a backend computed for a series: one step (`step: Some`) or the whole range.
#[derive(Debug, Clone)]
pub struct MetricRow {
    /// The `by` values, in query order.
    pub labels: Vec<String>,
    /// The step index from [`SpanMetricsQuery::grid_start`], or `None` for the total.
    pub step: Option<i64>,
    /// The numbers (with `t` filled in by [`assemble`]).
    pub point: MetricPoint,
}

/// Merges the cells of `q`'s range that match its filter into series (what a store that
/// keeps cells itself answers with; `q` is [`SpanMetricsQuery::from_cells`]).
pub fn aggregate<'a>(
    q: &SpanMetricsQuery,
    cells: impl IntoIterator<Item = (&'a CellKey, &'a Cell)>,
) -> SpanMetricsAnswer {
    let (first, end) = q.minutes();
    let matching = cells.into_iter().filter(|(key, _)| {
        key.minute >= first && key.minute < end && matches(&q.plan.pushdown, &CellView(key))
    });
    merge_cells(
        q,
        matching.map(|(key, cell)| (q.labels_of(key), key.minute, cell)),
        MetricSource::Sketches,
    )
}

/// Merges cells given with their series labels and minute into series.
fn merge_cells<'a>(
    q: &SpanMetricsQuery,
    cells: impl Iterator<Item = (Vec<String>, i64, &'a Cell)>,
    source: MetricSource,
) -> SpanMetricsAnswer {
    let mut series: HashMap<Vec<String>, (Cell, BTreeMap<i64, Cell>)> = HashMap::new();
    for (labels, minute, cell) in cells {
        let (total, steps) = series.entry(labels).or_default();
        total.merge(cell);
        steps.entry(q.step_of(minute)).or_default().merge(cell);
    }
    let rows = series.into_iter().flat_map(|(labels, (total, steps))| {
        let step_rows: Vec<MetricRow> = steps
            .into_iter()
            .map(|(step, c)| MetricRow {
                labels: labels.clone(),
                step: Some(step),
                point: c.point(),
            })
            .collect();
        step_rows.into_iter().chain([MetricRow {
            labels,
            step: None,
            point: total.point(),
        }])
    });
    assemble(q, rows, source)
}

/// Builds the answer from per-step and total rows (in any order): the [`MAX_SERIES`]
/// series with the most spans, points in time order.
pub fn assemble(
    q: &SpanMetricsQuery,
    rows: impl IntoIterator<Item = MetricRow>,
    source: MetricSource,
) -> SpanMetricsAnswer {
    let start = q.grid_start();
    let mut by_labels: HashMap<Vec<String>, (Option<MetricPoint>, Vec<MetricPoint>)> =
        HashMap::new();
    for mut row in rows {
        let entry = by_labels.entry(row.labels).or_default();
        match row.step {
            Some(step) => {
                row.point.t = start.saturating_add(step.saturating_mul(q.step_ns));
                entry.1.push(row.point);
            }
            None => {
                row.point.t = start;
                entry.0 = Some(row.point);
            }
        }
    }
    let mut series: Vec<MetricSeries> = by_labels
        .into_iter()
        .filter_map(|(labels, (total, mut points))| {
            points.sort_by_key(|p| p.t);
            Some(MetricSeries {
                labels: q.by.iter().map(|k| k.label.clone()).zip(labels).collect(),
                points,
                total: total?,
            })
        })
        .collect();
    series.sort_by(|a, b| {
        b.total
            .count
            .cmp(&a.total.count)
            .then_with(|| a.labels.cmp(&b.labels))
    });
    let series_truncated = series.len() > MAX_SERIES;
    series.truncate(MAX_SERIES);
    SpanMetricsAnswer {
        start_ns: start,
        step_ns: q.step_ns,
        series,
        series_truncated,
        source,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use tracehouse_query::{parse, plan};

    use super::*;

    fn key(minute: i64, service: &str, status: StatusCode) -> CellKey {
        CellKey {
            minute,
            service: service.into(),
            name: "op".into(),
            kind: SpanKind::Server,
            status,
        }
    }

    fn query(filter: &str, by: Vec<MetricDim>) -> SpanMetricsQuery {
        SpanMetricsQuery {
            project_id: "p".into(),
            // As a store folds it when no span has an attribute named like a field.
            plan: plan(&parse(filter).unwrap())
                .without_absent(&|f: &Field| matches!(f, Field::Attr { .. })),
            start_ns: 0,
            end_ns: 10 * MINUTE_NS,
            step_ns: 5 * MINUTE_NS,
            by: by.into_iter().map(MetricKey::of_dim).collect(),
            value: MetricValue::Duration,
        }
    }

    #[test]
    fn cells_merge_into_series_by_step_with_filters_and_survive_serde() {
        let mut m = SpanMetrics::default();
        for (minute, service, d, status) in [
            (0, "a", 100, StatusCode::Ok),
            (4, "a", 200, StatusCode::Error),
            (7, "a", 300, StatusCode::Ok),
            (7, "b", 400, StatusCode::Ok),
            (10, "a", 500, StatusCode::Ok),
        ] {
            m.cell(key(minute, service, status))
                .add(d, status == StatusCode::Error);
        }
        let m: SpanMetrics = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        let a = aggregate(&query("", vec![MetricDim::Service]), m.cells());
        assert_eq!(a.series.len(), 2);
        let s = &a.series[0];
        assert_eq!(s.labels["service_name"], "a");
        assert_eq!((s.total.count, s.total.errors, s.total.sum), (3, 1, 600.0));
        let steps: Vec<(i64, u64)> = s.points.iter().map(|p| (p.t, p.count)).collect();
        assert_eq!(steps, [(0, 2), (5 * MINUTE_NS, 1)]);
        let only = aggregate(&query("status:error OR service:b", vec![]), m.cells());
        assert_eq!(only.series.len(), 1);
        assert_eq!(only.series[0].total.count, 2);
        assert!(only.series[0].labels.is_empty());
    }

    #[test]
    fn checks_say_what_to_change() {
        let mut q = query("service:a", vec![]);
        assert!(q.check().is_ok());
        q.step_ns = 30_000_000_000;
        assert!(q.check().unwrap_err().to_string().contains("minutes"));
        q.step_ns = MINUTE_NS;
        q.end_ns = 2_000 * MINUTE_NS;
        assert!(
            q.check()
                .unwrap_err()
                .to_string()
                .contains("more than 1440")
        );
        let attr = query("http.method:GET", vec![]);
        assert!(attr.check().is_ok() && !attr.from_cells());
        assert!(q.from_cells());
        let mut event = query("", vec![]);
        event.value = MetricValue::Field(Field::Attr {
            scope: Scope::Event,
            key: "size".into(),
        });
        assert!(
            event
                .check()
                .unwrap_err()
                .to_string()
                .contains("event.size")
        );
        let structural = query("{service:a} >> {service:b}", vec![]);
        assert!(
            structural
                .check()
                .unwrap_err()
                .to_string()
                .contains("structural")
        );
        let mut inverted = query("", vec![]);
        inverted.end_ns = inverted.start_ns;
        assert!(
            inverted
                .check()
                .unwrap_err()
                .to_string()
                .contains("inverted")
        );
    }
}
