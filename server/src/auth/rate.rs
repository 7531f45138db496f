//! Rate limits: the in-memory limiters of this process (sign-in attempts per client address,
//! reports per ingest token), and the rules of the sign-in throttle, whose state is kept in
//! PostgreSQL (`db::login_throttle`) so that it holds across restarts and processes.
//!
//! # The sign-in throttle
//!
//! Failed sign-ins are counted per *pair* of login name and client address, never per account
//! alone: a count per account lets anyone who knows an address (the default administrator's is
//! printed in the README) lock its owner out by failing on purpose. A pair gets
//! [`AuthSettings::login_failures_per_account`](super::AuthSettings) free failures; each
//! further one makes that pair wait, 2, 4, 8, … seconds up to [`SignInBackoff::LONGEST_WAIT`]
//! ([`SignInBackoff::wait_after`]). While a pair waits its attempts are refused without the
//! password being checked, so guessing from one address slows to one try per quarter hour,
//! while the owner signing in from anywhere else is not slowed at all. A success forgets the
//! pair; so does a day without failures ([`SignInBackoff::FORGET_AFTER`]), and
//! `bulwark user unlock` forgets every pair of an account.
//!
//! Each attempt is charged to its pair *before* the password is checked (and forgotten again
//! when it was right), so parallel guesses from one address cannot slip past the count while
//! the slow hash runs. Login names are counted whether or not an account has them, so a pause
//! tells nothing about which accounts exist. An IPv6 client counts as its /64 network: one
//! host usually holds a whole /64 and could otherwise start afresh from each of its addresses.
//!
//! There is deliberately no ceiling per account across addresses. Any such ceiling is a lever
//! for the denial of service this throttle exists to prevent: a hard one locks the owner out,
//! and a delay added to every attempt on the account makes the owner wait as long as the
//! attacker keeps guessing (while each waiting request holds server resources that the
//! attacker chose to spend). What bounds guessing from many addresses is the password policy
//! (12 characters at least), each address's own backoff, the per-address request limit above,
//! and the audit log: every failure is recorded with its address, and a `login.throttled`
//! entry marks each pair that starts waiting, so guessing spread over many addresses shows as
//! many such entries for one login name.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::time::Duration;

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

/// How failed sign-ins slow down the (login name, client address) pair they come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignInBackoff {
    free_failures: u32,
}

impl SignInBackoff {
    /// The longest a pair ever waits between attempts.
    pub const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);
    /// A pair without a failure for this long starts again with its free failures (and
    /// housekeeping drops it).
    pub const FORGET_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

    /// Pairs may fail `free_failures` times in a row before they wait.
    pub fn new(free_failures: u32) -> Self {
        SignInBackoff { free_failures }
    }

    /// How long a pair waits after its `failures`-th failure in a row: not at all within the
    /// free failures, then 2 seconds, doubling with each further failure, at most
    /// [`Self::LONGEST_WAIT`].
    pub fn wait_after(self, failures: u32) -> Option<Duration> {
        let beyond = failures
            .checked_sub(self.free_failures)
            .filter(|k| *k > 0)?;
        let seconds = 1u64.checked_shl(beyond).unwrap_or(u64::MAX);
        Some(Duration::from_secs(seconds).min(Self::LONGEST_WAIT))
    }

    /// Whether the `failures`-th failure is the one that makes a pair start waiting (the
    /// moment the audit log records, once per pair rather than once per refused attempt).
    pub fn starts_waiting(self, failures: u32) -> bool {
        failures == self.free_failures.saturating_add(1)
    }
}

/// The login-name half of a throttle pair: as typed, trimmed and lower-cased (so that
/// `Admin@Example.com` and `admin@example.com` share their pairs).
pub fn throttle_login(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The address half of a throttle pair, as PostgreSQL `inet` text: an IPv4 address as it is
/// (also when it arrives IPv4-mapped), an IPv6 address as its /64 network, and `::` when the
/// address is unknown (every such request then shares one pair).
pub fn throttle_client(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            let network = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{network}/64")
        }
        None => Ipv6Addr::UNSPECIFIED.to_string(),
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

    #[test]
    fn a_pair_waits_only_after_its_free_failures_and_ever_longer() {
        let backoff = SignInBackoff::new(5);
        for failures in 0..=5 {
            assert_eq!(backoff.wait_after(failures), None, "{failures}");
        }
        let secs = |failures| backoff.wait_after(failures).map(|d| d.as_secs());
        assert_eq!(secs(6), Some(2));
        assert_eq!(secs(7), Some(4));
        assert_eq!(secs(10), Some(32));
        assert_eq!(secs(14), Some(512));
        // 2^10 s would be longer than the longest wait
        assert_eq!(secs(15), Some(900));
        assert_eq!(secs(5 + 64), Some(900), "no overflow past 2^63");
        assert_eq!(secs(u32::MAX), Some(900));
    }

    #[test]
    fn the_wait_never_shrinks_as_failures_grow() {
        let backoff = SignInBackoff::new(3);
        let waits: Vec<Duration> = (0..200)
            .map(|f| backoff.wait_after(f).unwrap_or_default())
            .collect();
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert_eq!(waits.last(), Some(&SignInBackoff::LONGEST_WAIT));
    }

    #[test]
    fn a_pair_starts_waiting_once() {
        let backoff = SignInBackoff::new(5);
        let starts: Vec<u32> = (0..100).filter(|f| backoff.starts_waiting(*f)).collect();
        assert_eq!(starts, [6]);
        assert!(SignInBackoff::new(0).starts_waiting(1));
        assert_eq!(
            SignInBackoff::new(0).wait_after(1),
            Some(Duration::from_secs(2))
        );
        assert!(!SignInBackoff::new(u32::MAX).starts_waiting(0));
    }

    #[test]
    fn pairs_are_keyed_by_login_name_and_address_or_ipv6_network() {
        assert_eq!(
            throttle_login("  Admin@Bulwark.LOCAL "),
            "admin@bulwark.local"
        );
        let v4: IpAddr = [203, 0, 113, 9].into();
        assert_eq!(throttle_client(Some(v4)), "203.0.113.9");
        let mapped: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert_eq!(throttle_client(Some(mapped)), "203.0.113.9");
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::7".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(throttle_client(Some(a)), "2001:db8:1:2::/64");
        assert_eq!(throttle_client(Some(a)), throttle_client(Some(b)));
        assert_ne!(throttle_client(Some(a)), throttle_client(Some(other)));
        assert_eq!(throttle_client(None), "::");
    }
}
