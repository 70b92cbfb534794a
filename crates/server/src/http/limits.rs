//! Bounds on what one client can make the server do: a request rate per session and a time
//! limit per request.
//!
//! The rate is a token bucket per session (keyed by the stored hash of its token): a burst of
//! [`HttpSettings::session_burst`] requests, refilled at [`HttpSettings::session_rate`] per
//! second; past it a request is answered 429 `rate_limited` with `Retry-After` before it
//! reaches the database. Buckets live in this process — several servers behind one address
//! each allow the rate, which bounds a session all the same — and idle ones are swept.
//!
//! [`HttpSettings::session_burst`]: crate::config::HttpSettings::session_burst
//! [`HttpSettings::session_rate`]: crate::config::HttpSettings::session_rate

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::{ApiError, AppState};

/// Buckets held before idle ones are swept (at most once a second).
const SWEEP_AT: usize = 10_000;

/// The most buckets held: past it, a session without one is refused until a sweep frees
/// room, so a flood of made-up tokens can neither grow the map nor make every request scan
/// it.
const MAX_BUCKETS: usize = 100_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Requests still allowed now (fractional: refilled continuously).
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: DateTime<Utc>,
}

/// The buckets of every session that made a request recently.
#[derive(Debug, Default)]
pub struct SessionRates {
    buckets: Mutex<Buckets>,
}

#[derive(Debug, Default)]
struct Buckets {
    by_session: HashMap<String, Bucket>,
    /// When idle buckets were last swept.
    swept: Option<DateTime<Utc>>,
}

impl SessionRates {
    /// Takes one request from `session`'s bucket, or says how many whole seconds until one
    /// is there.
    pub fn take(
        &self,
        session: &str,
        now: DateTime<Utc>,
        burst: u32,
        rate: u32,
    ) -> Result<(), u64> {
        let burst = f64::from(burst.max(1));
        let rate = f64::from(rate.max(1));
        // A poisoned lock only means another request panicked while holding it; the map is
        // still a valid map.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Buckets { by_session, swept } = &mut *buckets;
        let due = swept.is_none_or(|at| now - at >= chrono::TimeDelta::seconds(1));
        if by_session.len() >= SWEEP_AT && due {
            // A bucket idle long enough to be full again holds nothing worth keeping.
            let full_after = chrono::TimeDelta::milliseconds((burst / rate * 1000.0).ceil() as i64);
            by_session.retain(|_, bucket| now - bucket.at < full_after);
            *swept = Some(now);
        }
        if by_session.len() >= MAX_BUCKETS && !by_session.contains_key(session) {
            return Err(1);
        }
        let bucket = by_session.entry(session.to_string()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = (now - bucket.at).num_milliseconds().max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// Drops an API request that takes longer than [`HttpSettings::request_timeout`] and
/// answers 503 `busy` (dropping it rolls back whatever transaction it had open).
///
/// [`HttpSettings::request_timeout`]: crate::config::HttpSettings::request_timeout
pub async fn time_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    match tokio::time::timeout(state.settings.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Busy(format!("{path} took longer than the request time limit"))
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_gets_its_burst_then_its_rate() {
        let rates = SessionRates::default();
        let start = DateTime::UNIX_EPOCH;
        for _ in 0..5 {
            assert_eq!(rates.take("a", start, 5, 2), Ok(()));
        }
        assert_eq!(rates.take("a", start, 5, 2), Err(1));
        // Another session is not slowed by this one.
        assert_eq!(rates.take("b", start, 5, 2), Ok(()));
        // Half a second at two a second refills one.
        let later = start + chrono::TimeDelta::milliseconds(500);
        assert_eq!(rates.take("a", later, 5, 2), Ok(()));
        assert_eq!(rates.take("a", later, 5, 2), Err(1));
        // A long pause refills the burst, no more.
        let much_later = start + chrono::TimeDelta::hours(1);
        for _ in 0..5 {
            assert_eq!(rates.take("a", much_later, 5, 2), Ok(()));
        }
        assert!(rates.take("a", much_later, 5, 2).is_err());
    }

    #[test]
    fn idle_buckets_are_swept() {
        let rates = SessionRates::default();
        let start = DateTime::UNIX_EPOCH;
        for n in 0..SWEEP_AT {
            rates.take(&n.to_string(), start, 10, 10).unwrap();
        }
        let later = start + chrono::TimeDelta::seconds(2);
        rates.take("fresh", later, 10, 10).unwrap();
        let held = rates.buckets.lock().unwrap().by_session.len();
        assert_eq!(held, 1, "only the bucket just used stays");
    }

    #[test]
    fn a_flood_of_sessions_is_bounded_and_known_ones_go_on() {
        let rates = SessionRates::default();
        let start = DateTime::UNIX_EPOCH;
        rates.take("known", start, 10, 10).unwrap();
        for n in 1..MAX_BUCKETS {
            rates.take(&n.to_string(), start, 10, 10).unwrap();
        }
        // Full, and nothing idle yet: a newcomer waits, a known session does not.
        assert_eq!(rates.take("newcomer", start, 10, 10), Err(1));
        assert_eq!(rates.take("known", start, 10, 10), Ok(()));
        assert_eq!(rates.buckets.lock().unwrap().by_session.len(), MAX_BUCKETS);
        // Once the flood's buckets are idle, a sweep makes room.
        let later = start + chrono::TimeDelta::seconds(2);
        assert_eq!(rates.take("newcomer", later, 10, 10), Ok(()));
    }
}
