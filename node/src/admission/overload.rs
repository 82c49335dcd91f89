//! Admission control: refuse early what the chain cannot commit soon.
//!
//! Past saturation a pool that takes everything grows until every transaction in it waits
//! seconds, blocks grow to their limit, rounds lengthen and time out, and committed
//! throughput falls below its peak (issue 20 measured 55 %). Refusing instead keeps the
//! queue to what the pipeline drains within a target delay: the pool may hold at most
//! `target × capacity` transactions, where capacity is the commit rate the node has
//! *measured*, the highest rate of the last seconds decaying slowly, so it follows the
//! machine and the workload rather than a configured guess. A client refused is told when
//! to come back (`Retry-After`, the time the excess takes to drain at that rate).
//!
//! The limit never falls below a floor (a burst on an idle chain, whose measured rate is
//! only its demand, is admitted), and the estimate climbs as fast as commits do: with the
//! queue at the limit, a pipeline that commits the queue in well under the target delay
//! raises the measured rate, and with it the limit, within a second.
//!
//! Only client work is refused (the API and the node's workers). Gossiped transactions
//! were admitted by the node their client reached, which applied the same rule to the same
//! shared queue; the pools' own hard bounds still cap what gossip can add.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Longest a client is told to wait.
const RETRY_AFTER_MAX_SECS: u64 = 30;

/// Per second of age, what is kept of the highest rate measured (half-life about 14 s).
const PEAK_DECAY_PER_SECOND: f64 = 0.95;

/// Length of one rate measurement.
const BUCKET: Duration = Duration::from_secs(1);

/// The admission controller's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverloadConfig {
    /// The queueing delay admitted work may face: the pool holds at most this long's worth
    /// of the measured commit rate. Zero turns admission control off.
    pub target: Duration,
    /// The pool may always hold this many transactions, whatever the measured rate.
    pub floor_transactions: u64,
}

/// A refusal: the pool already holds as much as the chain commits within the target delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the node is at capacity: {queued} transactions wait, it commits about {rate_per_s} per second; retry in {retry_after_secs} s"
)]
pub struct Overloaded {
    /// Transactions waiting in the pool.
    pub queued: u64,
    /// The measured commit rate, transactions per second.
    pub rate_per_s: u64,
    /// Seconds after which a retry is likely to be admitted.
    pub retry_after_secs: u64,
}

#[derive(Debug)]
struct Meter {
    /// Start of the current measurement and what it has counted.
    bucket_start: Instant,
    bucket_count: u64,
    /// The highest rate measured, decayed by age, transactions per second.
    peak: f64,
}

/// The node's admission controller: fed by the shell with each committed block's
/// transaction count, asked by admission before client work enters a pool.
#[derive(Debug)]
pub struct Capacity {
    config: OverloadConfig,
    meter: Mutex<Meter>,
}

impl Capacity {
    /// A controller that has measured nothing yet.
    pub fn new(config: OverloadConfig, now: Instant) -> Capacity {
        Capacity { config, meter: Mutex::new(Meter { bucket_start: now, bucket_count: 0, peak: 0.0 }) }
    }

    /// Records `transactions` committed at `now`.
    pub fn committed(&self, transactions: u64, now: Instant) {
        if let Ok(mut meter) = self.meter.lock() {
            meter.roll(now);
            meter.bucket_count = meter.bucket_count.saturating_add(transactions);
        }
    }

    /// The measured commit rate, transactions per second.
    pub fn rate(&self, now: Instant) -> f64 {
        self.meter.lock().map(|mut m| m.roll(now)).unwrap_or(0.0)
    }

    /// Most transactions the pool may hold at `now`.
    pub fn limit(&self, now: Instant) -> u64 {
        limit(self.config, self.rate(now))
    }

    /// Whether `incoming` more transactions may join the `queued` ones waiting.
    pub fn admit(&self, queued: u64, incoming: u64, now: Instant) -> Result<(), Overloaded> {
        if self.config.target.is_zero() {
            return Ok(());
        }
        let rate = self.rate(now);
        let limit = limit(self.config, rate);
        let after = queued.saturating_add(incoming);
        if after <= limit || queued == 0 {
            // An empty pool always takes a request, however large: it must be possible to
            // submit a batch bigger than the limit on a quiet chain.
            return Ok(());
        }
        let excess = after - limit;
        let drain = rate.max(1.0);
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "seconds, small"
        )]
        let retry_after_secs = ((excess as f64 / drain).ceil() as u64).clamp(1, RETRY_AFTER_MAX_SECS);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a rate, non-negative")]
        let rate_per_s = rate.round() as u64;
        Err(Overloaded { queued, rate_per_s, retry_after_secs })
    }
}

fn limit(config: OverloadConfig, rate: f64) -> u64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a count, non-negative")]
    let sized = (rate * config.target.as_secs_f64()).round() as u64;
    sized.max(config.floor_transactions)
}

impl Meter {
    /// Closes the measurements that ended by `now` and returns the estimate.
    fn roll(&mut self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.bucket_start);
        if elapsed >= BUCKET {
            #[allow(clippy::cast_precision_loss, reason = "a count of transactions")]
            let sample = self.bucket_count as f64 / elapsed.as_secs_f64();
            let decayed = self.peak * PEAK_DECAY_PER_SECOND.powf(elapsed.as_secs_f64());
            self.peak = decayed.max(sample);
            self.bucket_start = now;
            self.bucket_count = 0;
        }
        self.peak
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> OverloadConfig {
        OverloadConfig { target: Duration::from_secs(1), floor_transactions: 100 }
    }

    #[test]
    fn an_idle_chain_admits_up_to_the_floor_and_an_empty_pool_anything() {
        let now = Instant::now();
        let capacity = Capacity::new(config(), now);
        assert_eq!(capacity.admit(0, 100, now), Ok(()));
        assert_eq!(capacity.admit(60, 40, now), Ok(()));
        let refused = capacity.admit(60, 41, now).unwrap_err();
        assert_eq!((refused.queued, refused.rate_per_s, refused.retry_after_secs), (60, 0, 1));
        assert_eq!(capacity.admit(0, 5_000, now), Ok(()), "a large batch on an empty pool");
    }

    #[test]
    fn the_limit_follows_the_measured_commit_rate() {
        let start = Instant::now();
        let capacity = Capacity::new(config(), start);
        // 2,000 transactions a second for five seconds.
        for tick in 0..50u32 {
            capacity.committed(200, start + Duration::from_millis(100) * tick);
        }
        let now = start + Duration::from_secs(5);
        let rate = capacity.rate(now);
        assert!((1_900.0..=2_100.0).contains(&rate), "measured {rate}/s");
        assert!((1_900..=2_100).contains(&capacity.limit(now)));
        assert!(capacity.admit(1_500, 400, now).is_ok());
        let refused = capacity.admit(1_900, 4_000, now).unwrap_err();
        // 5,900 waiting against a limit of about 2,000: about 2 s of excess.
        assert_eq!(refused.retry_after_secs, 2, "{refused}");
    }

    #[test]
    fn the_estimate_decays_slowly_when_commits_stop_and_the_floor_holds() {
        let start = Instant::now();
        let capacity = Capacity::new(config(), start);
        capacity.committed(1_000, start);
        let first = capacity.rate(start + Duration::from_secs(1));
        let later = capacity.rate(start + Duration::from_secs(15));
        assert!(later < first * 0.6 && later > first * 0.4, "{first} then {later}");
        assert_eq!(capacity.limit(start + Duration::from_secs(600)), 100, "never below the floor");
    }

    #[test]
    fn retry_after_is_bounded_and_a_zero_target_admits_everything() {
        let now = Instant::now();
        let capacity = Capacity::new(config(), now);
        assert_eq!(capacity.admit(1_000_000, 1, now).unwrap_err().retry_after_secs, RETRY_AFTER_MAX_SECS);
        let off = Capacity::new(OverloadConfig { target: Duration::ZERO, floor_transactions: 0 }, now);
        assert_eq!(off.admit(u64::MAX, 1, now), Ok(()));
    }
}
