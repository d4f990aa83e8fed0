//! How many random cases a property test runs: `default` unless `PROPTEST_CASES` says
//! otherwise, never fewer than 64 (so that `PROPTEST_CASES=0` cannot pass silently); a
//! value that is not a number fails too rather than being ignored. Shared by the continuity
//! property tests (`mod cases;`).

use proptest::test_runner::Config;

/// Fewer random cases than this prove too little.
pub const MIN_CASES: u32 = 64;

/// The number of cases to run.
pub fn cases(default: u32) -> u32 {
    let cases = match std::env::var("PROPTEST_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("PROPTEST_CASES={v:?} is not a number of cases")),
        Err(_) => default,
    };
    assert!(
        cases >= MIN_CASES,
        "PROPTEST_CASES={cases}: at least {MIN_CASES} cases are needed to prove anything"
    );
    cases
}

/// A proptest configuration of [`cases`]`(default)` cases that saves no failures (the
/// continuity tests print the failing input instead).
pub fn config(default: u32) -> Config {
    Config {
        cases: cases(default),
        failure_persistence: None,
        ..Config::default()
    }
}
