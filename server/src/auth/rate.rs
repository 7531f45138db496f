//! Rate limits kept in memory (per process): sign-in attempts per client address and reports
//! per ingest token. Failed sign-ins per account are counted in the audit log instead, so that
//! they hold across restarts and across addresses.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The process's limiters.
pub struct Limiters {
    login: DefaultKeyedRateLimiter<IpAddr>,
    ingest: DefaultKeyedRateLimiter<i64>,
    clock: DefaultClock,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters").finish_non_exhaustive()
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl Limiters {
    /// `login_per_minute` sign-in attempts per address, `ingest_per_minute` reports per token
    /// (each as a burst that refills evenly over the minute).
    pub fn new(login_per_minute: u32, ingest_per_minute: u32) -> Self {
        Limiters {
            login: RateLimiter::keyed(per_minute(login_per_minute)),
            ingest: RateLimiter::keyed(per_minute(ingest_per_minute)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts a sign-in attempt from `ip`; `Err(seconds)` to wait when over the limit.
    pub fn login(&self, ip: IpAddr) -> Result<(), u64> {
        self.login
            .check_key(&ip)
            .map_err(|until| until.wait_time_from(self.clock.now()).as_secs().max(1))
    }

    /// Counts a report sent with token `token_id`; `Err(seconds)` when over the limit.
    pub fn ingest(&self, token_id: i64) -> Result<(), u64> {
        self.ingest
            .check_key(&token_id)
            .map_err(|until| until.wait_time_from(self.clock.now()).as_secs().max(1))
    }

    /// Forgets keys that are back to a full allowance (called periodically).
    pub fn shrink(&self) {
        self.login.retain_recent();
        self.ingest.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_applies_per_key() {
        let limits = Limiters::new(2, 1);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!(limits.login(a).is_ok());
        assert!(limits.login(a).is_ok());
        let wait = limits.login(a).expect_err("third attempt in a minute");
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(limits.login(b).is_ok());
        assert!(limits.ingest(7).is_ok());
        assert!(limits.ingest(7).is_err());
        assert!(limits.ingest(8).is_ok());
    }
}
