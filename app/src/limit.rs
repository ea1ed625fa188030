//! Rate limits on failed attempts: guessing passwords or voting codes from one address
//! is slowed down, while honest traffic (which does not fail) is never limited.

use super::ApiError;
use axum::http::StatusCode;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts failures per client address in fixed windows.
pub struct FailureLimit {
    what: &'static str,
    max: u32,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// Entries kept before expired windows are swept out.
const SWEEP_AT: usize = 10_000;

impl FailureLimit {
    /// At most `max` failures of `what` per `window` from one address.
    pub fn new(what: &'static str, max: u32, window: Duration) -> Self {
        Self {
            what,
            max,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// 429 while `ip` has used up its failures in the current window.
    pub fn check(&self, ip: IpAddr) -> Result<(), ApiError> {
        let failures = self.failures.lock().expect("rate limit poisoned");
        if let Some((start, n)) = failures.get(&ip) {
            let elapsed = start.elapsed();
            if elapsed < self.window && *n >= self.max {
                let wait = (self.window - elapsed).as_secs().max(1);
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    wire::ErrorCode::RateLimited,
                    format!(
                        "too many {} from this address; try again in {wait} s",
                        self.what
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Counts one failure from `ip`.
    pub fn record_failure(&self, ip: IpAddr) {
        let mut failures = self.failures.lock().expect("rate limit poisoned");
        if failures.len() >= SWEEP_AT {
            let window = self.window;
            failures.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = failures.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_beyond_the_limit_are_refused_per_address() {
        let limit = FailureLimit::new("failed sign-ins", 3, Duration::from_secs(60));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limit.check(a).is_ok());
            limit.record_failure(a);
        }
        assert!(limit.check(a).is_err());
        assert!(limit.check(b).is_ok());
    }

    #[test]
    fn the_window_resets() {
        let limit = FailureLimit::new("failed sign-ins", 1, Duration::from_millis(20));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        limit.record_failure(a);
        assert!(limit.check(a).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limit.check(a).is_ok());
    }
}
