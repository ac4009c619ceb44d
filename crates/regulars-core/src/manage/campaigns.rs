//! The campaign editor's rules: the form ([`CampaignDraft`]) parsed once
//! into the typed rule the offer engine runs ([`Campaign`]), and back.
//!
//! Owns: validation of what the owner typed (dates, discounts, caps, ids).
//! Does not own: who qualifies (`suggest::offers::campaign_applies`, the one
//! rule both the till and the preview use) or storage
//! (`suggest::record::save_campaign`).

use chrono::NaiveDate;

use crate::error::clip;
use crate::model::CampaignDraft;
use crate::suggest::facts::{Campaign, Segment};
use crate::{Error, Result};

fn date(field: &'static str, s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        Error::invalid(
            field,
            format!("'{}' is not a date like 2026-12-01", clip(s)),
        )
    })
}

fn text(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// An id from a name: lower-case letters, digits and dashes ("Bird seed
/// week" -> "bird-seed-week").
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(40).collect()
}

/// The form as the typed rule, or what to fix.
pub fn validate(d: &CampaignDraft) -> Result<Campaign> {
    let name = d.name.trim().to_string();
    if name.is_empty() {
        return Err(Error::invalid(
            "campaign name",
            "is empty; name the campaign",
        ));
    }
    let text_said = d.text.trim().to_string();
    if text_said.is_empty() {
        return Err(Error::invalid(
            "campaign text",
            "is empty; type what the cashier should say",
        ));
    }
    let id = text(&d.id).unwrap_or_else(|| slug(&name));
    if id.is_empty() {
        return Err(Error::invalid(
            "campaign name",
            "needs at least one letter or digit",
        ));
    }
    let starts_on = date("start date", &d.starts_on)?;
    let ends_on = date("end date", &d.ends_on)?;
    if ends_on < starts_on {
        return Err(Error::invalid(
            "end date",
            "is before the start date; swap them",
        ));
    }
    if d.discount_percent > 100 {
        return Err(Error::invalid("discount", "a percentage is 0-100"));
    }
    if d.discount_cents < 0 {
        return Err(Error::invalid(
            "discount",
            "a fixed discount cannot be negative",
        ));
    }
    if d.product_id.is_none() && text(&d.category).is_none() {
        return Err(Error::invalid(
            "campaign product",
            "choose the product it applies to, or a category",
        ));
    }
    if d.lapsed_days.is_some_and(|x| x < 1) {
        return Err(Error::invalid("away for", "must be at least one day"));
    }
    Ok(Campaign {
        id,
        name,
        text: text_said,
        segment: Segment {
            min_visits: d.min_visits.filter(|&v| v > 0),
            bought_product: d.bought_product,
            bought_category: text(&d.bought_category),
            lapsed_days: d.lapsed_days,
        },
        product_id: d.product_id,
        category: text(&d.category),
        discount_percent: d.discount_percent,
        discount_cents: d.discount_cents,
        gift: d.gift,
        starts_on,
        ends_on,
        max_per_customer: d.max_per_customer.max(1),
        max_total: d.max_total,
        accepted_total: 0,
    })
}

/// The stored rule back as the form.
pub fn to_draft(c: &Campaign, active: bool) -> CampaignDraft {
    CampaignDraft {
        id: Some(c.id.clone()),
        name: c.name.clone(),
        text: c.text.clone(),
        min_visits: c.segment.min_visits,
        bought_product: c.segment.bought_product,
        bought_category: c.segment.bought_category.clone(),
        lapsed_days: c.segment.lapsed_days,
        product_id: c.product_id,
        category: c.category.clone(),
        discount_percent: c.discount_percent,
        discount_cents: c.discount_cents,
        gift: c.gift,
        starts_on: c.starts_on.format("%Y-%m-%d").to_string(),
        ends_on: c.ends_on.format("%Y-%m-%d").to_string(),
        max_per_customer: c.max_per_customer,
        max_total: c.max_total,
        active,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> CampaignDraft {
        CampaignDraft {
            name: "Bird seed week".into(),
            text: "Half price bird seed".into(),
            category: Some("Pets".into()),
            discount_percent: 50,
            starts_on: "2026-12-01".into(),
            ends_on: "2026-12-07".into(),
            max_per_customer: 1,
            active: true,
            ..Default::default()
        }
    }

    #[test]
    fn drafts_validate_into_rules_and_back() {
        let c = validate(&ok()).unwrap();
        assert_eq!(c.id, "bird-seed-week");
        assert_eq!(validate(&to_draft(&c, true)).unwrap(), c);
        type Bad = (&'static str, fn(&mut CampaignDraft));
        let bad: [Bad; 6] = [
            ("name", |d| d.name = " ".into()),
            ("text", |d| d.text = String::new()),
            ("end date", |d| d.ends_on = "2026-11-01".into()),
            ("start date", |d| d.starts_on = "1 Dec".into()),
            ("discount", |d| d.discount_percent = 150),
            ("product", |d| d.category = None),
        ];
        for (what, f) in bad {
            let mut d = ok();
            f(&mut d);
            let e = validate(&d).unwrap_err().to_string();
            assert!(e.contains(what), "{what}: {e}");
        }
    }
}
