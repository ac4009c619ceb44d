//! RFM segments: each customer active in the last year scored 1-5 on
//! recency, frequency and spend against everyone else active then
//! (quintiles), and the score pattern mapped to a plain name.
//!
//! The rule, as the owner reads it:
//! - **new**: first visit within the last 30 days (whatever the scores);
//! - scores: R (5 = came most recently), F (visits in the last 365 days),
//!   M (spend in the last 365 days); FM = (F + M) / 2 rounded up;
//! - R 4-5: FM 4-5 **champions**, FM 3 **loyal**, FM 1-2 **promising**;
//! - R 3: FM 4-5 **loyal**, FM 1-3 **needs attention**;
//! - R 2: FM 3-5 **at risk**, FM 1-2 **needs attention**;
//! - R 1: FM 3-5 **at risk**, FM 1-2 **lost**;
//! - customers whose visits are all older than 365 days: **lost**.
//!
//! Pure: visits in, segments out. Quintiles with ties scored alike (a
//! customer's score comes from their mid-rank), so equal customers never
//! land in different segments.

use crate::model::CustomerSegment;

/// Visits and spend count over this many days before the as-of day.
pub const WINDOW_DAYS: i64 = 365;
/// A first visit this recent makes a customer "new".
pub const NEW_DAYS: i64 = 30;

/// One visit: its day number and its value in cents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayVisit {
    pub day: i64,
    pub cents: i64,
}

/// Recency, frequency and spend of one customer as of a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rfm {
    /// Days from the last visit to the as-of day.
    pub recency_days: i64,
    /// Visits within the window.
    pub frequency: u32,
    /// Spend within the window, cents.
    pub monetary_cents: i64,
    /// Days from the first visit ever to the as-of day.
    pub tenure_days: i64,
}

/// A customer's RFM as of `as_of` (a day number, inclusive), from visits
/// sorted by day. None: no visit by then.
pub fn rfm(visits: &[DayVisit], as_of: i64) -> Option<Rfm> {
    let n = visits.partition_point(|v| v.day <= as_of);
    let seen = &visits[..n];
    let first = seen.first()?;
    let last = seen.last()?;
    let start = seen.partition_point(|v| v.day <= as_of - WINDOW_DAYS);
    let window = &seen[start..];
    Some(Rfm {
        recency_days: as_of - last.day,
        frequency: window.len() as u32,
        monetary_cents: window.iter().map(|v| v.cents).sum(),
        tenure_days: as_of - first.day,
    })
}

/// The score pattern's name (see the module doc for the grid).
pub fn name(r: u8, fm: u8) -> CustomerSegment {
    use CustomerSegment::*;
    match (r, fm) {
        (4..=5, 4..=5) => Champions,
        (4..=5, 3) => Loyal,
        (4..=5, _) => Promising,
        (3, 4..=5) => Loyal,
        (3, _) => NeedsAttention,
        (_, 3..=5) => AtRisk,
        (2, _) => NeedsAttention,
        _ => Lost,
    }
}

/// Quintile score 1-5 of `v` among `sorted` (ascending), higher values
/// better: 1 + floor(5 * mid-rank / n).
fn score(sorted: &[i64], v: i64) -> u8 {
    let n = sorted.len();
    if n == 0 {
        return 3;
    }
    let below = sorted.partition_point(|&x| x < v);
    let equal = sorted.partition_point(|&x| x <= v) - below;
    let mid2 = 2 * below + equal.saturating_sub(1); // twice the mid-rank
    (1 + (5 * mid2) / (2 * n)).min(5) as u8
}

/// Segments for a population: one entry per input, None for customers
/// with no visit by the as-of day.
pub fn assign(rfms: &[Option<Rfm>]) -> Vec<Option<CustomerSegment>> {
    let active = |r: &&Rfm| r.recency_days < WINDOW_DAYS;
    let mut rec: Vec<i64> = Vec::new();
    let mut freq: Vec<i64> = Vec::new();
    let mut mon: Vec<i64> = Vec::new();
    for r in rfms.iter().flatten().filter(active) {
        // Recency: fewer days is better, so score its negation.
        rec.push(-r.recency_days);
        freq.push(i64::from(r.frequency));
        mon.push(r.monetary_cents);
    }
    rec.sort_unstable();
    freq.sort_unstable();
    mon.sort_unstable();
    rfms.iter()
        .map(|r| {
            let r = r.as_ref()?;
            Some(if r.recency_days >= WINDOW_DAYS {
                CustomerSegment::Lost
            } else if r.tenure_days < NEW_DAYS {
                CustomerSegment::New
            } else {
                let f = score(&freq, i64::from(r.frequency));
                let m = score(&mon, r.monetary_cents);
                name(score(&rec, -r.recency_days), (f + m).div_ceil(2))
            })
        })
        .collect()
}

/// Counts per segment in `CustomerSegment::ALL` order.
pub fn counts(segments: &[Option<CustomerSegment>]) -> [u32; 7] {
    let mut out = [0u32; 7];
    for s in segments.iter().flatten() {
        out[CustomerSegment::ALL
            .iter()
            .position(|x| x == s)
            .unwrap_or(6)] += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use CustomerSegment::*;

    #[test]
    fn score_grid() {
        // (R, FM) -> name, row by row of the grid in the module doc.
        let table: &[(u8, u8, CustomerSegment)] = &[
            (5, 5, Champions),
            (4, 4, Champions),
            (5, 3, Loyal),
            (4, 2, Promising),
            (5, 1, Promising),
            (3, 5, Loyal),
            (3, 4, Loyal),
            (3, 3, NeedsAttention),
            (3, 1, NeedsAttention),
            (2, 5, AtRisk),
            (2, 3, AtRisk),
            (2, 2, NeedsAttention),
            (1, 4, AtRisk),
            (1, 3, AtRisk),
            (1, 2, Lost),
            (1, 1, Lost),
        ];
        for &(r, fm, want) in table {
            assert_eq!(name(r, fm), want, "R{r} FM{fm}");
        }
    }

    #[test]
    fn quintile_scores() {
        let v: Vec<i64> = (1..=10).collect();
        let got: Vec<u8> = v.iter().map(|&x| score(&v, x)).collect();
        assert_eq!(got, vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        // Ties score alike, in the middle of their ranks.
        let t = vec![1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
        assert_eq!(score(&t, 1), 3);
        let t = vec![0, 0, 0, 0, 0, 0, 0, 0, 9, 9];
        assert_eq!((score(&t, 0), score(&t, 9)), (2, 5));
    }

    fn visits(days: &[(i64, i64)]) -> Vec<DayVisit> {
        days.iter()
            .map(|&(day, cents)| DayVisit { day, cents })
            .collect()
    }

    #[test]
    fn rfm_counts_the_window_and_ignores_the_future() {
        let v = visits(&[(0, 100), (300, 200), (390, 300), (400, 999)]);
        let r = rfm(&v, 395).unwrap();
        assert_eq!(
            r,
            Rfm {
                recency_days: 5,
                frequency: 2,
                monetary_cents: 500,
                tenure_days: 395
            }
        );
        assert_eq!(rfm(&v, -1), None);
    }

    /// Histories in (each a list of (days before as-of, cents)), segments out.
    #[test]
    fn histories_to_segments() {
        let as_of = 1_000;
        let weekly = |weeks: i64, from_ago: i64, cents: i64| -> Vec<(i64, i64)> {
            (0..weeks).map(|w| (from_ago + 7 * w, cents)).collect()
        };
        type Row = (&'static str, Vec<(i64, i64)>, Option<CustomerSegment>);
        let table: Vec<Row> = vec![
            (
                "weekly big spender, here this week",
                weekly(50, 2, 8_000),
                Some(Champions),
            ),
            (
                "weekly big spender 2",
                weekly(50, 1, 9_000),
                Some(Champions),
            ),
            ("weekly, gone 10 weeks", weekly(40, 70, 8_000), Some(AtRisk)),
            (
                "two visits, one recent",
                vec![(3, 1_000), (200, 1_000)],
                Some(Promising),
            ),
            ("one visit 9 months ago", vec![(270, 500)], Some(Lost)),
            ("first visit last week", vec![(6, 2_000)], Some(New)),
            (
                "only visits 2 years ago",
                vec![(700, 5_000), (730, 5_000)],
                Some(Lost),
            ),
            (
                "monthly, middling, missed a month",
                (0..10).map(|m| (42 + 30 * m, 2_000)).collect(),
                Some(AtRisk),
            ),
            (
                "three visits a month apart, the last 10 days ago",
                vec![(10, 3_000), (40, 3_000), (70, 3_000)],
                Some(NeedsAttention),
            ),
            (
                "three visits, the last 100 days ago",
                vec![(100, 3_000), (130, 3_000), (160, 3_000)],
                Some(Lost),
            ),
            ("never came", vec![], None),
        ];
        let rfms: Vec<Option<Rfm>> = table
            .iter()
            .map(|(_, h, _)| {
                let mut v: Vec<DayVisit> = h
                    .iter()
                    .map(|&(ago, cents)| DayVisit {
                        day: as_of - ago,
                        cents,
                    })
                    .collect();
                v.sort_by_key(|v| v.day);
                rfm(&v, as_of)
            })
            .collect();
        let got = assign(&rfms);
        for ((what, _, want), got) in table.iter().zip(&got) {
            assert_eq!(got, want, "{what} ({:?})", rfms);
        }
        let c = counts(&got);
        assert_eq!(c.iter().sum::<u32>(), 10);
        assert_eq!(c[0], 2, "two champions");
    }
}
