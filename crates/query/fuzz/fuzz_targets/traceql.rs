//! TraceQL parsing never panics, and an error's range lies on character boundaries of
//! the query.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(q) = std::str::from_utf8(data)
        && let Err(e) = tracehouse_query::traceql::parse(q)
    {
        assert!(e.start <= e.end && e.end <= q.len());
        assert!(q.is_char_boundary(e.start) && q.is_char_boundary(e.end));
    }
});
