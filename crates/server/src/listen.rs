//! The listeners' accept loop and the HTTP connections it serves.
//!
//! Every listener (API, OTLP/HTTP, OTLP/gRPC) accepts through an [`Acceptor`]: it holds at
//! most `max_connections` connections at once (each one carries a semaphore permit; one past
//! the limit is accepted and closed at once, so it neither waits unseen in the kernel backlog
//! nor costs a descriptor), and when accepting fails for want of resources (`EMFILE`,
//! `ENFILE`, `ENOBUFS`, …) it sleeps 100 ms, doubling up to 1 s, instead of spinning, logging
//! at most once per ten seconds.
//!
//! [`serve_http`] runs hyper on those connections with the [`ConnectionLimits`]: HTTP/1 request
//! heads must arrive within `header_read_timeout` (hyper's own timer, which also bounds the wait
//! for a keep-alive connection's next request), a new connection must start a request within
//! it, and a connection with nothing in flight for `idle_timeout` is shut down gracefully
//! (HTTP/2 GOAWAY); HTTP/2 peers that stop answering keep-alive pings are dropped. A connection
//! that does not finish within one more `header_read_timeout` after being told to close is
//! dropped. On shutdown, connections with nothing in flight are dropped at once and the others
//! once their requests in flight are answered, so a silent or slow client cannot hold it up.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

use crate::config::ConnectionLimits;

/// First pause after a failed accept; doubled on each further failure.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest pause after failed accepts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// At most one log line per this interval for each kind of trouble of a listener.
const LOG_EVERY: Duration = Duration::from_secs(10);
/// How often a connection draining at shutdown looks whether its requests have finished.
const DRAIN_CHECK: Duration = Duration::from_millis(100);
/// Most connections one listener may be configured to hold.
pub const MAX_CONNECTIONS_LIMIT: usize = 1 << 20;

/// Logs a recurring condition at most once per [`LOG_EVERY`], counting what it held back.
#[derive(Debug, Default)]
struct RateLimited {
    last: Option<Instant>,
    held_back: u64,
}

impl RateLimited {
    /// Whether to log now, and how many occurrences were not logged since the last line.
    fn hit(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < LOG_EVERY => {
                self.held_back += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held_back))
            }
        }
    }
}

/// An accept error that concerns one connection only (the peer gave up before it was
/// accepted): the next accept can follow at once.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// A listener that holds a bounded number of connections and backs off when accepting fails.
pub struct Acceptor {
    listener: TcpListener,
    permits: Arc<Semaphore>,
    max_connections: usize,
    what: &'static str,
    over_limit: RateLimited,
    failing: RateLimited,
}

impl Acceptor {
    /// Accepts on `listener` (`what` names it in logs), holding at most `max_connections`
    /// (clamped to `1..=MAX_CONNECTIONS_LIMIT`).
    pub fn new(listener: TcpListener, max_connections: usize, what: &'static str) -> Acceptor {
        let max_connections = max_connections.clamp(1, MAX_CONNECTIONS_LIMIT);
        Acceptor {
            listener,
            permits: Arc::new(Semaphore::new(max_connections)),
            max_connections,
            what,
            over_limit: RateLimited::default(),
            failing: RateLimited::default(),
        }
    }

    /// The next connection within the limit. Cancel-safe.
    pub async fn accept(&mut self) -> Conn {
        let mut backoff = MIN_BACKOFF;
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    backoff = MIN_BACKOFF;
                    let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                        drop(stream);
                        if let Some(held_back) = self.over_limit.hit(Instant::now()) {
                            tracing::warn!(
                                listener = self.what,
                                max_connections = self.max_connections,
                                also_refused = held_back,
                                "connection limit reached: closing new connections until some \
                                 end (raise --max-connections if these clients are legitimate)"
                            );
                        }
                        continue;
                    };
                    // Small responses go out at once; failing to set it only costs latency.
                    let _ = stream.set_nodelay(true);
                    return Conn {
                        stream,
                        peer,
                        _permit: permit,
                    };
                }
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    if let Some(held_back) = self.failing.hit(Instant::now()) {
                        tracing::error!(
                            listener = self.what,
                            error = %e,
                            also_failed = held_back,
                            "cannot accept connections (out of file descriptors? raise \
                             `ulimit -n` or lower --max-connections); retrying in {backoff:?}"
                        );
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Stops listening, then waits until every connection accepted so far has ended.
    pub async fn drain(self) {
        let Acceptor {
            listener,
            permits,
            max_connections,
            ..
        } = self;
        drop(listener);
        let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
        // Fails only if the semaphore were closed, which nothing does.
        let _ = permits.acquire_many(all).await;
    }
}

/// An accepted connection; it counts against its listener's limit until dropped.
pub struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// What a connection is doing, for its idle watchdog.
struct Activity {
    accepted: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `accepted` of the last request start or end; `u64::MAX` before the
    /// first request.
    last_ms: AtomicU64,
}

/// Marks a request in flight until dropped.
struct InFlight(Arc<Activity>);

impl Activity {
    fn new(accepted: Instant) -> Activity {
        Activity {
            accepted,
            in_flight: AtomicUsize::new(0),
            last_ms: AtomicU64::new(u64::MAX),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.touch();
        InFlight(self.clone())
    }

    /// When the connection is due to be closed if nothing happens until then: a new connection
    /// must start a request within the header timeout, an idle one is closed after the idle
    /// timeout. With a request in flight, the answer is only when to look again.
    fn deadline(&self, limits: &ConnectionLimits) -> Instant {
        match self.last_ms.load(Ordering::Relaxed) {
            u64::MAX => self.accepted + limits.header_read_timeout,
            ms => self.accepted + Duration::from_millis(ms) + limits.idle_timeout,
        }
    }

    fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > 0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The hyper connection builder for the HTTP listeners.
fn builder(limits: &ConnectionLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.idle_timeout / 2)
        .keep_alive_timeout(limits.header_read_timeout);
    builder
}

/// Serves `router` on the acceptor's connections until `shutdown` turns true, then stops
/// accepting and waits for the requests in flight.
pub async fn serve_http(
    mut acceptor: Acceptor,
    router: Router,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let builder = Arc::new(builder(&limits));
    loop {
        let conn = tokio::select! {
            conn = acceptor.accept() => conn,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        tokio::spawn(serve_connection(
            builder.clone(),
            conn,
            router.clone(),
            limits,
            shutdown.clone(),
        ));
    }
    acceptor.drain().await;
}

/// One connection: hyper with the idle watchdog and the shutdown signal.
async fn serve_connection(
    builder: Arc<auto::Builder<TokioExecutor>>,
    conn: Conn,
    router: Router,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let peer = conn.peer;
    let activity = Arc::new(Activity::new(Instant::now()));
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let in_flight = activity.begin();
            let router = router.clone();
            async move {
                let response = router.oneshot(request).await;
                drop(in_flight);
                response
            }
        })
    };
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(conn), service);
    tokio::pin!(connection);
    let mut state = Closing::No;
    loop {
        let deadline = match state {
            Closing::Idle(deadline) => deadline,
            Closing::Shutdown => Instant::now() + DRAIN_CHECK,
            // Look again once the request could have ended and the connection idled out.
            Closing::No if activity.busy() => Instant::now() + limits.idle_timeout,
            Closing::No => activity.deadline(&limits),
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = shutdown.wait_for(|stop| *stop), if state != Closing::Shutdown => {
                if !activity.busy() {
                    return;
                }
                connection.as_mut().graceful_shutdown();
                state = Closing::Shutdown;
            }
            _ = tokio::time::sleep_until(deadline.into()) => match state {
                Closing::Shutdown if !activity.busy() => return,
                Closing::Shutdown => {}
                Closing::Idle(_) => {
                    tracing::debug!(%peer, "connection did not close in time: dropped");
                    return;
                }
                Closing::No => {
                    if !activity.busy() && Instant::now() >= activity.deadline(&limits) {
                        tracing::debug!(%peer, "idle connection closed");
                        connection.as_mut().graceful_shutdown();
                        state = Closing::Idle(Instant::now() + limits.header_read_timeout);
                    }
                }
            },
        }
    }
}

/// Whether and why a connection is being closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    /// Serving.
    No,
    /// Idle too long: told to close, dropped if it has not by then.
    Idle(Instant),
    /// The server is stopping: the requests in flight finish, then the connection is dropped
    /// whatever else it was doing (a request head half received is no request to finish).
    Shutdown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limited_logs_once_per_interval_and_counts_the_rest() {
        let mut r = RateLimited::default();
        let t0 = Instant::now();
        assert_eq!(r.hit(t0), Some(0));
        assert_eq!(r.hit(t0 + Duration::from_secs(1)), None);
        assert_eq!(r.hit(t0 + Duration::from_secs(2)), None);
        assert_eq!(r.hit(t0 + LOG_EVERY + Duration::from_secs(1)), Some(2));
    }

    #[test]
    fn deadlines_of_new_idle_and_used_connections() {
        let limits = ConnectionLimits {
            header_read_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(7),
            ..ConnectionLimits::default()
        };
        let t0 = Instant::now();
        let a = Arc::new(Activity::new(t0));
        assert_eq!(a.deadline(&limits), t0 + Duration::from_secs(2));
        let request = a.begin();
        assert!(a.busy());
        drop(request);
        assert!(!a.busy());
        assert!(a.deadline(&limits) >= t0 + Duration::from_secs(7));
    }

    #[tokio::test]
    async fn connections_past_the_limit_are_closed_and_slots_come_back() {
        use tokio::io::AsyncReadExt;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut acceptor = Acceptor::new(listener, 1, "test");
        let _c1 = TcpStream::connect(addr).await.expect("connect");
        let first = acceptor.accept().await;
        let mut c2 = TcpStream::connect(addr).await.expect("connect");
        let pending = tokio::time::timeout(Duration::from_millis(200), acceptor.accept()).await;
        assert!(
            pending.is_err(),
            "a second connection was accepted past the limit"
        );
        let mut buf = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(5), c2.read(&mut buf))
            .await
            .expect("the refused connection is closed promptly");
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
        drop(first);
        let _c3 = TcpStream::connect(addr).await.expect("connect");
        tokio::time::timeout(Duration::from_secs(5), acceptor.accept())
            .await
            .expect("a freed slot takes the next connection");
    }
}
