//! Reconnect delays: exponential growth, a cap, an immediate first retry after a stable
//! connection, and per-attempt jitter.

use super::config::Backoff;

/// The delay before retry number `attempt` (1-based), before jitter.
///
/// `after_stable` is true when the retries follow the drop of a connection that stayed open
/// for at least `min_uptime`: the first retry is then immediate and the growth starts one
/// attempt later. Otherwise retry n waits `min · factor^(n-1)`, capped at `max`.
pub fn base_delay(cfg: &Backoff, attempt: u32, after_stable: bool) -> f64 {
    let exponent = match (after_stable, attempt) {
        (true, 0 | 1) => return 0.0,
        (true, n) => n - 2,
        (false, 0) => 0,
        (false, n) => n - 1,
    };
    if cfg.min_delay_ms == 0.0 {
        return 0.0; // nothing to grow
    }
    // Multiplied out (f64::powi is not in `core`), stopping once past the cap; beyond 1000
    // steps the result is long past any sane cap anyway.
    let mut grown = cfg.min_delay_ms;
    for _ in 0..exponent.min(1000) {
        if grown >= cfg.max_delay_ms {
            break;
        }
        grown *= cfg.grow_factor;
    }
    grown.min(cfg.max_delay_ms).max(0.0)
}

/// Applies jitter: a random fraction `jitter` of the delay is removed, so the result lies in
/// `[delay · (1 - jitter), delay]`. `random` must be in `[0, 1)`.
pub fn jittered(delay: f64, jitter: f64, random: f64) -> f64 {
    delay * (1.0 - jitter * random)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// reconnecting-websocket's defaults (1000, 10000, 1.3), which are ours too.
    fn cfg() -> Backoff {
        Backoff::default()
    }

    #[test]
    fn table_matches_reconnecting_websocket_defaults() {
        let c = cfg();
        let expected = [1000.0, 1300.0, 1690.0, 2197.0, 2856.1];
        for (i, want) in expected.iter().enumerate() {
            let got = base_delay(&c, i as u32 + 1, false);
            assert!((got - want).abs() < 1e-6, "attempt {}: {got} != {want}", i + 1);
        }
        assert_eq!(base_delay(&c, 50, false), 10_000.0);
        assert_eq!(base_delay(&c, u32::MAX, false), 10_000.0);
    }

    #[test]
    fn first_retry_after_stable_connection_is_immediate() {
        let c = cfg();
        assert_eq!(base_delay(&c, 1, true), 0.0);
        assert_eq!(base_delay(&c, 2, true), 1000.0);
        assert!((base_delay(&c, 3, true) - 1300.0).abs() < 1e-6);
    }

    #[test]
    fn jitter_bounds() {
        assert_eq!(jittered(1000.0, 0.5, 0.0), 1000.0);
        assert!((jittered(1000.0, 0.5, 0.999_999) - 500.0).abs() < 0.01);
        assert_eq!(jittered(1000.0, 0.0, 0.7), 1000.0);
    }
}
