//! Client spans for sqlx queries (feature `sqlx`).
//!
//! [`TracedPool`] wraps a [`sqlx::Pool`] and runs each query inside a span of
//! kind client named after the SQL operation (`SELECT items`), with `db.system.name`
//! (`sqlite`, `postgresql`, `mysql`) and `db.query.text`. Bound parameters are never
//! recorded: the text holds placeholders only. A failing query records an `exception` event
//! and marks the span as an error.
//!
//! sqlx has no query hook, and its `Executor` trait has a method that exists only under
//! some sqlx features, so a wrapping executor would break for some users; the wrapper
//! therefore offers the four common calls itself and gives access to the pool for anything
//! else ([`query_span`] instruments those by hand).
//!
//! ```
//! use tracehouse_sdk::sqlx::TracedPool;
//!
//! # async fn run() -> Result<(), sqlx::Error> {
//! let pool = TracedPool::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
//! pool.execute(sqlx::query("CREATE TABLE items (sku TEXT, stock INTEGER)")).await?;
//! let row = pool
//!     .fetch_optional(sqlx::query("SELECT stock FROM items WHERE sku = ?").bind("tea"))
//!     .await?;
//! # let _ = row; Ok(()) }
//! ```

use ::sqlx::error::BoxDynError;
use ::sqlx::{Database, Execute, Executor, Pool, SqlStr};
use tracing::Instrument as _;

/// A pool whose queries are traced (see the [module docs](self)).
#[derive(Debug)]
pub struct TracedPool<DB: Database> {
    pool: Pool<DB>,
}

impl<DB: Database> Clone for TracedPool<DB> {
    fn clone(&self) -> Self {
        TracedPool {
            pool: self.pool.clone(),
        }
    }
}

/// The OpenTelemetry `db.system.name` of a sqlx database.
pub fn db_system<DB: Database>() -> &'static str {
    match DB::NAME {
        "SQLite" => "sqlite",
        "PostgreSQL" => "postgresql",
        "MySQL" => "mysql",
        _ => "other_sql",
    }
}

/// A client span for running `sql` against a `system` database (`db.system.name`), named
/// after the statement's operation and first table; instrument a query future with it.
pub fn query_span(system: &str, sql: &str) -> tracing::Span {
    tracing::info_span!(
        target: "tracehouse_sdk::db",
        "db query",
        otel.name = %span_name(sql),
        otel.kind = "client",
        db.system.name = system,
        db.query.text = sql,
        db.operation.name = %operation(sql).unwrap_or_default(),
    )
}

/// The first keyword of a statement (`SELECT`, `INSERT`, …).
fn operation(sql: &str) -> Option<String> {
    let word = sql
        .trim_start()
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()?;
    (!word.is_empty() && word.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| word.to_ascii_uppercase())
}

/// `OPERATION table` after OpenTelemetry's database span naming, or `OPERATION`, or `db`.
fn span_name(sql: &str) -> String {
    let Some(op) = operation(sql) else {
        return "db".to_string();
    };
    let words: Vec<&str> = sql.split_whitespace().collect();
    let after = |kw: &str| {
        words
            .iter()
            .position(|w| w.eq_ignore_ascii_case(kw))
            .and_then(|i| words.get(i + 1))
            .map(|t| {
                t.trim_start_matches(['"', '`', '['])
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                    .collect::<String>()
            })
            .filter(|t| !t.is_empty())
    };
    let table = match op.as_str() {
        "SELECT" | "DELETE" => after("FROM"),
        "INSERT" => after("INTO"),
        "UPDATE" => words.get(1).map(|t| t.to_string()),
        _ => None,
    };
    match table {
        Some(t) => format!("{op} {t}"),
        None => op,
    }
}

/// A query taken apart to read its SQL, then put back together for execution.
struct Replay<DB: Database> {
    sql: SqlStr,
    arguments: Option<Result<Option<DB::Arguments>, BoxDynError>>,
    persistent: bool,
}

impl<'q, DB: Database> Execute<'q, DB> for Replay<DB> {
    fn sql(self) -> SqlStr {
        self.sql
    }

    fn statement(&self) -> Option<&DB::Statement> {
        None
    }

    fn take_arguments(&mut self) -> Result<Option<DB::Arguments>, BoxDynError> {
        self.arguments.take().unwrap_or(Ok(None))
    }

    fn persistent(&self) -> bool {
        self.persistent
    }
}

fn replay<'q, DB: Database, E: Execute<'q, DB>>(mut query: E) -> Replay<DB> {
    let arguments = Some(query.take_arguments());
    let persistent = query.persistent();
    Replay {
        sql: query.sql(),
        arguments,
        persistent,
    }
}

impl<DB: Database> TracedPool<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// Wraps `pool`.
    pub fn new(pool: Pool<DB>) -> TracedPool<DB> {
        TracedPool { pool }
    }

    /// The underlying pool (its queries are not traced).
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    fn span(&self, query: &Replay<DB>) -> tracing::Span {
        query_span(db_system::<DB>(), query.sql.as_str())
    }

    /// Runs a statement; returns what it changed.
    pub async fn execute<'q, E: Execute<'q, DB> + 'q>(
        &self,
        query: E,
    ) -> Result<DB::QueryResult, ::sqlx::Error> {
        let query = replay(query);
        let span = self.span(&query);
        let result = self.pool.execute(query).instrument(span.clone()).await;
        finish(&span, result)
    }

    /// Runs a query; returns all rows.
    pub async fn fetch_all<'q, E: Execute<'q, DB> + 'q>(
        &self,
        query: E,
    ) -> Result<Vec<DB::Row>, ::sqlx::Error> {
        let query = replay(query);
        let span = self.span(&query);
        let result = self.pool.fetch_all(query).instrument(span.clone()).await;
        finish(&span, result)
    }

    /// Runs a query; returns exactly one row (`RowNotFound` otherwise).
    pub async fn fetch_one<'q, E: Execute<'q, DB> + 'q>(
        &self,
        query: E,
    ) -> Result<DB::Row, ::sqlx::Error> {
        let query = replay(query);
        let span = self.span(&query);
        let result = self.pool.fetch_one(query).instrument(span.clone()).await;
        finish(&span, result)
    }

    /// Runs a query; returns at most one row.
    pub async fn fetch_optional<'q, E: Execute<'q, DB> + 'q>(
        &self,
        query: E,
    ) -> Result<Option<DB::Row>, ::sqlx::Error> {
        let query = replay(query);
        let span = self.span(&query);
        let result = self
            .pool
            .fetch_optional(query)
            .instrument(span.clone())
            .await;
        finish(&span, result)
    }
}

fn finish<T>(span: &tracing::Span, result: Result<T, ::sqlx::Error>) -> Result<T, ::sqlx::Error> {
    if let Err(err) = &result {
        crate::record_error_on(span, err);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(span_name("SELECT a FROM items WHERE x = ?"), "SELECT items");
        assert_eq!(
            span_name("  insert into orders(a) values (?)"),
            "INSERT orders"
        );
        assert_eq!(span_name("UPDATE stock SET n = 1"), "UPDATE stock");
        assert_eq!(span_name("DELETE FROM \"t\""), "DELETE t");
        assert_eq!(span_name("CREATE TABLE t (a)"), "CREATE");
        assert_eq!(span_name(""), "db");
        assert_eq!(span_name("-- comment"), "db");
    }
}
