//! The review use cases on [`Regulars`], one method each (the command layer
//! calls exactly one). Kept beside the rules rather than in `regulars.rs` so
//! the owner's review grows without touching the till's facade.
//!
//! Dates are "YYYY-MM-DD" as typed or picked; a missing as-of date is today
//! (UTC). Segments and overdue count UTC calendar days, like the till's
//! "welcome back" prompt; the dashboard buckets in shop time (the caller's
//! UTC offset).

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

use super::dashboard::{self, Context, Period};
use super::load::{self, day_start_iso};
use super::segments::{self, Rfm};
use super::{contacts, day_number, overdue, parse_date, results, DAY};
use crate::ids::CustomerId;
use crate::model::{
    ContactItem, ContactOutcome, CustomerSegment, Dashboard, DashboardChart, OfferResults,
    OverdueCustomer, SegmentCount, SegmentReport, SegmentSnapshot,
};
use crate::{Error, Regulars, Result};

/// Longest dashboard period (about three years).
pub const MAX_PERIOD_DAYS: i64 = 1_100;
/// Most months of segment history one call returns.
pub const MAX_SEGMENT_MONTHS: u32 = 36;

fn as_of_date(as_of: Option<&str>) -> Result<NaiveDate> {
    match as_of.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => parse_date("as_of", s),
        None => Ok(chrono::Utc::now().date_naive()),
    }
}

fn period(from: &str, to: &str) -> Result<Period> {
    let p = Period {
        from: parse_date("from", from)?,
        to: parse_date("to", to)?,
    };
    if p.to < p.from {
        return Err(Error::invalid(
            "to",
            "is before 'from'; pick an end date on or after the start date",
        ));
    }
    if p.days() > MAX_PERIOD_DAYS {
        return Err(Error::invalid(
            "period",
            format!("is longer than {MAX_PERIOD_DAYS} days; pick a shorter period"),
        ));
    }
    Ok(p)
}

fn snapshot(day: i64, segs: &[Option<CustomerSegment>]) -> SegmentSnapshot {
    let c = segments::counts(segs);
    SegmentSnapshot {
        as_of: super::date_of(day).to_string(),
        counts: CustomerSegment::ALL
            .iter()
            .zip(c)
            .map(|(&segment, customers)| SegmentCount { segment, customers })
            .collect(),
    }
}

fn segments_at(a: &load::Activity, day: i64) -> Vec<Option<CustomerSegment>> {
    let rfms: Vec<Option<Rfm>> = a.visits.iter().map(|v| segments::rfm(v, day)).collect();
    segments::assign(&rfms)
}

/// Every overdue customer on `day`, the most usually spent per month first.
fn all_overdue(a: &load::Activity, day: i64) -> Vec<(CustomerId, overdue::Overdue)> {
    let mut out: Vec<(CustomerId, overdue::Overdue)> = a
        .ids
        .iter()
        .zip(&a.visits)
        .filter_map(|(&id, v)| overdue::overdue(v, day).map(|o| (id, o)))
        .collect();
    out.sort_by(|x, y| {
        y.1.monthly_cents
            .cmp(&x.1.monthly_cents)
            .then(y.1.days_since.cmp(&x.1.days_since))
            .then(x.0.cmp(&y.0))
    });
    out
}

impl Regulars {
    /// The owner's dashboard for `from`..=`to` (shop dates) against the
    /// period of the same length before; `utc_offset_minutes` is the shop's
    /// offset from UTC (e.g. 60 for CET, -300 for EST).
    pub fn dashboard(&self, from: &str, to: &str, utc_offset_minutes: i32) -> Result<Dashboard> {
        let p = period(from, to)?;
        if !(-14 * 60..=14 * 60).contains(&utc_offset_minutes) {
            return Err(Error::invalid(
                "utc_offset_minutes",
                "must be between -840 and 840 (minutes east of UTC)",
            ));
        }
        let offset = i64::from(utc_offset_minutes) * 60;
        let at = |d: NaiveDate| {
            chrono::DateTime::from_timestamp(day_number(d) * DAY - offset, 0)
                .map(crate::store::iso)
                .unwrap_or_default()
        };
        let start = at(p.previous().from);
        let end = at(p.to + chrono::Days::new(1));
        let store = self.store();
        let a = self.review_cache.activity(store)?;
        let segs = segments_at(&a, day_number(p.to));
        let rows = load::sale_rows(store, &start, &end, &a)?;
        Ok(dashboard::dashboard(
            &rows,
            p,
            &Context {
                offset_secs: offset,
                first_visit: &a.first_at,
                segment: &segs,
            },
        ))
    }

    /// One dashboard chart's data as CSV ("export chart data").
    pub fn dashboard_csv(
        &self,
        from: &str,
        to: &str,
        utc_offset_minutes: i32,
        chart: DashboardChart,
    ) -> Result<String> {
        let d = self.dashboard(from, to, utc_offset_minutes)?;
        Ok(dashboard::chart_csv(&d, chart))
    }

    /// Segment counts as of `as_of` (default today) and at the end of each
    /// of the `months - 1` months before (one snapshot per month, 1-36).
    pub fn segments(&self, as_of: Option<&str>, months: u32) -> Result<SegmentReport> {
        let d = as_of_date(as_of)?;
        let months = months.clamp(1, MAX_SEGMENT_MONTHS);
        let a = self.review_cache.activity(self.store())?;
        let mut days: Vec<i64> = (1..months)
            .rev()
            .filter_map(|k| {
                // The last day of the month k months before d's month.
                let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1)?;
                let next = first.checked_sub_months(chrono::Months::new(k - 1))?;
                Some(day_number(next) - 1)
            })
            .collect();
        days.push(day_number(d));
        let history: Vec<SegmentSnapshot> = days
            .iter()
            .map(|&day| snapshot(day, &segments_at(&a, day)))
            .collect();
        let current = history
            .last()
            .cloned()
            .expect("as-of snapshot pushed above");
        let last = day_number(d);
        let customers = a
            .visits
            .iter()
            .filter(|v| v.first().is_some_and(|x| x.day <= last))
            .count() as u32;
        Ok(SegmentReport {
            current,
            history,
            customers,
        })
    }

    /// Regulars late against their own rhythm on `as_of` (default today),
    /// those who usually spend the most per month first, at most `limit`.
    pub fn overdue(&self, as_of: Option<&str>, limit: usize) -> Result<Vec<OverdueCustomer>> {
        let d = as_of_date(as_of)?;
        let a = self.review_cache.activity(self.store())?;
        let mut list = all_overdue(&a, day_number(d));
        list.truncate(limit);
        let ids: Vec<CustomerId> = list.iter().map(|(id, _)| *id).collect();
        let names = load::display_names(self.store(), &ids)?;
        Ok(list
            .into_iter()
            .zip(names)
            .map(|((id, o), name)| OverdueCustomer {
                customer_id: id,
                display_name: name,
                last_visit: super::date_of(o.last_day).to_string(),
                days_since: o.days_since as u32,
                usual_gap_days: o.usual_gap as u32,
                threshold_days: o.threshold.round() as u32,
                usual_spend_cents: o.usual_spend_cents,
                visits: o.visit_days,
                reason: o.reason(),
            })
            .collect())
    }

    /// How prompts and offers did between `from` and `to` (dates, inclusive).
    pub fn offer_results(&self, from: &str, to: &str) -> Result<OfferResults> {
        let p = period(from, to)?;
        let start = day_start_iso(day_number(p.from));
        let end = day_start_iso(day_number(p.to) + 1);
        let events = load::offer_events(self.store(), &start, &end)?;
        let verdicts = load::prompt_verdicts(self.store(), &start, &end)?;
        Ok(OfferResults {
            from: p.from.to_string(),
            to: p.to.to_string(),
            offers: results::offer_results(&events),
            prompts: results::prompt_results(&verdicts),
        })
    }

    /// Who to contact this week (from `as_of`, default today): follow-ups
    /// due, overdue regulars and birthdays, each with a reason and a
    /// suggested message; consent and earlier outcomes respected.
    pub fn contact_list(&self, as_of: Option<&str>) -> Result<Vec<ContactItem>> {
        let d = as_of_date(as_of)?;
        let a = self.review_cache.activity(self.store())?;
        let overdue: HashMap<CustomerId, overdue::Overdue> =
            all_overdue(&a, day_number(d)).into_iter().collect();
        let facts = load::contact_facts(self.store(), d, overdue)?;
        Ok(contacts::contact_list(&facts, d))
    }

    /// The contact list as CSV for a mail merge.
    pub fn contact_list_csv(&self, as_of: Option<&str>) -> Result<String> {
        contacts::to_csv(&self.contact_list(as_of)?)
    }

    /// Records what came of contacting a customer about a list item
    /// (`reason_key` as the list gave it); `staff` is who did it, if known.
    pub fn record_contact_outcome(
        &mut self,
        customer: CustomerId,
        reason_key: &str,
        outcome: ContactOutcome,
        staff: Option<&str>,
    ) -> Result<()> {
        load::record_outcome(
            self.store_mut(),
            customer,
            reason_key,
            outcome,
            staff,
            chrono::Utc::now(),
        )
    }
}
