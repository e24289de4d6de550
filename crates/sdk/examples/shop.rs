//! A two-service shop instrumented only through tracehouse-sdk.
//!
//! * `inventory` keeps stock in SQLite (sqlx) and serves `GET /items/{sku}`; `GET /reserve`
//!   fails on purpose (a missing table), to show an `exception` event.
//! * `storefront` serves `GET /checkout/{sku}?quantity=N` and `GET /reserve`, calling the
//!   inventory over reqwest.
//!
//! Run a tracehouse server (`tracehouse serve`), then in two terminals:
//!
//! ```sh
//! cargo run -p tracehouse-sdk --example shop -- inventory --listen 127.0.0.1:3001
//! cargo run -p tracehouse-sdk --example shop -- storefront --listen 127.0.0.1:3000 \
//!     --inventory http://127.0.0.1:3001
//! curl -H 'x-highlight-request: my-session/1' 'http://127.0.0.1:3000/checkout/tea?quantity=2'
//! ```
//!
//! Metrics too: the storefront counts orders placed (`shop.orders.placed` by `sku`) and
//! records checkout durations (`shop.checkout.duration`, a histogram in seconds by
//! `outcome`); the inventory counts stock lookups (`shop.stock.lookups` by `found`). They
//! are exported every minute (`OTEL_METRIC_EXPORT_INTERVAL` in ms) and when a service stops.
//!
//! Traces go to `TRACEHOUSE_ENDPOINT` (default `http://localhost:4318`, OTLP/HTTP); set
//! `TRACEHOUSE_PROTOCOL=grpc` and a `:4317` endpoint for gRPC.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row as _;
use sqlx::sqlite::{Sqlite, SqlitePoolOptions};
use tracehouse_sdk::axum::TraceLayer;
use tracehouse_sdk::opentelemetry::KeyValue;
use tracehouse_sdk::opentelemetry::metrics::{Counter, Histogram};
use tracehouse_sdk::sqlx::TracedPool;
use tracehouse_sdk::{Config, record_error};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let role = args.first().map(String::as_str).unwrap_or("");
    let (default_listen, app) = match role {
        "inventory" => ("127.0.0.1:3001", None),
        "storefront" => ("127.0.0.1:3000", flag("--inventory")),
        _ => {
            eprintln!("usage: shop inventory|storefront [--listen ADDR] [--inventory URL]");
            std::process::exit(2);
        }
    };
    let listen = flag("--listen").unwrap_or_else(|| default_listen.to_string());

    // The two lines: set up tracing (and logs and metrics), record panics.
    let guard = tracehouse_sdk::init(
        Config::new()
            .service_name(format!("shop-{role}"))
            .service_version(env!("CARGO_PKG_VERSION")),
    )?;
    tracehouse_sdk::install_panic_hook();

    let router = match role {
        "inventory" => inventory().await?,
        _ => storefront(app.unwrap_or_else(|| "http://127.0.0.1:3001".to_string())),
    };
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("{role} listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await?;
    guard.shutdown()?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

// ---- inventory ----------------------------------------------------------------------

async fn inventory() -> Result<Router, BoxError> {
    // One connection that never closes: the in-memory database lives as long as it.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect("sqlite::memory:")
        .await?;
    let pool = TracedPool::new(pool);
    pool.execute(sqlx::query(
        "CREATE TABLE items (sku TEXT PRIMARY KEY, name TEXT NOT NULL, stock INTEGER NOT NULL)",
    ))
    .await?;
    for (sku, name, stock) in [("tea", "Green tea", 12), ("mug", "Mug", 3)] {
        pool.execute(
            sqlx::query("INSERT INTO items (sku, name, stock) VALUES (?, ?, ?)")
                .bind(sku)
                .bind(name)
                .bind(stock),
        )
        .await?;
    }
    let lookups = tracehouse_sdk::meter("shop")
        .u64_counter("shop.stock.lookups")
        .with_description("Stock lookups, by whether the item exists.")
        .build();
    Ok(Router::new()
        .route("/items/{sku}", get(item))
        .route("/reserve", get(reserve))
        .layer(TraceLayer::new())
        .with_state(Inventory { pool, lookups }))
}

#[derive(Clone)]
struct Inventory {
    pool: TracedPool<Sqlite>,
    lookups: Counter<u64>,
}

async fn item(
    State(Inventory { pool, lookups }): State<Inventory>,
    Path(sku): Path<String>,
) -> Result<Json<Value>, AppError> {
    let found = lookup(&pool, &sku).await?;
    lookups.add(1, &[KeyValue::new("found", found.is_some())]);
    match found {
        Some((name, stock)) => Ok(Json(json!({ "sku": sku, "name": name, "stock": stock }))),
        None => Err(AppError::NotFound(sku)),
    }
}

/// Stock of one item; `sku` becomes a span attribute.
#[tracing::instrument(skip(pool))]
async fn lookup(pool: &TracedPool<Sqlite>, sku: &str) -> Result<Option<(String, i64)>, AppError> {
    let row = pool
        .fetch_optional(sqlx::query("SELECT name, stock FROM items WHERE sku = ?").bind(sku))
        .await
        .map_err(AppError::Database)?;
    let found = row.map(|r| (r.get::<String, _>("name"), r.get::<i64, _>("stock")));
    tracing::info!(found = found.is_some(), "stock looked up");
    Ok(found)
}

/// Fails on purpose: the reservations table does not exist.
async fn reserve(State(Inventory { pool, .. }): State<Inventory>) -> Result<Json<Value>, AppError> {
    pool.execute(sqlx::query("INSERT INTO reservations (sku) VALUES ('tea')"))
        .await
        .map_err(|e| AppError::Reservation(ReservationError(e)))?;
    Ok(Json(json!({ "reserved": true })))
}

/// Reserving stock failed.
#[derive(Debug)]
struct ReservationError(sqlx::Error);

impl std::fmt::Display for ReservationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("could not reserve stock")
    }
}

impl std::error::Error for ReservationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[derive(Debug)]
enum AppError {
    NotFound(String),
    Database(sqlx::Error),
    Reservation(ReservationError),
    Upstream(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            AppError::NotFound(sku) => (StatusCode::NOT_FOUND, format!("no item {sku}")),
            AppError::Database(e) => {
                record_error(e);
                (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
            AppError::Reservation(e) => {
                // The exception event carries the source chain as its stacktrace.
                record_error(e);
                (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
            AppError::Upstream(m) => (StatusCode::BAD_GATEWAY, m.clone()),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

// ---- storefront ---------------------------------------------------------------------

#[derive(Clone)]
struct Storefront {
    http: reqwest_middleware::ClientWithMiddleware,
    inventory: String,
    orders: Counter<u64>,
    durations: Histogram<f64>,
}

fn storefront(inventory: String) -> Router {
    let meter = tracehouse_sdk::meter("shop");
    let state = Storefront {
        http: tracehouse_sdk::reqwest::client(reqwest::Client::new()),
        inventory,
        orders: meter
            .u64_counter("shop.orders.placed")
            .with_description("Orders placed, by item.")
            .build(),
        durations: meter
            .f64_histogram("shop.checkout.duration")
            .with_unit("s")
            .with_description("Checkout duration, by outcome.")
            .build(),
    };
    Router::new()
        .route("/checkout/{sku}", get(checkout_handler))
        .route("/reserve", get(reserve_proxy))
        .layer(TraceLayer::new())
        .with_state(state)
}

#[derive(Deserialize)]
struct CheckoutQuery {
    quantity: Option<u32>,
}

async fn checkout_handler(
    State(shop): State<Storefront>,
    Path(sku): Path<String>,
    Query(q): Query<CheckoutQuery>,
) -> Result<Json<Value>, AppError> {
    let started = Instant::now();
    let result = checkout(&shop, &sku, q.quantity.unwrap_or(1)).await;
    let outcome = match &result {
        Ok(order) if order["in_stock"] == true => {
            shop.orders.add(1, &[KeyValue::new("sku", sku)]);
            "placed"
        }
        Ok(_) => "out_of_stock",
        Err(_) => "failed",
    };
    shop.durations.record(
        started.elapsed().as_secs_f64(),
        &[KeyValue::new("outcome", outcome)],
    );
    result.map(Json)
}

/// Checks stock with the inventory service; `sku` and `quantity` become span attributes.
#[tracing::instrument(skip(shop))]
async fn checkout(shop: &Storefront, sku: &str, quantity: u32) -> Result<Value, AppError> {
    log::info!("checking out {quantity} x {sku}");
    let resp = shop
        .http
        .get(format!("{}/items/{sku}", shop.inventory))
        .send()
        .await
        .map_err(|e| AppError::Upstream(e.to_string()))?;
    if resp.status() == StatusCode::NOT_FOUND {
        return Err(AppError::NotFound(sku.to_string()));
    }
    let item: Value = resp
        .json()
        .await
        .map_err(|e| AppError::Upstream(e.to_string()))?;
    let stock = item["stock"].as_i64().unwrap_or(0);
    Ok(json!({ "sku": sku, "quantity": quantity, "in_stock": stock >= i64::from(quantity) }))
}

async fn reserve_proxy(State(shop): State<Storefront>) -> Result<Json<Value>, AppError> {
    let resp = shop
        .http
        .get(format!("{}/reserve", shop.inventory))
        .send()
        .await
        .map_err(|e| AppError::Upstream(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(AppError::Upstream(format!(
            "inventory said {}",
            resp.status()
        )));
    }
    Ok(Json(json!({ "reserved": true })))
}
