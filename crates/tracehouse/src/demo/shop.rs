//! The demo's shop: a small web shop whose pages use the browser SDK (loaded from the
//! tracehouse server, see `tracehouse_server::sdk_bundle`) and whose API is a service
//! instrumented with `tracehouse-sdk` (axum server spans, sqlx spans over an in-memory SQLite
//! database) exporting its metrics too: request durations by route
//! (`http.server.request.duration`, from the SDK's server layer) and orders placed
//! (`shop.orders.placed`, by the number of items). It runs as its own process (`tracehouse demo-shop`, started by `tracehouse demo`)
//! because the SDK installs process-wide tracing, which must not trace the server itself.
//!
//! It prints `listening on http://ADDR` once serving, and `tour done` when a scripted visit
//! (a page opened with `?tour=1`, see `web/shop.js`) has finished and flushed its telemetry.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{FromRef, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Args;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row as _;
use sqlx::sqlite::{Sqlite, SqlitePoolOptions};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tracehouse_sdk::axum::TraceLayer;
use tracehouse_sdk::opentelemetry::KeyValue;
use tracehouse_sdk::opentelemetry::metrics::Counter;
use tracehouse_sdk::sqlx::TracedPool;
use tracehouse_sdk::{Config, Protocol, record_error};

/// Options of the hidden `tracehouse demo-shop` command.
#[derive(Debug, Clone, Args)]
pub struct ShopArgs {
    /// Address of the shop's pages and API (port 0 picks any).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// The tracehouse API (serves the browser SDK's module).
    #[arg(long)]
    pub api: String,
    /// The OTLP/HTTP receiver both the pages and the API send to.
    #[arg(long)]
    pub otlp: String,
}

const INDEX: &str = include_str!("web/index.html");
const CHECKOUT: &str = include_str!("web/checkout.html");
const SCRIPT: &str = include_str!("web/shop.js");

/// The shop's catalogue: sku, name, price in cents, stock.
const ITEMS: [(&str, &str, i64, i64); 3] = [
    ("tea", "Green tea", 450, 12),
    ("mug", "Mug", 1200, 3),
    ("pot", "Teapot", 3400, 1),
];

/// Runs the shop until killed.
pub async fn run(args: ShopArgs) -> anyhow::Result<()> {
    let guard = tracehouse_sdk::init(
        Config::new()
            .service_name("shop-api")
            .service_version(env!("CARGO_PKG_VERSION"))
            .environment("demo")
            .endpoint(args.otlp.clone())
            .protocol(Protocol::HttpProtobuf)
            // Metrics every 10 s rather than every minute: the demo shows them soon.
            .metric_interval(Duration::from_secs(10))
            .console(false),
    )?;
    let shop = Shop {
        pool: database().await?,
        orders: tracehouse_sdk::meter("shop-api")
            .u64_counter("shop.orders.placed")
            .with_description("Orders placed, by their number of items.")
            .build(),
    };
    let script = SCRIPT
        .replace("__TRACEHOUSE_API__", &args.api)
        .replace("__TRACEHOUSE_OTLP__", &args.otlp);
    let app = Router::new()
        .route("/api/items", get(items))
        .route("/api/cart/{sku}", post(add_to_cart))
        .route("/api/orders", post(order))
        .route("/api/coupons", post(coupon))
        .layer(TraceLayer::new())
        .route("/", get(|| async { Html(INDEX) }))
        .route("/checkout", get(|| async { Html(CHECKOUT) }))
        .route(
            "/shop.js",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    script,
                )
            }),
        )
        .route("/tour/done", post(tour_done))
        .with_state(shop);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    guard.shutdown()?;
    Ok(())
}

/// What the handlers share.
#[derive(Clone)]
struct Shop {
    pool: TracedPool<Sqlite>,
    orders: Counter<u64>,
}

impl FromRef<Shop> for TracedPool<Sqlite> {
    fn from_ref(shop: &Shop) -> TracedPool<Sqlite> {
        shop.pool.clone()
    }
}

/// The catalogue in an in-memory SQLite database (one connection that never closes: the
/// database lives as long as it).
async fn database() -> anyhow::Result<TracedPool<Sqlite>> {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect("sqlite::memory:")
        .await?;
    let pool = TracedPool::new(pool);
    pool.execute(sqlx::query(
        "CREATE TABLE items (sku TEXT PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL, \
         stock INTEGER NOT NULL)",
    ))
    .await?;
    pool.execute(sqlx::query(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, items INTEGER NOT NULL)",
    ))
    .await?;
    for (sku, name, price, stock) in ITEMS {
        pool.execute(
            sqlx::query("INSERT INTO items (sku, name, price, stock) VALUES (?, ?, ?, ?)")
                .bind(sku)
                .bind(name)
                .bind(price)
                .bind(stock),
        )
        .await?;
    }
    Ok(pool)
}

async fn items(State(pool): State<TracedPool<Sqlite>>) -> Result<Json<Value>, ShopError> {
    let rows = pool
        .fetch_all(sqlx::query(
            "SELECT sku, name, price FROM items ORDER BY sku",
        ))
        .await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "sku": r.get::<String, _>("sku"),
                "name": r.get::<String, _>("name"),
                "price": r.get::<i64, _>("price"),
            })
        })
        .collect();
    Ok(Json(json!({ "items": list })))
}

/// Puts an item in the cart if it is in stock.
async fn add_to_cart(
    State(pool): State<TracedPool<Sqlite>>,
    Path(sku): Path<String>,
) -> Result<Json<Value>, ShopError> {
    let row = pool
        .fetch_optional(sqlx::query("SELECT name, stock FROM items WHERE sku = ?").bind(&sku))
        .await?
        .ok_or_else(|| ShopError::NotFound(sku.clone()))?;
    let (name, stock) = (row.get::<String, _>("name"), row.get::<i64, _>("stock"));
    tracing::info!(%sku, stock, "added to cart");
    Ok(Json(
        json!({ "sku": sku, "name": name, "in_stock": stock > 0 }),
    ))
}

#[derive(Deserialize)]
struct OrderBody {
    items: u32,
}

/// Records an order.
async fn order(
    State(Shop { pool, orders }): State<Shop>,
    Json(body): Json<OrderBody>,
) -> Result<Json<Value>, ShopError> {
    let row = pool
        .fetch_one(
            sqlx::query("INSERT INTO orders (items) VALUES (?) RETURNING id")
                .bind(i64::from(body.items)),
        )
        .await?;
    let id = row.get::<i64, _>("id");
    tracing::info!(order = id, items = body.items, "order placed");
    orders.add(1, &[KeyValue::new("items", i64::from(body.items))]);
    Ok(Json(json!({ "order": id })))
}

/// Fails on purpose: the coupons table does not exist, so the trace shows an exception.
async fn coupon(State(pool): State<TracedPool<Sqlite>>) -> Result<Json<Value>, ShopError> {
    pool.fetch_optional(sqlx::query(
        "SELECT discount FROM coupons WHERE code = 'TEA10'",
    ))
    .await?;
    Ok(Json(json!({ "discount": 10 })))
}

/// A scripted visit has flushed its telemetry: tell `tracehouse demo` (which reads stdout).
async fn tour_done() -> StatusCode {
    println!("tour done");
    StatusCode::NO_CONTENT
}

#[derive(Debug)]
enum ShopError {
    NotFound(String),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for ShopError {
    fn from(e: sqlx::Error) -> ShopError {
        ShopError::Database(e)
    }
}

impl IntoResponse for ShopError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            ShopError::NotFound(sku) => (StatusCode::NOT_FOUND, format!("no item {sku}")),
            ShopError::Database(e) => {
                record_error(e);
                (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

/// The running shop process, started by `tracehouse demo`.
pub struct ShopProcess {
    /// The shop's address, `http://…`.
    pub url: String,
    /// A message each time a scripted visit says it is done.
    pub visits_done: mpsc::Receiver<()>,
    /// Killed when dropped.
    _child: tokio::process::Child,
}

/// Starts `tracehouse demo-shop` (this same binary) on `listen`, sending to the server's API
/// and OTLP/HTTP addresses, and waits until it serves.
pub async fn start(
    listen: SocketAddr,
    api: SocketAddr,
    otlp_http: SocketAddr,
) -> anyhow::Result<ShopProcess> {
    let exe = std::env::current_exe().context("cannot find this binary to start the shop")?;
    let mut child = tokio::process::Command::new(exe)
        .arg("demo-shop")
        .args(["--listen", &listen.to_string()])
        .args(["--api", &format!("http://{api}")])
        .args(["--otlp", &format!("http://{otlp_http}")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the demo shop")?;
    let stdout = child.stdout.take().context("the shop's output")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        match lines.next_line().await? {
            Some(line) => {
                if let Some(url) = line.strip_prefix("listening on ") {
                    break url.to_string();
                }
            }
            None => anyhow::bail!("the demo shop exited before serving (is {listen} free?)"),
        }
    };
    let (tx, visits_done) = mpsc::channel(4);
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if line == "tour done" {
                let _ = tx.try_send(());
            }
        }
    });
    Ok(ShopProcess {
        url,
        visits_done,
        _child: child,
    })
}
