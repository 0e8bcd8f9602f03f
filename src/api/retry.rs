//! Which failures are worth another attempt, and how long to wait before it.
//!
//! Every retry decision is made here: 429, 408 and 5xx statuses, connection errors and
//! timeouts are retried with exponential backoff and jitter; `Retry-After` (seconds or an
//! HTTP date) is honoured but never shortens the backoff, so `Retry-After: 0` cannot spend
//! every attempt at once; and no wait may run past the caller's deadline.

use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};

/// How hard to try before giving up.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The first backoff delay; each later one doubles, with jitter.
    pub base_delay: Duration,
    /// The longest backoff delay.
    pub max_delay: Duration,
    /// The longest `Retry-After` we wait for; a longer one ends the run at once.
    pub max_retry_after: Duration,
    /// Time kept free before the deadline for writing the results.
    pub reserve: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            reserve: Duration::from_secs(20),
        }
    }
}

/// What went wrong with one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The API answered with a status other than 200.
    Status {
        status: u16,
        retry_after: Option<Duration>,
        detail: String,
    },
    /// No complete answer: connection refused or reset, a timeout, a body cut short.
    Transport(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status { status, detail, .. } if detail.is_empty() => {
                write!(f, "HTTP {status}")
            }
            Failure::Status { status, detail, .. } => write!(f, "HTTP {status}: {detail}"),
            Failure::Transport(message) => f.write_str(message),
        }
    }
}

/// Whether a failure may heal by itself.
pub fn is_retriable(failure: &Failure) -> bool {
    match failure {
        Failure::Status { status, .. } => matches!(status, 408 | 429 | 500..=599),
        Failure::Transport(_) => true,
    }
}

/// The outcome of asking whether to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Wait this long, then try again.
    Wait(Duration),
    /// Do not try again, for this reason.
    Stop(StopReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    NotRetriable,
    Exhausted,
    RetryAfterTooLong,
    Deadline,
}

/// Delays for one request's retries, in order.
pub struct Schedule {
    policy: RetryPolicy,
    backoff: Box<dyn Iterator<Item = Duration> + Send>,
    attempts: u32,
}

impl Schedule {
    pub fn new(policy: RetryPolicy) -> Self {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(policy.base_delay)
            .with_max_delay(policy.max_delay)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build();
        Schedule {
            policy,
            backoff: Box::new(backoff),
            attempts: 0,
        }
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Records one attempt.
    pub fn record_attempt(&mut self) {
        self.attempts += 1;
    }

    /// Decides what follows `failure`, given the caller's `deadline` (if any).
    pub fn next(&mut self, failure: &Failure, deadline: Option<Instant>) -> Next {
        if !is_retriable(failure) {
            return Next::Stop(StopReason::NotRetriable);
        }
        if self.attempts >= self.policy.max_attempts {
            return Next::Stop(StopReason::Exhausted);
        }
        let retry_after = match failure {
            Failure::Status { retry_after, .. } => *retry_after,
            Failure::Transport(_) => None,
        };
        if retry_after.is_some_and(|wait| wait > self.policy.max_retry_after) {
            return Next::Stop(StopReason::RetryAfterTooLong);
        }
        let backoff = self.backoff.next().unwrap_or(self.policy.max_delay);
        let wait = retry_after.map_or(backoff, |asked| asked.max(backoff));
        if deadline.is_some_and(|end| Instant::now() + wait + self.policy.reserve > end) {
            return Next::Stop(StopReason::Deadline);
        }
        Next::Wait(wait)
    }
}

/// Reads a `Retry-After` value: whole seconds, or an HTTP date (then the time until it).
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let millis = at
        .as_millisecond()
        .saturating_sub(now.as_millisecond())
        .max(0);
    Some(Duration::from_millis(u64::try_from(millis).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast_policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(10),
            reserve: Duration::from_millis(0),
        }
    }

    fn status(status: u16, retry_after: Option<u64>) -> Failure {
        Failure::Status {
            status,
            retry_after: retry_after.map(Duration::from_secs),
            detail: String::new(),
        }
    }

    #[test]
    fn throttling_server_errors_and_transport_failures_are_retried() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(is_retriable(&status(code, None)), "{code}");
        }
        assert!(is_retriable(&Failure::Transport("connection reset".into())));
        for code in [400, 401, 403, 404] {
            assert!(!is_retriable(&status(code, None)), "{code}");
        }
    }

    #[test]
    fn retry_after_zero_still_backs_off_and_attempts_are_bounded() {
        let mut schedule = Schedule::new(fast_policy());
        let mut waits = Vec::new();
        loop {
            schedule.record_attempt();
            match schedule.next(&status(429, Some(0)), None) {
                Next::Wait(wait) => waits.push(wait),
                Next::Stop(reason) => {
                    assert_eq!(reason, StopReason::Exhausted);
                    break;
                }
            }
        }
        assert_eq!(waits.len(), 3);
        assert!(
            waits.iter().all(|w| *w >= Duration::from_millis(100)),
            "{waits:?}"
        );
        assert!(waits[2] >= Duration::from_millis(400), "{waits:?}");
    }

    #[test]
    fn retry_after_longer_than_backoff_is_honoured() {
        let mut schedule = Schedule::new(fast_policy());
        schedule.record_attempt();
        assert_eq!(
            schedule.next(&status(503, Some(3)), None),
            Next::Wait(Duration::from_secs(3))
        );
        assert_eq!(
            schedule.next(&status(503, Some(60)), None),
            Next::Stop(StopReason::RetryAfterTooLong)
        );
    }

    #[test]
    fn no_wait_runs_past_the_deadline() {
        let mut schedule = Schedule::new(fast_policy());
        schedule.record_attempt();
        let soon = Instant::now() + Duration::from_millis(50);
        assert_eq!(
            schedule.next(&status(503, Some(2)), Some(soon)),
            Next::Stop(StopReason::Deadline)
        );
    }

    #[test]
    fn forbidden_is_not_retried() {
        let mut schedule = Schedule::new(fast_policy());
        schedule.record_attempt();
        assert_eq!(
            schedule.next(&status(403, None), None),
            Next::Stop(StopReason::NotRetriable)
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now: jiff::Timestamp = "2026-12-03T06:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Thu, 03 Dec 2026 06:00:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after("Thu, 03 Dec 2026 05:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
