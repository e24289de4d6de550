//! The process allocator of the server binaries (`tracehouse`, `tracehouse-bench`), and how
//! it is tuned so that the process stays within `--memory-limit` without spending its CPU
//! on page faults.
//!
//! Under sustained ingest with flushes, compaction and queries on other threads, glibc's
//! per-thread arenas kept freed Arrow buffers resident: 1.5 GB peak RSS under a 256 MiB
//! budget whose live heap peaked at 213 MB (heaptrack). mimalloc returns freed pages to the
//! system; two options decide what that costs:
//!
//! - the **purge delay**: mimalloc 3 waits a second before returning freed memory, by which
//!   time the next flush has allocated again (0.61–0.70 GB peak in
//!   `crates/tracehouse/tests/memory.rs`); returning it at once (0.44 GB) made every
//!   request's buffers fault in fresh, zeroed pages. 10 ms keeps the buffers of requests
//!   that follow each other and still gives memory back between bursts;
//! - **transparent huge pages**: with them, each fault zeroes 2 MiB and purges happen in
//!   2 MiB steps; without them, a buffer touches only the pages it uses.
//!
//! Measured with `tracehouse bench --spans 400000` (CPU per span ingested, peak RSS): purge
//! at once with huge pages 21.8 µs, 633 MB; at once without 17.1–19.3 µs, 535–544 MB; 10 ms
//! without 14.5–15.1 µs, 563–570 MB; 25 ms without 14.0–15.6 µs, 607–626 MB.

/// The allocator; each binary declares it as its `#[global_allocator]`.
pub type Allocator = mimalloc::MiMalloc;

/// `mi_option_purge_delay` of `mimalloc.h`'s `mi_option_e` (mimalloc 3, which the bindings
/// build), which the bindings do not name.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// `mi_option_allow_thp` of the same enumeration.
const ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

/// The options set, each with the environment variable of mimalloc's that overrides it.
const TUNING: [(libmimalloc_sys::mi_option_t, std::ffi::c_long, &str); 2] = [
    (PURGE_DELAY, 10, "MIMALLOC_PURGE_DELAY"),
    (ALLOW_THP, 0, "MIMALLOC_ALLOW_THP"),
];

/// Tunes the allocator; call first thing in `main`. mimalloc's own environment variables
/// still apply: `MIMALLOC_PURGE_DELAY` (milliseconds) and `MIMALLOC_ALLOW_THP` (0 or 1)
/// override the values set here.
pub fn init() {
    for (option, value, variable) in TUNING {
        if std::env::var_os(variable).is_none() {
            // SAFETY: `mi_option_set` only stores an option value; it takes no pointers and
            // may be called at any time, from any thread.
            #[allow(unsafe_code)]
            unsafe {
                libmimalloc_sys::mi_option_set(option, value);
            }
        }
    }
}

/// Returns the memory this thread's heap (and the abandoned heaps of finished threads) has
/// freed to the system now, instead of after the purge delay: for a process about to measure
/// its resident memory (the benchmark, once its data set is generated).
pub fn release_free_memory() {
    // SAFETY: `mi_collect` takes no pointers; it frees and purges memory that is no longer
    // allocated, and may be called at any time, from any thread.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_the_ones_they_claim_to_be() {
        // SAFETY: reads option values.
        #[allow(unsafe_code)]
        let get = |option| unsafe { libmimalloc_sys::mi_option_get(option) };
        assert_eq!(
            get(PURGE_DELAY),
            1000,
            "mimalloc 3's default purge delay, 1000 ms"
        );
        assert_eq!(
            get(ALLOW_THP),
            1,
            "mimalloc 3 allows transparent huge pages"
        );
        init();
        assert_eq!(get(PURGE_DELAY), 10);
        assert_eq!(get(ALLOW_THP), 0);
    }
}
