//! Sign-in throttling: failed attempts per account and per source address in a sliding window.
//! In-process; with several replicas each enforces its own window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct LoginLimiter {
    window: Duration,
    per_account: usize,
    per_address: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(Duration::from_secs(300), 5, 20)
    }
}

impl LoginLimiter {
    pub fn new(window: Duration, per_account: usize, per_address: usize) -> Self {
        Self {
            window,
            per_account,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` while the account or the address has too many recent failures.
    pub fn check(&self, account: &str, address: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("limiter lock");
        let mut wait = 0;
        for (key, limit) in [
            (format!("account:{account}"), self.per_account),
            (format!("address:{address}"), self.per_address),
        ] {
            if let Some(times) = failures.get_mut(&key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    times.pop_front();
                }
                if times.len() >= limit {
                    let oldest = *times.front().expect("non-empty");
                    wait = wait.max((self.window - now.duration_since(oldest)).as_secs() + 1);
                }
            }
        }
        if wait > 0 {
            Err(wait)
        } else {
            Ok(())
        }
    }

    pub fn record_failure(&self, account: &str, address: &str) {
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("limiter lock");
        for key in [format!("account:{account}"), format!("address:{address}")] {
            failures.entry(key).or_default().push_back(now);
        }
    }

    pub fn record_success(&self, account: &str) {
        self.failures
            .lock()
            .expect("limiter lock")
            .remove(&format!("account:{account}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_an_account_after_its_limit_and_an_address_after_its_own() {
        let l = LoginLimiter::new(Duration::from_secs(60), 3, 5);
        for _ in 0..3 {
            assert!(l.check("alice", "10.0.0.1").is_ok());
            l.record_failure("alice", "10.0.0.1");
        }
        let wait = l.check("alice", "10.0.0.2").unwrap_err();
        assert!(wait > 0 && wait <= 61);
        assert!(
            l.check("bob", "10.0.0.2").is_ok(),
            "other accounts from other addresses are fine"
        );
        l.record_failure("bob", "10.0.0.1");
        l.record_failure("carol", "10.0.0.1");
        assert!(
            l.check("dave", "10.0.0.1").is_err(),
            "the address is blocked after 5 failures"
        );
        l.record_success("alice");
        assert!(l.check("alice", "10.0.0.3").is_ok());
    }

    #[test]
    fn failures_expire_after_the_window() {
        let l = LoginLimiter::new(Duration::from_millis(50), 1, 10);
        l.record_failure("a", "ip");
        assert!(l.check("a", "ip").is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(l.check("a", "ip").is_ok());
    }
}
