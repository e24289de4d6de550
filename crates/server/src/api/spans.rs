//! Spans: the listing by service and name, the search and the histogram.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use tracehouse_model::Span;
use tracehouse_query::Target;
use tracehouse_query::plan::{CmpOp, Field, Filter, Intrinsic, Value};
use tracehouse_store_api::{Histogram, MAX_CANDIDATE_TRACES, SearchCursor, SearchPage};
use utoipa::{IntoParams, ToSchema};

use super::failure::QueryFailures;
use super::params::{HistogramParams, SearchParams, histogram_query, search_query};
use super::{ApiError, ApiState, project_of};
use crate::extract::Query;

/// One page of spans.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpanPage {
    /// Matching spans in the requested order.
    pub spans: Vec<Span>,
    /// Where the next page starts; null when there is none.
    #[schema(value_type = Option<SearchCursor>, required = true)]
    pub next_cursor: Option<String>,
    /// A structural query had more candidate traces than `max_candidate_traces`: only the
    /// newest were evaluated.
    pub candidates_truncated: bool,
    /// Most candidate traces a structural query evaluates.
    pub max_candidate_traces: usize,
}

impl From<SearchPage> for SpanPage {
    fn from(page: SearchPage) -> SpanPage {
        SpanPage {
            spans: page.spans,
            next_cursor: page.next_cursor.map(|c| c.to_string()),
            candidates_truncated: page.candidates_truncated,
            max_candidate_traces: MAX_CANDIDATE_TRACES,
        }
    }
}

/// Query parameters of `GET /api/v1/spans`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListParams {
    /// Exact service name; empty or absent: any.
    service: Option<String>,
    /// Exact span name; empty or absent: any.
    name: Option<String>,
    /// Inclusive start of the window: RFC 3339 or nanoseconds since the epoch. Defaults to
    /// one hour before `end`; must be before `end`.
    start: Option<String>,
    /// Exclusive end of the window: RFC 3339 or nanoseconds since the epoch. Defaults to now.
    end: Option<String>,
    /// Page size: 1 to 1000; outside is a 400.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<usize>,
    /// The `next_cursor` of the previous page; empty or absent starts at the first page.
    cursor: Option<String>,
    /// Not a parameter of the listing: a query (`query` or `q`) is refused with where to
    /// send it, rather than ignored.
    #[param(ignore)]
    #[serde(alias = "q")]
    query: Option<String>,
}

/// List spans by service and name
///
/// A simple listing: spans whose service and name equal the given ones (either may be left
/// out), newest first, in pages.
#[utoipa::path(
    get,
    path = "/api/v1/spans",
    operation_id = "listSpans",
    tag = "spans",
    params(ListParams),
    responses((status = 200, description = "A page of spans.", body = SpanPage), QueryFailures),
)]
pub(super) async fn list_spans(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<ListParams>,
) -> Result<Json<SpanPage>, ApiError> {
    let project = project_of(&state, &headers)?;
    if p.query.is_some() {
        return Err(ApiError::bad_request(
            "GET /api/v1/spans lists spans by `service` and `name` and takes no query: \
             search with one at GET /api/v1/spans/search?query=…",
        ));
    }
    let exact = |intrinsic: Intrinsic, value: Option<String>| {
        value.filter(|v| !v.is_empty()).map(|v| Filter::Cmp {
            field: Field::Intrinsic(intrinsic),
            op: CmpOp::Eq,
            value: Value::Str(v),
        })
    };
    let filters: Vec<Filter> = [
        exact(Intrinsic::ServiceName, p.service),
        exact(Intrinsic::SpanName, p.name),
    ]
    .into_iter()
    .flatten()
    .collect();
    let params = SearchParams {
        query: None,
        lang: None,
        start: p.start,
        end: p.end,
        sort: None,
        limit: p.limit,
        cursor: p.cursor,
    };
    let mut q = search_query(project, &params, Target::Spans)?;
    q.plan.pushdown = if filters.is_empty() {
        Filter::True
    } else {
        Filter::And(filters)
    };
    let page = state.store.search_spans(&q).await?;
    Ok(Json(page.into()))
}

/// Search spans
///
/// Spans matching a query whose start lies in the window, in the requested order, in pages.
#[utoipa::path(
    get,
    path = "/api/v1/spans/search",
    operation_id = "searchSpans",
    tag = "spans",
    params(SearchParams),
    responses((status = 200, description = "A page of spans.", body = SpanPage), QueryFailures),
)]
pub(super) async fn search_spans(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<SearchParams>,
) -> Result<Json<SpanPage>, ApiError> {
    let project = project_of(&state, &headers)?;
    let q = search_query(project, &p, Target::Spans)?;
    let page = state.store.search_spans(&q).await?;
    Ok(Json(page.into()))
}

/// Span counts over time
///
/// Counts of matching spans over the window, split by error.
#[utoipa::path(
    get,
    path = "/api/v1/spans/histogram",
    operation_id = "spanHistogram",
    tag = "spans",
    params(HistogramParams),
    responses((status = 200, description = "The histogram.", body = Histogram), QueryFailures),
)]
pub(super) async fn histogram(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<HistogramParams>,
) -> Result<Json<Histogram>, ApiError> {
    let project_id = project_of(&state, &headers)?;
    let q = histogram_query(project_id, &p, Target::Spans)?;
    Ok(Json(state.store.histogram(&q).await?))
}
