//! Simulated calendar days.
//!
//! A [`Day`] is a count of days since 1970-01-01, so day arithmetic is integer arithmetic
//! and a day converts to a civil date (and its `YYYY-MM-DD` form) only at the edges.

use std::fmt;

use jiff::civil::Date;
use jiff::{Span, Timestamp};
use serde::{Serialize, Serializer};

/// 1970-01-01, day zero.
const EPOCH: Date = jiff::civil::date(1970, 1, 1);

/// A calendar day, counted from 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i32);

impl Day {
    /// The day of a civil date.
    pub fn from_date(date: Date) -> Self {
        // Dates span at most ±10,000 years, so the day count always fits.
        let days = EPOCH.until(date).map(|span| span.get_days()).unwrap_or(0);
        Self(days)
    }

    /// Today in UTC, by the machine's clock.
    pub fn today_utc() -> Self {
        // A UTC day is exactly 86,400 seconds of Unix time.
        Self(Timestamp::now().as_second().div_euclid(86_400) as i32)
    }

    /// The civil date of this day.
    pub fn date(self) -> Date {
        EPOCH
            .checked_add(Span::new().days(i64::from(self.0)))
            .unwrap_or(EPOCH)
    }

    /// This day moved by `days` (negative moves back).
    pub fn plus(self, days: i32) -> Self {
        Self(self.0 + days)
    }

    /// Days from `earlier` to this day.
    pub fn since(self, earlier: Day) -> i32 {
        self.0 - earlier.0
    }
}

/// Parses a strict `YYYY-MM-DD` date.
pub fn parse_day(text: &str) -> Result<Day, String> {
    let well_formed = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !well_formed {
        return Err(format!("`{text}` is not a date of the form YYYY-MM-DD"));
    }
    text.parse::<Date>()
        .map(Day::from_date)
        .map_err(|err| format!("`{text}` is not a valid date: {err}"))
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = self.date();
        write!(
            f,
            "{:04}-{:02}-{:02}",
            date.year(),
            date.month(),
            date.day()
        )
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_through_dates_and_text() {
        for text in [
            "1970-01-01",
            "2000-02-29",
            "2024-12-31",
            "2028-03-29",
            "1969-12-31",
        ] {
            let day = parse_day(text).unwrap();
            assert_eq!(day.to_string(), text);
        }
        assert_eq!(parse_day("1970-01-02").unwrap(), Day(1));
    }

    #[test]
    fn arithmetic_crosses_month_and_year_ends() {
        let day = parse_day("2024-12-30").unwrap();
        assert_eq!(day.plus(3).to_string(), "2025-01-02");
        assert_eq!(day.plus(3).since(day), 3);
    }

    #[test]
    fn loose_or_impossible_dates_are_rejected() {
        for text in [
            "2024-2-01",
            "2024-02-30",
            "20240201",
            "2024-02-01T00:00",
            " 2024-02-01",
        ] {
            assert!(parse_day(text).is_err(), "{text} accepted");
        }
    }
}
