//! Time without `SystemTime::now()`: the [`Clock`] seam, the hybrid logical clock that
//! orders edits across devices, and conversions between unix milliseconds and local days.
//!
//! `SystemTime::now()` panics in the browser, so nothing here reads the time itself: the
//! app implements [`Clock`] with `Date.now()`, and tests use [`FixedClock`].

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::{Id, Invalid};

/// Where the current time comes from.
pub trait Clock {
    /// Milliseconds since the unix epoch.
    fn now_ms(&self) -> i64;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_ms(&self) -> i64 {
        (**self).now_ms()
    }
}

/// A clock that says what it is told, for tests.
#[derive(Debug, Default, Clone)]
pub struct FixedClock {
    now_ms: Cell<i64>,
}

impl FixedClock {
    /// A clock stopped at `ms`.
    pub fn new(ms: i64) -> Self {
        FixedClock {
            now_ms: Cell::new(ms),
        }
    }

    /// Moves the clock to `ms`, backwards if need be.
    pub fn set(&self, ms: i64) {
        self.now_ms.set(ms);
    }

    /// Moves the clock by `ms` (negative moves it back).
    pub fn advance(&self, ms: i64) {
        self.now_ms.set(self.now_ms.get().saturating_add(ms));
    }
}

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.now_ms.get()
    }
}

/// The largest wall time a [`Stamp`] can hold: 15 decimal digits, about the year 33658.
pub const MAX_WALL_MS: i64 = 999_999_999_999_999;

const WALL_DIGITS: usize = 15;
// A u32 has at most ten decimal digits; a fixed width keeps the text sortable.
const COUNTER_DIGITS: usize = 10;
const ID_CHARS: usize = 36;

fn clamp_wall(ms: i64) -> i64 {
    ms.clamp(0, MAX_WALL_MS)
}

/// A hybrid logical clock reading: when an edit was made, comparable across devices.
///
/// Ordering is by `wall_ms`, then `counter`, then `client`, so two stamps are never equal
/// unless they come from the same device's same tick.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Stamp {
    /// Unix milliseconds, never below zero.
    pub wall_ms: i64,
    /// Tie-breaker for edits within the same millisecond (or while the wall clock lags).
    pub counter: u32,
    /// The device that made the edit.
    pub client: Id,
}

impl Stamp {
    /// A stamp with `wall_ms` clamped into `0..=MAX_WALL_MS` so its text form stays
    /// fixed-width.
    pub fn new(wall_ms: i64, counter: u32, client: Id) -> Self {
        Stamp {
            wall_ms: clamp_wall(wall_ms),
            counter,
            client,
        }
    }

    /// Reads the form written by `Display`: `{wall_ms:015}-{counter:010}-{client}`.
    pub fn parse(raw: &str) -> Result<Stamp, Invalid> {
        let bad = Invalid::DateTime;
        if raw.len() != WALL_DIGITS + 1 + COUNTER_DIGITS + 1 + ID_CHARS {
            return Err(bad);
        }
        let (wall, rest) = raw.split_at_checked(WALL_DIGITS).ok_or(bad)?;
        let rest = rest.strip_prefix('-').ok_or(bad)?;
        let (counter, rest) = rest.split_at_checked(COUNTER_DIGITS).ok_or(bad)?;
        let client = rest.strip_prefix('-').ok_or(bad)?;
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(wall) || !all_digits(counter) {
            return Err(bad);
        }
        Ok(Stamp {
            wall_ms: wall.parse().map_err(|_| bad)?,
            counter: counter.parse().map_err(|_| bad)?,
            client: Id::parse(client).map_err(|_| bad)?,
        })
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Clamped again because the fields are public and could be set out of range.
        write!(
            f,
            "{:0w$}-{:0c$}-{}",
            clamp_wall(self.wall_ms),
            self.counter,
            self.client,
            w = WALL_DIGITS,
            c = COUNTER_DIGITS
        )
    }
}

impl FromStr for Stamp {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stamp::parse(s)
    }
}

impl TryFrom<String> for Stamp {
    type Error = Invalid;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Stamp::parse(&value)
    }
}

impl From<Stamp> for String {
    fn from(stamp: Stamp) -> String {
        stamp.to_string()
    }
}

/// One device's hybrid logical clock: hands out strictly increasing [`Stamp`]s that stay
/// close to wall time and move past every stamp seen from other devices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hlc {
    /// Wall part of the last stamp issued or observed; -1 until there is one.
    last_wall_ms: i64,
    last_counter: u32,
    client: Id,
}

impl Hlc {
    /// A fresh clock for the device `client`.
    pub fn new(client: Id) -> Self {
        Hlc {
            last_wall_ms: -1,
            last_counter: 0,
            client,
        }
    }

    /// A clock resuming after `last`, the value of [`Hlc::last`] saved before a reload.
    pub fn restore(client: Id, last: Option<Stamp>) -> Self {
        match last {
            Some(stamp) => Hlc {
                last_wall_ms: clamp_wall(stamp.wall_ms),
                last_counter: stamp.counter,
                client,
            },
            None => Hlc::new(client),
        }
    }

    /// The next stamp for a local edit; always greater than every earlier one, even when
    /// the wall clock has gone backwards.
    pub fn tick(&mut self, now_ms: i64) -> Stamp {
        let now = clamp_wall(now_ms);
        if now > self.last_wall_ms {
            self.last_wall_ms = now;
            self.last_counter = 0;
        } else {
            self.step();
        }
        self.current()
    }

    /// Takes in a stamp received from another device, so that every later tick is greater
    /// than it (the HLC receive rule).
    pub fn observe(&mut self, remote: Stamp, now_ms: i64) {
        let remote_wall = clamp_wall(remote.wall_ms);
        let now = clamp_wall(now_ms);
        let wall = self.last_wall_ms.max(remote_wall).max(now);
        if wall == self.last_wall_ms && wall == remote_wall {
            self.last_counter = self.last_counter.max(remote.counter);
            self.step();
        } else if wall == self.last_wall_ms {
            self.step();
        } else if wall == remote_wall {
            self.last_wall_ms = remote_wall;
            self.last_counter = remote.counter;
            self.step();
        } else {
            self.last_wall_ms = wall;
            self.last_counter = 0;
        }
    }

    /// The last stamp issued or observed, to save so the clock can be restored.
    pub fn last(&self) -> Option<Stamp> {
        (self.last_wall_ms >= 0).then(|| self.current())
    }

    /// The device this clock stamps for.
    pub fn client(&self) -> Id {
        self.client
    }

    fn current(&self) -> Stamp {
        Stamp {
            wall_ms: self.last_wall_ms,
            counter: self.last_counter,
            client: self.client,
        }
    }

    /// Moves to the next (wall, counter) pair.
    fn step(&mut self) {
        match self.last_counter.checked_add(1) {
            Some(counter) => self.last_counter = counter,
            // Four billion edits in one millisecond cannot come from a person; borrowing a
            // millisecond keeps stamps increasing without widening the text form.
            None if self.last_wall_ms < MAX_WALL_MS => {
                self.last_wall_ms += 1;
                self.last_counter = 0;
            }
            // At the end of representable time there is nowhere left to go.
            None => {}
        }
    }
}

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_DAY: i64 = 86_400_000;

fn offset_ms(utc_offset_minutes: i32) -> i64 {
    i64::from(utc_offset_minutes) * MS_PER_MINUTE
}

/// The local date-time at `unix_ms` for a zone `utc_offset_minutes` east of UTC.
///
/// Times outside chrono's range (hundreds of thousands of years away) are clamped to its
/// ends rather than failing.
pub fn local_datetime(unix_ms: i64, utc_offset_minutes: i32) -> NaiveDateTime {
    let local_ms = unix_ms.saturating_add(offset_ms(utc_offset_minutes));
    match DateTime::from_timestamp_millis(local_ms) {
        Some(utc) => utc.naive_utc(),
        None if local_ms < 0 => NaiveDateTime::MIN,
        None => NaiveDateTime::MAX,
    }
}

/// Unix milliseconds of a local date-time in a zone `utc_offset_minutes` east of UTC.
pub fn local_to_unix_ms(local: NaiveDateTime, utc_offset_minutes: i32) -> i64 {
    local
        .and_utc()
        .timestamp_millis()
        .saturating_sub(offset_ms(utc_offset_minutes))
}

/// The calendar date at `now_ms` for someone `utc_offset_minutes` east of UTC (+480 in
/// China): "today" for agendas and due follow-ups.
pub fn today_in_offset(now_ms: i64, utc_offset_minutes: i32) -> NaiveDate {
    local_datetime(now_ms, utc_offset_minutes).date()
}

/// The unix-millisecond range `[start, end)` covered by a local `date`.
pub fn day_bounds_ms(date: NaiveDate, utc_offset_minutes: i32) -> (i64, i64) {
    let start = local_to_unix_ms(date.and_time(NaiveTime::MIN), utc_offset_minutes);
    (start, start.saturating_add(MS_PER_DAY))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use proptest::prelude::*;

    fn client(n: u8) -> Id {
        Id::from_parts(1_700_000_000_000, [n; 10])
    }

    #[test]
    fn fixed_clock_moves_when_told() {
        let clock = FixedClock::new(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(500);
        assert_eq!(clock.now_ms(), 1_500);
        clock.set(10);
        fn read(clock: impl Clock) -> i64 {
            clock.now_ms()
        }
        assert_eq!(read(&clock), 10);
    }

    #[test]
    fn stamp_text_round_trips_and_sorts() {
        let a = Stamp::new(1_700_000_000_000, 3, client(1));
        let text = a.to_string();
        assert_eq!(
            text,
            format!("001700000000000-0000000003-{}", client(1)),
            "fixed width"
        );
        assert_eq!(Stamp::parse(&text), Ok(a));
        assert_eq!(text.parse::<Stamp>(), Ok(a));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Stamp>(&json).unwrap(), a);

        assert_eq!(Stamp::new(-5, 0, client(1)).wall_ms, 0);
        assert_eq!(Stamp::parse("garbage"), Err(Invalid::DateTime));
        let bad_counter = text.replacen("0000000003", "000000000x", 1);
        assert_eq!(Stamp::parse(&bad_counter), Err(Invalid::DateTime));
        let too_big = text.replacen("0000000003", "9999999999", 1);
        assert_eq!(Stamp::parse(&too_big), Err(Invalid::DateTime));
    }

    #[test]
    fn tick_survives_clock_going_backwards() {
        let mut hlc = Hlc::new(client(1));
        assert_eq!(hlc.last(), None);
        let a = hlc.tick(1_000);
        let b = hlc.tick(900);
        let c = hlc.tick(1_000);
        let d = hlc.tick(2_000);
        assert!(a < b && b < c && c < d);
        assert_eq!((b.wall_ms, b.counter), (1_000, 1));
        assert_eq!((d.wall_ms, d.counter), (2_000, 0));
        assert_eq!(hlc.last(), Some(d));
    }

    #[test]
    fn counter_overflow_borrows_a_millisecond() {
        let last = Stamp::new(5, u32::MAX, client(1));
        let mut hlc = Hlc::restore(client(1), Some(last));
        let next = hlc.tick(0);
        assert!(next > last);
        assert_eq!((next.wall_ms, next.counter), (6, 0));
    }

    #[test]
    fn observe_moves_past_remote_from_the_future() {
        let mut hlc = Hlc::new(client(1));
        hlc.tick(1_000);
        let remote = Stamp::new(50_000, 7, client(9));
        hlc.observe(remote, 1_001);
        let next = hlc.tick(1_002);
        assert!(next > remote);
        assert_eq!((next.wall_ms, next.counter), (50_000, 9));
    }

    #[test]
    fn restore_continues_after_saved_stamp() {
        let mut first = Hlc::new(client(1));
        let a = first.tick(10_000);
        let mut again = Hlc::restore(client(1), first.last());
        assert!(again.tick(5_000) > a);
    }

    #[test]
    fn local_days_in_china() {
        // 2024-03-01T16:30:00Z is 2024-03-02 00:30 in China (+08:00).
        let ms = 1_709_310_600_000;
        let day = NaiveDate::from_ymd_opt(2024, 3, 2).unwrap();
        assert_eq!(today_in_offset(ms, 480), day);
        assert_eq!(today_in_offset(ms, 0), day.pred_opt().unwrap());
        let (start, end) = day_bounds_ms(day, 480);
        assert!(start <= ms && ms < end);
        assert_eq!(end - start, MS_PER_DAY);
        assert_eq!(start, 1_709_308_800_000);
        assert_eq!(today_in_offset(i64::MAX, 0), NaiveDateTime::MAX.date());
        assert_eq!(today_in_offset(i64::MIN, 0), NaiveDateTime::MIN.date());
    }

    #[derive(Debug, Clone)]
    enum Event {
        Tick(i64),
        Observe(i64, u32, u8, i64),
    }

    fn event() -> impl Strategy<Value = Event> {
        let wall = -1_000i64..5_000;
        prop_oneof![
            3 => wall.clone().prop_map(Event::Tick),
            1 => (wall.clone(), prop_oneof![0u32..5, Just(u32::MAX)], any::<u8>(), wall)
                .prop_map(|(w, c, id, now)| Event::Observe(w, c, id, now)),
        ]
    }

    proptest! {
        #[test]
        fn ticks_increase_and_pass_observed(events in prop::collection::vec(event(), 1..60)) {
            let mut hlc = Hlc::new(client(0));
            let mut previous: Option<Stamp> = None;
            let mut highest_remote: Option<Stamp> = None;
            for event in events {
                match event {
                    Event::Tick(now) => {
                        let stamp = hlc.tick(now);
                        if let Some(p) = previous {
                            prop_assert!(stamp > p, "{stamp} after {p}");
                        }
                        if let Some(r) = highest_remote {
                            prop_assert!(stamp > r, "{stamp} after remote {r}");
                        }
                        prop_assert_eq!(hlc.last(), Some(stamp));
                        previous = Some(stamp);
                    }
                    Event::Observe(wall, counter, id, now) => {
                        let remote = Stamp::new(wall, counter, client(id));
                        hlc.observe(remote, now);
                        highest_remote = highest_remote.max(Some(remote));
                    }
                }
            }
        }

        #[test]
        fn stamp_text_sorts_like_stamps(
            a in (0i64..=MAX_WALL_MS, any::<u32>(), any::<u8>()),
            b in (0i64..=MAX_WALL_MS, any::<u32>(), any::<u8>()),
        ) {
            let x = Stamp::new(a.0, a.1, client(a.2));
            let y = Stamp::new(b.0, b.1, client(b.2));
            prop_assert_eq!(x.cmp(&y), x.to_string().cmp(&y.to_string()));
            prop_assert_eq!(Stamp::parse(&x.to_string()), Ok(x));
        }

        #[test]
        fn day_bounds_contain_the_day(ms in -1_000_000_000_000i64..10_000_000_000_000, offset in -720i32..=840) {
            let day = today_in_offset(ms, offset);
            let (start, end) = day_bounds_ms(day, offset);
            prop_assert!(start <= ms && ms < end);
        }
    }
}
