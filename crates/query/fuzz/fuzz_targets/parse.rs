//! Fuzz target: the parser never panics, and any query it accepts prints to text that
//! parses back to the same tree (and plans without panicking).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ast) = tracehouse_query::parse(text) {
        let printed = ast.to_string();
        match tracehouse_query::parse(&printed) {
            Ok(again) => assert_eq!(
                again, ast,
                "round trip changed {text:?} (printed {printed:?})"
            ),
            Err(e) => panic!("printed form of {text:?} does not parse: {printed:?}: {e}"),
        }
        let _ = tracehouse_query::plan(&ast);
    }
});
