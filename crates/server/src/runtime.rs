//! The async runtime of the server binaries (`tracehouse`, `tracehouse-bench`).
//!
//! Store reads, flushes and compaction run on tokio's blocking pool. Left at tokio's
//! default of 512 threads, a busy server grew a new blocking thread whenever every
//! existing one was busy and kept it: each holds its own allocator heap, and memory freed
//! from another thread into an idle thread's heap stays resident until that thread runs
//! again. In `crates/tracehouse/tests/memory.rs` (256 MiB budget, a trace search every
//! second) the process reached 46 threads and its resident memory climbed with them to
//! 515–882 MB; capped at [`MAX_BLOCKING_THREADS`] it levels at 15 threads and 390 MB.
//! On two cores more blocking threads do not add throughput; tasks past the cap wait
//! their turn.

/// Threads of the blocking pool.
pub const MAX_BLOCKING_THREADS: usize = 8;

/// A multi-threaded runtime with every driver enabled and the blocking pool capped.
pub fn build() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tracehouse")
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
}
