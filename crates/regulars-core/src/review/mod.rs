//! The owner's review and "reach out": the dashboard for a period, RFM
//! segments and how their counts move, regulars overdue against their own
//! rhythm, how prompts and offers did, and who to contact this week.
//!
//! Owns: the pure rules (`segments`, `overdue`, `dashboard`, `results`,
//! `contacts`: plain rows in, model values out, tested as tables) and the
//! thin loaders that read those rows from SQLite (`load`), plus the one write
//! here, a contact's outcome (with its outbox change).
//! Does not own: who may see it (the owner check is the command layer's),
//! the customer rhythm rule itself (shared with the "welcome back" prompt,
//! see [`crate::suggest::prompts::absence_threshold`]), or presentation.

pub mod contacts;
pub mod dashboard;
mod facade;
pub mod load;
pub mod overdue;
pub mod results;
pub mod segments;

use std::sync::{Arc, Mutex};

use chrono::{Datelike, NaiveDate};

pub use crate::suggest::history::DAY;

/// Every customer's visits, kept between review calls while the store is
/// unchanged: the owner flips between periods and lists, and reading all
/// visits is most of each call's cost. Any write on this connection
/// (`total_changes`) or by another connection (`PRAGMA data_version`)
/// makes the next call read them again.
#[derive(Debug, Default)]
pub struct Cache {
    slot: Mutex<Option<(Stamp, Arc<load::Activity>)>>,
}

/// (changes made on this connection, `PRAGMA data_version`).
type Stamp = (u64, i64);

impl Cache {
    pub(crate) fn activity(
        &self,
        store: &crate::store::Store,
    ) -> crate::Result<Arc<load::Activity>> {
        let conn = store.conn();
        let version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        let stamp = (conn.total_changes(), version);
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((s, a)) = slot.as_ref() {
            if *s == stamp {
                return Ok(a.clone());
            }
        }
        let a = Arc::new(load::activity(store)?);
        *slot = Some((stamp, a.clone()));
        Ok(a)
    }
}

/// Days since 1970-01-01 of a date.
pub fn day_number(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce()) - 719_163
}

/// The date of a day number (see [`day_number`]).
pub fn date_of(day: i64) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt((day + 719_163) as i32).unwrap_or_default()
}

/// Unix seconds of a stored ISO time. The store writes exactly
/// "YYYY-MM-DDTHH:MM:SSZ"; that shape is read without chrono's general
/// parser (the loaders read every sale), anything else falls back to it.
pub fn unix_of(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
    {
        let n = |i: usize, len: usize| -> Option<i64> {
            b[i..i + len].iter().try_fold(0i64, |v, &c| {
                c.is_ascii_digit().then(|| v * 10 + i64::from(c - b'0'))
            })
        };
        let date = NaiveDate::from_ymd_opt(n(0, 4)? as i32, n(5, 2)? as u32, n(8, 2)? as u32)?;
        let (h, m, sec) = (n(11, 2)?, n(14, 2)?, n(17, 2)?);
        if h > 23 || m > 59 || sec > 60 {
            return None;
        }
        return Some(day_number(date) * DAY + h * 3600 + m * 60 + sec);
    }
    crate::store::parse_iso(s).map(|t| t.timestamp())
}

/// Parses a "YYYY-MM-DD" typed by a person (CLI, UI date picker).
pub fn parse_date(field: &'static str, s: &str) -> crate::Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        crate::Error::invalid(
            field,
            format!(
                "'{}' is not a date; write it as YYYY-MM-DD, e.g. 2026-11-01",
                crate::error::clip(s)
            ),
        )
    })
}

/// "3 Oct" style short date for reasons and messages.
pub fn short_date(d: NaiveDate) -> String {
    format!("{} {}", d.day(), d.format("%b"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_iso_matches_chrono() {
        for s in [
            "2017-01-01T11:53:26Z",
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "2026-11-25T09:12:00Z",
        ] {
            assert_eq!(
                unix_of(s),
                crate::store::parse_iso(s).map(|t| t.timestamp()),
                "{s}"
            );
        }
        assert_eq!(unix_of("2017-02-30T00:00:00Z"), None);
        assert_eq!(unix_of("2017-01-01T24:00:00Z"), None);
        // Other shapes go through chrono.
        assert_eq!(unix_of("2017-01-01T00:00:00+01:00"), Some(1_483_225_200));
    }

    #[test]
    fn day_numbers_round_trip() {
        let d = NaiveDate::from_ymd_opt(2017, 3, 5).unwrap();
        assert_eq!(date_of(day_number(d)), d);
        assert_eq!(day_number(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()), 1);
    }
}
