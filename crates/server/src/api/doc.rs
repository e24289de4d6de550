//! The OpenAPI 3.1 document of the JSON API, derived from the routes' `#[utoipa::path]`s
//! and the types they answer; the project key's two spellings and the shared failure
//! responses are added by [`Components`].

use tracehouse_store_api::SearchSort;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    alerts, analysis, errors, failure, keys, logs, ops, otel_metrics, params, replay, services,
    sessions, span_metrics, spans, traces, typical, views,
};

/// Name of the header that carries a project key.
pub(crate) const KEY_HEADER: &str = "x-tracehouse-key";

/// The document's derivation: every route of the router, its tags and its security.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tracehouse JSON API",
        description = "Query spans, traces, log records, error groups, sessions, span \
            metrics and OTLP metrics stored by tracehouse.\n\nEvery `/api/v1` route reads one project: the one whose key is sent \
            in the `x-tracehouse-key` header or as `authorization: Bearer <key>`. When no \
            projects are configured the server runs in open mode and needs no key. Times in \
            responses are integer nanoseconds since the Unix epoch; ids are lowercase hex. \
            Window parameters `start`/`end` take RFC 3339 or nanoseconds; `end` defaults to \
            now and `start` to an hour before it. Failures are JSON bodies \
            `{\"error\": {\"message\": ...}}`, also for unknown routes (404) and methods a \
            route does not answer (405): every route answers GET, saved views and alert rules \
            also PUT and DELETE, `/api/v1/alerts` also POST.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        traces::get_trace,
        analysis::stats,
        analysis::compare_traces,
        typical::typical_trace,
        spans::list_spans,
        spans::search_spans,
        spans::histogram,
        traces::search_traces,
        traces::histogram,
        keys::keys,
        keys::values,
        logs::search_logs,
        logs::log_histogram,
        errors::error_groups,
        errors::error_group,
        sessions::sessions,
        sessions::session,
        views::list,
        views::get_view,
        views::save,
        views::delete,
        alerts::list,
        alerts::create,
        alerts::get_alert,
        alerts::replace,
        alerts::delete,
        alerts::history,
        replay::session_replay,
        span_metrics::span_metrics,
        otel_metrics::names,
        otel_metrics::labels,
        otel_metrics::label_values_of,
        otel_metrics::query,
        services::services,
        services::operations,
        services::graph,
        ops::openapi,
        ops::healthz,
        ops::readyz,
        ops::metrics,
    ),
    // The failure responses of `Components` and the `sort` and `lang` parameters name these, and
    // alert webhooks send the notification body; the derive collects only the schemas that
    // bodies name.
    components(schemas(
        failure::ErrorBody,
        SearchSort,
        params::QueryLang,
        crate::alerts::notify::AlertNotification
    )),
    modifiers(&Components),
    security(("projectKey" = []), ("bearerKey" = []), ()),
    tags(
        (name = "spans", description = "Span search, listing and histogram."),
        (name = "traces", description = "Trace search and trace by id."),
        (name = "autocomplete", description = "Keys and values seen at ingest."),
        (name = "logs", description = "Log record search and histogram."),
        (name = "errors", description = "Error occurrences grouped by fingerprint."),
        (name = "sessions", description = "Browser sessions."),
        (name = "views", description = "Saved views: named searches of the project."),
        (name = "alerts", description = "Alert rules, their state and history. Webhook channels \
            receive the `AlertNotification` schema as their JSON body."),
        (name = "metrics", description = "Span metrics (rate, errors, duration) over time, and OTLP metrics: names, labels and one metric over time."),
        (name = "operations", description = "Health, readiness, metrics and this document."),
    ),
)]
struct ApiDoc;

/// Adds what the derive cannot: the security schemes of the project key and the reusable
/// failure responses the routes refer to.
struct Components;

impl Modify for Components {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "projectKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                KEY_HEADER,
                "A project key from the server configuration.",
            ))),
        );
        components.add_security_scheme(
            "bearerKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The same project key as `authorization: Bearer <key>` (used when \
                         `x-tracehouse-key` is absent).",
                    ))
                    .build(),
            ),
        );
        for (name, response) in failure::responses() {
            components
                .responses
                .insert(name.to_string(), response.into());
        }
    }
}

/// The OpenAPI document as pretty-printed JSON.
pub fn openapi_json() -> Result<String, serde_json::Error> {
    ApiDoc::openapi().to_pretty_json()
}
