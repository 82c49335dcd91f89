//! Token buckets per client address and per signing key, bounded in the number of
//! clients they remember.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

/// Most clients remembered; past it, idle buckets (full again) are forgotten first.
pub const CLIENTS_MAX: usize = 100_000;
/// How often, at most, a full limiter looks for idle buckets to forget. Between two
/// sweeps a new client is refused: a flood of new addresses (an IPv6 range is cheap)
/// cannot make every request scan the whole table under the lock.
pub const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// A rate limit: `per_second` requests on average, bursts of `burst`.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<Buckets>,
}

#[derive(Debug, Default)]
struct Buckets {
    clients: BTreeMap<String, (f64, Instant)>,
    last_sweep: Option<Instant>,
}

impl RateLimiter {
    /// A limiter allowing `per_second` requests per client, bursts of `burst`.
    pub fn new(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter { per_second: f64::from(per_second), burst: f64::from(burst.max(1)), buckets: Mutex::default() }
    }

    /// Takes one token for `client` at `now`; false if it has none left.
    pub fn allow(&self, client: &str, now: Instant) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else { return false };
        if buckets.clients.len() >= CLIENTS_MAX && !buckets.clients.contains_key(client) {
            if buckets.last_sweep.is_some_and(|at| now.saturating_duration_since(at) < SWEEP_INTERVAL) {
                return false;
            }
            buckets.last_sweep = Some(now);
            let (per_second, burst) = (self.per_second, self.burst);
            buckets.clients.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * per_second < burst
            });
            if buckets.clients.len() >= CLIENTS_MAX {
                return false;
            }
        }
        let (tokens, at) = buckets.clients.entry(client.to_string()).or_insert((self.burst, now));
        let refilled = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            true
        } else {
            *tokens = refilled;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_its_rate_and_others_are_unaffected() {
        let limiter = RateLimiter::new(10, 3);
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.allow("a", t0)));
        assert!(!limiter.allow("a", t0), "the burst is spent");
        assert!(limiter.allow("b", t0), "another client has its own bucket");
        assert!(limiter.allow("a", t0 + Duration::from_millis(100)), "one token back after 1/rate");
        assert!(!limiter.allow("a", t0 + Duration::from_millis(100)));
        assert!((0..3).all(|_| limiter.allow("a", t0 + Duration::from_secs(10))), "refills up to the burst only");
        assert!(!limiter.allow("a", t0 + Duration::from_secs(10)));
    }

    #[test]
    fn a_full_limiter_sweeps_at_most_once_per_interval() {
        let limiter = RateLimiter::new(1_000, 1);
        let t0 = Instant::now();
        for i in 0..CLIENTS_MAX {
            assert!(limiter.allow(&i.to_string(), t0));
        }
        // Every bucket is spent: the sweep finds none to forget, and until the interval
        // passes new clients are refused without another scan.
        assert!(!limiter.allow("new", t0));
        let swept = limiter.buckets.lock().unwrap().last_sweep;
        assert!(!limiter.allow("newer", t0 + Duration::from_millis(500)));
        assert_eq!(limiter.buckets.lock().unwrap().last_sweep, swept, "no second sweep within the interval");
        // Later, the buckets have refilled (idle): a sweep forgets them and admits the client.
        assert!(limiter.allow("newest", t0 + SWEEP_INTERVAL + Duration::from_millis(10)));
    }
}
