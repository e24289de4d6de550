//! Group commit: one thread per table owns its write-ahead log. It encodes and writes every
//! queued batch (into one reused buffer), fsyncs once for the whole group, and only then
//! publishes the group's rows to the memtable and acknowledges each writer. [`Writer`] is
//! the handle the rest of the engine talks to it through.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::array::RecordBatch;
use parking_lot::RwLock;
use tokio::sync::{mpsc, oneshot};

use crate::error::StoreError;
use crate::write::memtable::{PartitionStats, TableState};
use crate::write::wal::Wal;

/// Records queued for the WAL thread before writers wait for room.
const QUEUE: usize = 4096;

enum WalMsg {
    Append {
        batch: RecordBatch,
        stats: PartitionStats,
        done: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Seal the segment and freeze the memtable; answers the sealed segment number.
    Rotate(oneshot::Sender<Result<u64, StoreError>>),
    /// Remove the segments through this number; answers once they are gone.
    RemoveThrough(u64, oneshot::Sender<()>),
}

/// What the WAL thread shares with the rest of the table: its size and why writes last
/// failed, for statistics and readiness.
#[derive(Default)]
struct WalShared {
    bytes: AtomicU64,
    /// Set when an append or fsync failed; cleared by the next durable group.
    failure: parking_lot::Mutex<Option<String>>,
}

/// The handle of a table's WAL thread.
pub(crate) struct Writer {
    tx: mpsc::Sender<WalMsg>,
    shared: Arc<WalShared>,
}

impl Writer {
    /// Starts the WAL thread of a table whose rows are published into `state`.
    pub(crate) fn spawn(wal: Wal, state: Arc<RwLock<TableState>>) -> std::io::Result<Writer> {
        let shared = Arc::new(WalShared::default());
        shared.bytes.store(wal.bytes(), Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(QUEUE);
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("tracehouse-wal".into())
            .spawn(move || wal_loop(wal, rx, &state, &thread_shared))?;
        Ok(Writer { tx, shared })
    }

    /// Logs `batch`; returns once it is fsynced and in the memtable.
    pub(crate) async fn append(
        &self,
        batch: RecordBatch,
        stats: PartitionStats,
    ) -> Result<(), StoreError> {
        let (done, rx) = oneshot::channel();
        self.send(WalMsg::Append { batch, stats, done }).await?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Seals the current segment and freezes the memtable at the same moment; returns the
    /// sealed segment's number.
    pub(crate) async fn rotate(&self) -> Result<u64, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(WalMsg::Rotate(tx)).await?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Drops the segments up to `seq`, whose rows are now in committed parts, and returns
    /// once they are gone (so a flush that returned left no flushed log behind: the bench
    /// measured a whole metrics WAL as stored data once, when it sized the directory first).
    pub(crate) async fn remove_through(&self, seq: u64) {
        // A closed WAL thread has nothing left to remove; the next open replays from the
        // manifest's flushed sequence whatever remains.
        let (done, removed) = oneshot::channel();
        if self.tx.send(WalMsg::RemoveThrough(seq, done)).await.is_ok() {
            let _ = removed.await;
        }
    }

    /// Bytes in the log.
    pub(crate) fn bytes(&self) -> u64 {
        self.shared.bytes.load(Ordering::Relaxed)
    }

    /// Why writes are failing, if they are.
    pub(crate) fn failure(&self) -> Option<String> {
        self.shared.failure.lock().clone()
    }

    async fn send(&self, msg: WalMsg) -> Result<(), StoreError> {
        self.tx.send(msg).await.map_err(|_| StoreError::Closed)
    }
}

/// An appended batch waiting for its group's fsync.
type Pending = (
    RecordBatch,
    PartitionStats,
    oneshot::Sender<Result<(), StoreError>>,
);

/// The WAL thread's state: the log, the group waiting for its fsync, and whether the log
/// must be cut back to its last durable record before it takes another write.
struct WalWriter<'a> {
    wal: Wal,
    pending: Vec<Pending>,
    needs_recovery: bool,
    state: &'a RwLock<TableState>,
    shared: &'a WalShared,
}

/// The WAL thread: writes queued records, fsyncs once per group, then publishes the group's
/// rows to the memtable and acknowledges each writer.
fn wal_loop(
    wal: Wal,
    mut rx: mpsc::Receiver<WalMsg>,
    state: &RwLock<TableState>,
    shared: &WalShared,
) {
    let mut w = WalWriter {
        wal,
        pending: Vec::new(),
        needs_recovery: false,
        state,
        shared,
    };
    while let Some(first) = rx.blocking_recv() {
        let mut msg = Some(first);
        while let Some(m) = msg.take() {
            w.handle(m);
            msg = rx.try_recv().ok();
        }
        w.commit_group();
        shared.bytes.store(w.wal.bytes(), Ordering::Relaxed);
    }
    w.commit_group();
}

impl WalWriter<'_> {
    fn handle(&mut self, msg: WalMsg) {
        match msg {
            WalMsg::Append { batch, stats, done } => {
                if let Err(e) = self.recovered() {
                    let _ = done.send(Err(e));
                } else if let Err(e) = self.wal.append_batch(&batch) {
                    self.pending.push((batch, stats, done));
                    self.fail(format!("WAL write failed: {e}"));
                } else {
                    self.pending.push((batch, stats, done));
                }
            }
            WalMsg::Rotate(done) => {
                self.commit_group();
                let result = self
                    .recovered()
                    .and_then(|()| Ok(self.wal.rotate()?))
                    .inspect(|_| self.state.write().mem.freeze());
                let _ = done.send(result);
            }
            WalMsg::RemoveThrough(seq, done) => {
                if let Err(e) = self.wal.remove_through(seq) {
                    tracing::warn!(error = %e, "could not remove flushed WAL segments");
                }
                let _ = done.send(());
            }
        }
    }

    /// Cuts the log back to its last durable record if a failure left it behind; refuses
    /// the write (retryable) while that is impossible.
    fn recovered(&mut self) -> Result<(), StoreError> {
        if !self.needs_recovery {
            return Ok(());
        }
        match self.wal.recover() {
            Ok(()) => {
                self.needs_recovery = false;
                tracing::info!(
                    "write-ahead log cut back to its last durable record; taking writes again"
                );
                Ok(())
            }
            Err(e) => Err(StoreError::Unavailable(format!(
                "the write-ahead log cannot be repaired after a failed write ({e}); writes resume once it can"
            ))),
        }
    }

    /// Fails every write of the pending group: none of them is durable. The failure is
    /// recorded before the writers hear of it, so a client that was refused finds the
    /// store reported unready.
    fn fail(&mut self, reason: String) {
        tracing::error!("{reason}; the writes of this group are refused (retryable)");
        *self.shared.failure.lock() = Some(reason.clone());
        self.needs_recovery = true;
        for (_, _, done) in self.pending.drain(..) {
            let _ = done.send(Err(StoreError::Unavailable(reason.clone())));
        }
    }

    /// One fsync for every pending append, then publish and acknowledge them.
    fn commit_group(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        if let Err(e) = self.wal.sync() {
            // What the failed fsync covered is not durable: it is cut off before the next
            // write, and every write of the group is refused.
            self.fail(format!("WAL fsync failed: {e}"));
            return;
        }
        let mut st = self.state.write();
        for (batch, stats, _) in &self.pending {
            st.mem.publish(batch, stats);
        }
        drop(st);
        for (_, _, done) in self.pending.drain(..) {
            let _ = done.send(Ok(()));
        }
        self.shared.failure.lock().take();
    }
}
