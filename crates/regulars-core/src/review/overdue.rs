//! Overdue regulars: customers late against their *own* rhythm. A weekly
//! customer missing for three weeks is overdue; a monthly one is not.
//!
//! The rhythm is the one the till's "welcome back" prompt uses (one shared
//! definition, [`absence_threshold`]): visit days, one per calendar day; a
//! customer with at least 4 visit days is overdue when the days since their
//! last visit exceed the larger of twice their median gap and median + 3 MAD
//! (and at least a week). Past [`LAPSED_FACTOR`] times that threshold (or a
//! year) they are no longer "overdue" but gone: the segments call them lost.
//!
//! Pure: visit days and spends in, [`Overdue`] out.

use super::segments::DayVisit;
use super::{date_of, short_date};
use crate::suggest::history::median;
use crate::suggest::prompts::absence_threshold;

/// An absence longer than this many thresholds is a lapse, not lateness.
pub const LAPSED_FACTOR: f64 = 4.0;
/// ... and so is any absence over a year.
pub const LAPSED_DAYS: i64 = 365;
/// The usual spend is the median of this many latest visits.
pub const SPEND_VISITS: usize = 10;

/// Why and how late one customer is.
#[derive(Clone, Debug, PartialEq)]
pub struct Overdue {
    pub last_day: i64,
    pub days_since: i64,
    /// Median gap between visit days.
    pub usual_gap: i64,
    pub threshold: f64,
    pub usual_spend_cents: i64,
    /// Visit days up to the as-of day.
    pub visit_days: u32,
    /// What they usually spend in 30 days (usual basket at their usual
    /// rhythm): what the list is sorted by, so a weekly big spender three
    /// weeks late comes before an occasional one long gone.
    pub monthly_cents: i64,
}

impl Overdue {
    pub fn reason(&self) -> String {
        format!(
            "usually every {} days, last seen {} days ago ({})",
            self.usual_gap,
            self.days_since,
            short_date(date_of(self.last_day))
        )
    }
}

/// Whether the customer with `visits` (sorted by day) is overdue on day
/// `as_of`, using only visits up to it.
pub fn overdue(visits: &[DayVisit], as_of: i64) -> Option<Overdue> {
    let seen = &visits[..visits.partition_point(|v| v.day <= as_of)];
    let mut days: Vec<i64> = seen.iter().map(|v| v.day).collect();
    days.dedup();
    let threshold = absence_threshold(&days)?;
    let last_day = *days.last()?;
    let days_since = as_of - last_day;
    let lapsed = (days_since as f64) > LAPSED_FACTOR * threshold || days_since > LAPSED_DAYS;
    if (days_since as f64) <= threshold || lapsed {
        return None;
    }
    let mut gaps: Vec<f64> = days.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let usual_gap = (median(&mut gaps).round() as i64).max(1);
    let mut spends: Vec<f64> = seen[seen.len().saturating_sub(SPEND_VISITS)..]
        .iter()
        .map(|v| v.cents as f64)
        .collect();
    let usual_spend_cents = median(&mut spends).round() as i64;
    Some(Overdue {
        last_day,
        days_since,
        usual_gap,
        threshold,
        usual_spend_cents,
        visit_days: days.len() as u32,
        monthly_cents: usual_spend_cents * 30 / usual_gap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every(gap: i64, n: i64, last_ago: i64, as_of: i64, cents: i64) -> Vec<DayVisit> {
        (0..n)
            .rev()
            .map(|i| DayVisit {
                day: as_of - last_ago - gap * i,
                cents,
            })
            .collect()
    }

    /// (what, history, overdue?) with history = every `gap` days, `n`
    /// visits, the last `ago` days before the as-of day.
    #[test]
    fn own_rhythm_decides() {
        let as_of = 20_000;
        let table: &[(&str, i64, i64, i64, bool)] = &[
            ("weekly, missing three weeks", 7, 20, 21, true),
            ("weekly, seen last week", 7, 20, 7, false),
            (
                "weekly, exactly two weeks (not more than the threshold)",
                7,
                20,
                14,
                false,
            ),
            ("weekly, 15 days", 7, 20, 15, true),
            ("monthly, missing three weeks", 30, 12, 21, false),
            ("monthly, missing five weeks", 30, 12, 35, false),
            ("monthly, missing ten weeks", 30, 12, 70, true),
            (
                "daily, missing 8 days (threshold floors at a week)",
                1,
                60,
                8,
                true,
            ),
            ("daily, missing 5 days", 1, 60, 5, false),
            ("three visits: no rhythm yet", 7, 3, 60, false),
            (
                "weekly, gone half a year: lapsed, not overdue",
                7,
                20,
                180,
                false,
            ),
            (
                "every 100 days, 450 days ago: over a year",
                100,
                8,
                450,
                false,
            ),
        ];
        for &(what, gap, n, ago, want) in table {
            let v = every(gap, n, ago, as_of, 2_500);
            assert_eq!(overdue(&v, as_of).is_some(), want, "{what}");
        }
    }

    #[test]
    fn facts_of_an_overdue_weekly_customer() {
        let as_of = 20_000;
        let mut v = every(7, 10, 21, as_of, 2_000);
        v[9].cents = 9_000; // one big basket does not move the median
        v.push(DayVisit {
            day: as_of + 1,
            cents: 1,
        }); // the future is ignored
        let o = overdue(&v, as_of).unwrap();
        assert_eq!(
            (o.days_since, o.usual_gap, o.usual_spend_cents, o.visit_days),
            (21, 7, 2_000, 10)
        );
        assert_eq!(o.monthly_cents, 30 * 2_000 / 7);
        assert!(o
            .reason()
            .starts_with("usually every 7 days, last seen 21 days ago ("));
    }

    #[test]
    fn two_visits_on_one_day_count_once() {
        let as_of = 20_000;
        let mut v = every(7, 3, 30, as_of, 1_000);
        v.push(DayVisit {
            day: v[2].day,
            cents: 500,
        });
        v.sort_by_key(|x| x.day);
        assert_eq!(overdue(&v, as_of), None, "3 visit days are not a rhythm");
    }
}
