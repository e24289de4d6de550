//! Zipkin v2 compatibility: span ingest on the OTLP/HTTP port (`POST /api/v2/spans`, JSON
//! and proto3, run through the OTLP ingest path) and the v2 query API on the API port under `/zipkin`, so
//! Zipkin reporters and Zipkin-speaking tools (Grafana's Zipkin data source, the Zipkin UI)
//! work against tracehouse. `docs/zipkin.md` documents the mapping and what is served.
//!
//! `wire` holds the two encodings of a Zipkin span, `to_otlp` and `from_model` the two
//! directions of the mapping, `ingest` and `query` the routes.

mod from_model;
mod ingest;
mod query;
mod to_otlp;
mod wire;

pub(crate) use ingest::post_spans;
pub(crate) use query::routes;
