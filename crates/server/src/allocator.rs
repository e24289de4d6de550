//! The process allocator of the server binaries (`tracehouse`, `tracehouse-bench`), and how
//! it is tuned so that the process stays within `--memory-limit`.
//!
//! Under sustained ingest with flushes, compaction and queries on other threads, glibc's
//! per-thread arenas kept freed Arrow buffers resident: 1.5 GB peak RSS under a 256 MiB
//! budget whose live heap peaked at 213 MB (heaptrack). mimalloc returns freed pages to the
//! system, and with its purge delay at zero it does so at once rather than a second later
//! (mimalloc 3's default), by which time the next flush has allocated again: 0.61–0.70 →
//! 0.44 GB peak in `crates/tracehouse/tests/memory.rs`.

/// The allocator; each binary declares it as its `#[global_allocator]`.
pub type Allocator = mimalloc::MiMalloc;

/// `mi_option_purge_delay` of `mimalloc.h`'s `mi_option_e` (mimalloc 3, which the bindings
/// build), which the bindings do not name.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tunes the allocator; call first thing in `main`. mimalloc's own environment variables
/// still apply: `MIMALLOC_PURGE_DELAY` (milliseconds) overrides the purge delay set here.
pub fn init() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: `mi_option_set` only stores an option value; it takes no pointers and may be
    // called at any time, from any thread.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_delay_is_the_option_it_claims_to_be() {
        // SAFETY: reads an option value.
        #[allow(unsafe_code)]
        let get = || unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        assert_eq!(get(), 1000, "mimalloc 3's default purge delay, 1000 ms");
        init();
        assert_eq!(get(), 0);
    }
}
