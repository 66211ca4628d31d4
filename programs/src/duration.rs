//! Durations on command lines, as `sleep` reads them (`1.5`, `2m`, `1e-3`,
//! `infinity`): a number of seconds with an optional `s`/`m`/`h`/`d`
//! suffix; and [`Limit`], a time limit where 0 means "none" (as coreutils
//! `timeout` reads its durations), with [`within`] to run a call under it
//! and [`set_limit`] to start a task's next phase under one.
//!
//! `sleep.rs` still has its own copy of the interval parser; it can move to
//! [`parse_seconds`] (same grammar, same tests).

use std::future::Future;
use std::time::Duration;

use syscalls::Sys;

/// Reads one interval into seconds: a non-negative number with an optional
/// `s`/`m`/`h`/`d` suffix (`infinity` is infinite). `None` if it is not one.
pub fn parse_seconds(text: &str) -> Option<f64> {
    let (number, unit) = match text.as_bytes().last()? {
        b's' => (&text[..text.len() - 1], 1.0),
        b'm' => (&text[..text.len() - 1], 60.0),
        b'h' => (&text[..text.len() - 1], 3600.0),
        b'd' => (&text[..text.len() - 1], 86400.0),
        _ => (text, 1.0),
    };
    let seconds: f64 = number.parse().ok()?;
    if seconds.is_nan() || seconds < 0.0 {
        return None;
    }
    Some(seconds * unit)
}

/// A time limit on some work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The work may take this long.
    After(Duration),
    /// No limit.
    Never,
}

impl Limit {
    /// Reads a limit as [`parse_seconds`] does; 0 and infinity mean no limit.
    pub fn parse(text: &str) -> Option<Limit> {
        let seconds = parse_seconds(text)?;
        Some(match Duration::try_from_secs_f64(seconds) {
            Ok(d) if d.is_zero() => Limit::Never,
            Ok(d) => Limit::After(d),
            Err(_) => Limit::Never,
        })
    }
}

/// Runs `work` under `limit` ([`Sys::timeout`]; a blocked call then returns
/// `ETIMEDOUT`), or as it is with no limit.
pub async fn within<F: Future>(sys: &Sys, limit: Limit, work: F) -> F::Output {
    match limit {
        Limit::After(d) => sys.timeout(d, work).await,
        Limit::Never => work.await,
    }
}

/// Sets the caller's deadline to `limit` from now (none for
/// [`Limit::Never`]): a blocked call then returns `ETIMEDOUT`. For a task
/// whose work comes in phases, one after another, each under its own
/// limit: setting the next phase's deadline takes two calls (`now`,
/// `set_deadline`), where [`within`] takes three for each phase (it also
/// puts the deadline before it back). The caller must have no deadline
/// of its own to keep: this one replaces it.
pub async fn set_limit(sys: &Sys, limit: Limit) {
    let at = match limit {
        Limit::After(d) => Some(sys.now().await.saturating_add(d)),
        Limit::Never => None,
    };
    sys.set_deadline(at).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_take_suffixes_and_fractions() {
        assert_eq!(parse_seconds("2"), Some(2.0));
        assert_eq!(parse_seconds(".5s"), Some(0.5));
        assert_eq!(parse_seconds("1.5m"), Some(90.0));
        assert_eq!(parse_seconds("2h"), Some(7200.0));
        assert_eq!(parse_seconds("1d"), Some(86400.0));
        assert_eq!(parse_seconds("1e-3"), Some(0.001));
        assert_eq!(parse_seconds("infinity"), Some(f64::INFINITY));
        for bad in ["", "x", "-1", "1x", "s", "nan", "1 s", "1ss", "1ms"] {
            assert_eq!(parse_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn set_limit_replaces_the_deadline_in_force() {
        let out = kernel::testing::Harness::new(Vec::new()).run_fn(|sys| async move {
            let second = Duration::from_secs(1);
            set_limit(&sys, Limit::After(Duration::from_secs(5))).await;
            set_limit(&sys, Limit::After(second)).await;
            let t0 = sys.now().await;
            let slept = sys.sleep(Duration::from_secs(3)).await;
            assert_eq!(slept, Err(syscalls::Errno::ETIMEDOUT));
            assert_eq!(sys.now().await - t0, second, "the later limit holds");
            set_limit(&sys, Limit::Never).await;
            assert_eq!(sys.sleep(Duration::from_secs(3)).await, Ok(()));
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
    }

    #[test]
    fn zero_and_infinity_are_no_limit() {
        assert_eq!(
            Limit::parse("0.25"),
            Some(Limit::After(Duration::from_millis(250)))
        );
        assert_eq!(Limit::parse("0"), Some(Limit::Never));
        assert_eq!(Limit::parse("0s"), Some(Limit::Never));
        assert_eq!(Limit::parse("inf"), Some(Limit::Never));
        assert_eq!(Limit::parse("-1"), None);
    }
}
