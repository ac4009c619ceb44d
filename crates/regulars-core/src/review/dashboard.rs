//! The dashboard: totals for a period against the previous period of the
//! same length, visits by weekday and hour, the revenue trend (daily up to
//! 62 days, else weekly) and revenue by segment, plus each chart's data as
//! CSV for "export chart data".
//!
//! Pure: plain sale rows in (time, value, which customer), a [`Dashboard`]
//! out. Days and hours are the shop's: times are shifted by the shop's UTC
//! offset before they are bucketed.

use chrono::NaiveDate;

use super::{date_of, day_number, DAY};
use crate::model::{
    CustomerSegment, Dashboard, DashboardChart, PeriodTotals, SegmentRevenue, TrendPoint,
};

/// Periods up to this many days trend by day; longer ones by week.
pub const DAILY_UP_TO_DAYS: i64 = 62;

/// One sale (or refund) as the dashboard needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaleRow {
    /// Unix seconds (UTC).
    pub at: i64,
    pub cents: i64,
    /// Index of the customer in the context's tables, if known.
    pub customer: Option<u32>,
    pub refund: bool,
}

/// An inclusive range of shop-local dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
    /// The period of the same length just before this one.
    pub fn previous(&self) -> Period {
        let to = self.from - chrono::Days::new(1);
        Period {
            from: to - chrono::Days::new((self.days() - 1) as u64),
            to,
        }
    }
    fn contains_day(&self, day: i64) -> bool {
        (day_number(self.from)..=day_number(self.to)).contains(&day)
    }
}

/// What the rows' customer indices point at.
pub struct Context<'a> {
    /// Seconds to add to UTC for shop time.
    pub offset_secs: i64,
    /// Unix seconds of each customer's first visit ever.
    pub first_visit: &'a [i64],
    /// Each customer's segment at the end of the period.
    pub segment: &'a [Option<CustomerSegment>],
}

impl Context<'_> {
    fn local_day(&self, at: i64) -> i64 {
        (at + self.offset_secs).div_euclid(DAY)
    }
}

/// Totals of `rows` that fall in `p`.
pub fn totals(rows: &[SaleRow], p: Period, ctx: &Context<'_>) -> PeriodTotals {
    let mut t = PeriodTotals {
        from: p.from.to_string(),
        to: p.to.to_string(),
        ..Default::default()
    };
    let mut gross = 0i64;
    let mut seen = std::collections::HashSet::new();
    for r in rows.iter().filter(|r| p.contains_day(ctx.local_day(r.at))) {
        t.revenue_cents += r.cents;
        if r.refund {
            continue;
        }
        t.visits += 1;
        gross += r.cents;
        if let Some(c) = r.customer {
            t.identified_visits += 1;
            if seen.insert(c) {
                let first = ctx.first_visit.get(c as usize).copied();
                if first.is_some_and(|f| ctx.local_day(f) >= day_number(p.from)) {
                    t.new_customers += 1;
                } else {
                    t.returning_customers += 1;
                }
            }
        }
    }
    t.customers = seen.len() as u32;
    t.average_basket_cents = if t.visits > 0 {
        (gross as f64 / f64::from(t.visits)).round() as i64
    } else {
        0
    };
    t
}

/// The whole dashboard for `p` (rows must cover `p` and the period before).
pub fn dashboard(rows: &[SaleRow], p: Period, ctx: &Context<'_>) -> Dashboard {
    let current = totals(rows, p, ctx);
    let previous = totals(rows, p.previous(), ctx);
    let from = day_number(p.from);
    let weekly = p.days() > DAILY_UP_TO_DAYS;
    let step = if weekly { 7 } else { 1 };
    let buckets = (p.days() + step - 1) / step;
    let mut trend: Vec<TrendPoint> = (0..buckets)
        .map(|i| TrendPoint {
            start: date_of(from + i * step).to_string(),
            visits: 0,
            revenue_cents: 0,
        })
        .collect();
    let mut by_hour = vec![vec![0u32; 24]; 7];
    let mut seg: Vec<SegmentRevenue> = CustomerSegment::ALL
        .iter()
        .map(|&segment| SegmentRevenue {
            segment,
            customers: 0,
            visits: 0,
            revenue_cents: 0,
        })
        .collect();
    let mut seg_seen = std::collections::HashSet::new();
    for r in rows {
        let local = r.at + ctx.offset_secs;
        let day = local.div_euclid(DAY);
        if !p.contains_day(day) {
            continue;
        }
        let point = &mut trend[((day - from) / step) as usize];
        point.revenue_cents += r.cents;
        let segment = r
            .customer
            .and_then(|c| ctx.segment.get(c as usize).copied().flatten());
        if let Some(s) = segment {
            let i = CustomerSegment::ALL
                .iter()
                .position(|x| *x == s)
                .unwrap_or(6);
            seg[i].revenue_cents += r.cents;
            if !r.refund {
                seg[i].visits += 1;
                if seg_seen.insert(r.customer) {
                    seg[i].customers += 1;
                }
            }
        }
        if r.refund {
            continue;
        }
        point.visits += 1;
        // 1970-01-01 was a Thursday: Monday is 0.
        let weekday = (day + 3).rem_euclid(7) as usize;
        let hour = (local.rem_euclid(DAY) / 3600) as usize;
        by_hour[weekday][hour] += 1;
    }
    Dashboard {
        current,
        previous,
        visits_by_hour: by_hour,
        trend_step: if weekly { "week" } else { "day" }.into(),
        revenue_trend: trend,
        revenue_by_segment: seg,
    }
}

fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        cents.unsigned_abs() / 100,
        cents.unsigned_abs() % 100
    )
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// One chart's data as CSV (comma-separated, header row, money in units
/// with two decimals, dates ISO), for a spreadsheet.
pub fn chart_csv(d: &Dashboard, chart: DashboardChart) -> String {
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        out.push_str(&cells.join(","));
        out.push('\n');
    };
    match chart {
        DashboardChart::Totals => {
            line(
                &[
                    "period",
                    "from",
                    "to",
                    "visits",
                    "identified_visits",
                    "revenue",
                    "average_basket",
                    "customers",
                    "new_customers",
                    "returning_customers",
                ]
                .map(String::from),
            );
            for (name, t) in [("current", &d.current), ("previous", &d.previous)] {
                line(&[
                    name.into(),
                    t.from.clone(),
                    t.to.clone(),
                    t.visits.to_string(),
                    t.identified_visits.to_string(),
                    money(t.revenue_cents),
                    money(t.average_basket_cents),
                    t.customers.to_string(),
                    t.new_customers.to_string(),
                    t.returning_customers.to_string(),
                ]);
            }
        }
        DashboardChart::VisitsByHour => {
            let mut head = vec!["weekday".to_string()];
            head.extend((0..24).map(|h| format!("{h:02}:00")));
            line(&head);
            for (w, row) in d.visits_by_hour.iter().enumerate() {
                let mut cells = vec![WEEKDAYS[w % 7].to_string()];
                cells.extend(row.iter().map(u32::to_string));
                line(&cells);
            }
        }
        DashboardChart::RevenueTrend => {
            line(&[d.trend_step.clone(), "visits".into(), "revenue".into()]);
            for p in &d.revenue_trend {
                line(&[
                    p.start.clone(),
                    p.visits.to_string(),
                    money(p.revenue_cents),
                ]);
            }
        }
        DashboardChart::RevenueBySegment => {
            line(&["segment", "customers", "visits", "revenue"].map(String::from));
            for s in &d.revenue_by_segment {
                line(&[
                    s.segment.label().into(),
                    s.customers.to_string(),
                    s.visits.to_string(),
                    money(s.revenue_cents),
                ]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> i64 {
        super::super::unix_of(s).unwrap()
    }

    fn sale(t: &str, cents: i64, customer: Option<u32>) -> SaleRow {
        SaleRow {
            at: at(t),
            cents,
            customer,
            refund: cents < 0,
        }
    }

    #[test]
    fn previous_period_has_the_same_length() {
        let p = Period {
            from: date("2026-11-01"),
            to: date("2026-11-30"),
        };
        let q = p.previous();
        assert_eq!(
            (q.from, q.to, q.days()),
            (date("2026-10-02"), date("2026-10-31"), 30)
        );
    }

    #[test]
    fn totals_new_returning_refunds_and_trend() {
        // Customers: 0 first came long ago, 1 first came in November.
        let first = [at("2026-01-05T10:00:00Z"), at("2026-11-03T10:00:00Z")];
        let segment = [Some(CustomerSegment::Loyal), Some(CustomerSegment::New)];
        let ctx = Context {
            offset_secs: 0,
            first_visit: &first,
            segment: &segment,
        };
        let rows = [
            sale("2026-10-15T09:30:00Z", 1_000, Some(0)), // previous period
            sale("2026-11-02T09:30:00Z", 2_000, Some(0)), // Monday 09h
            sale("2026-11-03T10:15:00Z", 3_000, Some(1)), // Tuesday 10h
            sale("2026-11-03T10:45:00Z", 1_000, None),    // anonymous
            sale("2026-11-04T17:00:00Z", -500, Some(0)),  // refund
            sale("2026-11-05T12:00:00Z", 4_000, Some(1)),
            sale("2026-12-01T12:00:00Z", 9_999, Some(1)), // after
        ];
        let p = Period {
            from: date("2026-11-01"),
            to: date("2026-11-30"),
        };
        let d = dashboard(&rows, p, &ctx);
        let c = &d.current;
        assert_eq!(
            (
                c.visits,
                c.identified_visits,
                c.revenue_cents,
                c.average_basket_cents
            ),
            (4, 3, 9_500, 2_500)
        );
        assert_eq!(
            (c.customers, c.new_customers, c.returning_customers),
            (2, 1, 1)
        );
        assert_eq!((d.previous.visits, d.previous.revenue_cents), (1, 1_000));
        assert_eq!(d.trend_step, "day");
        assert_eq!(d.revenue_trend.len(), 30);
        assert_eq!(d.revenue_trend[2].revenue_cents, 4_000);
        assert_eq!(d.revenue_trend[3].revenue_cents, -500);
        assert_eq!(d.revenue_trend[3].visits, 0);
        assert_eq!(d.visits_by_hour[0][9], 1, "Monday 09h");
        assert_eq!(d.visits_by_hour[1][10], 2, "Tuesday 10h");
        let loyal = &d.revenue_by_segment[1];
        assert_eq!(
            (loyal.customers, loyal.visits, loyal.revenue_cents),
            (1, 1, 1_500)
        );
        let new = &d.revenue_by_segment[3];
        assert_eq!(
            (new.customers, new.visits, new.revenue_cents),
            (1, 2, 7_000)
        );
    }

    #[test]
    fn shop_time_moves_days_and_hours() {
        let ctx = Context {
            offset_secs: -5 * 3600, // UTC-5
            first_visit: &[],
            segment: &[],
        };
        // 02:00 UTC on the 1st is 21:00 on the 31st in the shop.
        let rows = [sale("2026-11-01T02:00:00Z", 100, None)];
        let p = Period {
            from: date("2026-10-31"),
            to: date("2026-10-31"),
        };
        let d = dashboard(&rows, p, &ctx);
        assert_eq!(d.current.visits, 1);
        assert_eq!(d.visits_by_hour[5][21], 1, "Saturday 21h");
    }

    #[test]
    fn long_periods_trend_by_week_and_csv_exports() {
        let ctx = Context {
            offset_secs: 0,
            first_visit: &[],
            segment: &[],
        };
        let rows = [
            sale("2026-01-01T10:00:00Z", 1_234, None),
            sale("2026-01-08T10:00:00Z", 100, None),
            sale("2026-03-31T10:00:00Z", 5, None),
        ];
        let p = Period {
            from: date("2026-01-01"),
            to: date("2026-03-31"),
        };
        let d = dashboard(&rows, p, &ctx);
        assert_eq!(d.trend_step, "week");
        assert_eq!(d.revenue_trend.len(), 13);
        assert_eq!(d.revenue_trend[1].start, "2026-01-08");
        let csv = chart_csv(&d, DashboardChart::RevenueTrend);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "week,visits,revenue");
        assert_eq!(lines[1], "2026-01-01,1,12.34");
        assert_eq!(lines[13], "2026-03-26,1,0.05");
        let h = chart_csv(&d, DashboardChart::VisitsByHour);
        assert_eq!(h.lines().count(), 8);
        assert!(h.lines().nth(4).unwrap().starts_with("Thursday,0,"));
        let t = chart_csv(&d, DashboardChart::Totals);
        assert!(t
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("current,2026-01-01,2026-03-31,3,0,13.39,"));
        let s = chart_csv(&d, DashboardChart::RevenueBySegment);
        assert_eq!(s.lines().count(), 8);
        assert_eq!(money(-5), "-0.05");
    }
}
