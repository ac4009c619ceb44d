//! Offers: what the cashier could offer, at most two per visit. Pure
//! functions of [`Facts`] and the scored items of [`super::rank`].
//!
//! - Earned rewards (points or a full stamp card) are the customer's own and
//!   always shown.
//! - Campaigns, replenishment and discovery are marketing: only with consent.
//! - An offer declined rests for [`DECLINE_REST_DAYS`]; one shown
//!   [`SHOWN_LIMIT`] times in that period without being taken rests too.

use super::facts::{Campaign, Facts};
use super::history::DAY;
use super::rank::Scored;
use crate::model::{DraftLine, Offer, OfferKind, OfferOutcome};

pub const MAX_OFFERS: usize = 2;
pub const DECLINE_REST_DAYS: i64 = 30;
pub const SHOWN_LIMIT: usize = 3;
/// Replenishment: due when time since the last purchase is this share of
/// their cycle (from "nearly" to "well past, but not given up").
pub const DUE_WINDOW: (f32, f32) = (0.8, 3.0);

/// When the customer last accepted the offer `key`, if ever.
pub fn last_accepted(f: &Facts<'_>, key: &str) -> Option<i64> {
    f.offer_events
        .iter()
        .filter(|e| e.key == key && e.outcome == OfferOutcome::Accepted && e.at < f.now)
        .map(|e| e.at)
        .max()
}

fn accepted_count(f: &Facts<'_>, key: &str) -> u32 {
    f.offer_events
        .iter()
        .filter(|e| e.key == key && e.outcome == OfferOutcome::Accepted)
        .count() as u32
}

/// Is `key` resting (declined lately, or shown too often without a take)?
pub fn resting(f: &Facts<'_>, key: &str) -> bool {
    let window = f.now - DECLINE_REST_DAYS * DAY;
    let recent = || {
        f.offer_events
            .iter()
            .filter(move |e| e.key == key && e.at >= window && e.at < f.now)
    };
    if recent().any(|e| e.outcome == OfferOutcome::Declined) {
        return true;
    }
    let last_take = recent()
        .filter(|e| e.outcome == OfferOutcome::Accepted)
        .map(|e| e.at)
        .max();
    recent()
        .filter(|e| e.outcome == OfferOutcome::Shown && last_take.is_none_or(|t| e.at > t))
        .count()
        >= SHOWN_LIMIT
}

fn line_for(f: &Facts<'_>, item: u32, discount_cents: i64) -> Option<DraftLine> {
    let p = f.item(item)?;
    Some(DraftLine {
        product_id: p.id,
        description: p.name.to_string(),
        quantity: 1.0,
        unit_price_cents: p.price_cents,
        discount_cents: discount_cents.clamp(0, p.price_cents.max(0)),
        offer_key: None,
    })
}

fn item_of(f: &Facts<'_>, product: crate::ids::ProductId) -> Option<u32> {
    f.catalog
        .iter()
        .position(|p| p.id == Some(product))
        .map(|i| i as u32)
}

fn product_key(f: &Facts<'_>, item: u32) -> String {
    f.item(item)
        .and_then(|p| p.id)
        .map(|p| p.to_string())
        .unwrap_or_else(|| item.to_string())
}

/// Rewards paid for by points, and full stamp cards.
pub fn rewards(f: &Facts<'_>) -> Vec<Offer> {
    let mut out = Vec::new();
    if let Some(r) = f.program.best_reward(f.points_balance) {
        let v = [
            ("reward", r.name.clone()),
            ("balance", f.points_balance.to_string()),
            ("points", r.points.to_string()),
        ];
        let item = r.product_id.and_then(|p| item_of(f, p));
        let mut text = f.templates.render("reward", &v);
        if let Some(first) = text.get(..1) {
            text = first.to_uppercase() + &text[1..];
        }
        out.push(Offer {
            key: format!("reward:{}", r.id),
            kind: OfferKind::Reward,
            product_id: r.product_id,
            text,
            reason: f.templates.render("reward.reason", &v),
            score: 3.0,
            points_cost: r.points,
            line: item.and_then(|i| line_for(f, i, i64::MAX)),
        });
    }
    for card in &f.program.stamp_cards {
        let key = format!("stamp:{}", card.id);
        let since = last_accepted(f, &key);
        let n = crate::loyalty::stamps(card, f.history, since, |i| {
            f.item(i).and_then(|p| p.category.as_deref())
        });
        if n >= card.stamps.max(1) {
            let v = [("card", card.name.clone()), ("stamps", n.to_string())];
            let item = card.product_id.and_then(|p| item_of(f, p));
            out.push(Offer {
                key,
                kind: OfferKind::Reward,
                product_id: card.product_id,
                text: f.templates.render("stamp_reward", &v),
                reason: f.templates.render("stamp_reward.reason", &v),
                score: 3.0,
                points_cost: 0,
                line: item.and_then(|i| line_for(f, i, i64::MAX)),
            });
        }
    }
    out
}

/// Does the customer fall in the campaign's segment?
pub fn in_segment(f: &Facts<'_>, c: &Campaign) -> bool {
    let s = &c.segment;
    if s.min_visits.is_some_and(|m| (f.history.len() as u32) < m) {
        return false;
    }
    if let Some(p) = s.bought_product {
        let Some(i) = item_of(f, p) else { return false };
        if !f.history.iter().any(|b| b.contains(i)) {
            return false;
        }
    }
    if let Some(cat) = &s.bought_category {
        let hit = f.history.iter().any(|b| {
            b.items.iter().any(|&i| {
                f.item(i)
                    .and_then(|p| p.category.as_deref())
                    .is_some_and(|c| c.eq_ignore_ascii_case(cat))
            })
        });
        if !hit {
            return false;
        }
    }
    if let Some(d) = s.lapsed_days {
        let last = f.history.last().map(|b| b.at);
        if last.is_none_or(|l| f.now - l < d * DAY) {
            return false;
        }
    }
    true
}

fn rule_text(c: &Campaign) -> String {
    let s = &c.segment;
    let mut who = Vec::new();
    if let Some(m) = s.min_visits {
        who.push(format!("{m}+ visits"));
    }
    if s.bought_product.is_some() {
        who.push("bought the product before".into());
    }
    if let Some(cat) = &s.bought_category {
        who.push(format!("buys {cat}"));
    }
    if let Some(d) = s.lapsed_days {
        who.push(format!("away {d}+ days"));
    }
    if who.is_empty() {
        "everyone".into()
    } else {
        who.join(", ")
    }
}

/// Does campaign `c` apply to this customer now: consent, dates, total and
/// per-customer caps, segment. The one rule the till and the campaign
/// editor's preview share.
pub fn campaign_applies(f: &Facts<'_>, c: &Campaign) -> bool {
    f.customer.marketing_consent
        && c.starts_on <= f.today
        && f.today <= c.ends_on
        && c.max_total.is_none_or(|m| c.accepted_total < m)
        && accepted_count(f, &format!("campaign:{}", c.id)) < c.max_per_customer
        && in_segment(f, c)
}

/// Why a customer qualifies for `c`, with their own evidence.
pub fn campaign_reason(f: &Facts<'_>, c: &Campaign) -> String {
    let visits = f.history.len();
    let last = f
        .history
        .last()
        .map(|b| format!(", last {} days ago", (f.now - b.at) / DAY))
        .unwrap_or_default();
    format!("{}: {visits} visits{last}", rule_text(c))
}

/// The owner's campaigns that apply now to this customer, within caps.
pub fn campaigns(f: &Facts<'_>) -> Vec<Offer> {
    if !f.customer.marketing_consent {
        return Vec::new();
    }
    f.campaigns
        .iter()
        .filter(|c| campaign_applies(f, c))
        .map(|c| {
            let item = c.product_id.and_then(|p| item_of(f, p));
            let line = item.and_then(|i| {
                let price = f.item(i).map_or(0, |p| p.price_cents);
                let discount = if c.gift {
                    price
                } else {
                    c.discount_cents
                        .max(price * i64::from(c.discount_percent.min(100)) / 100)
                };
                line_for(f, i, discount)
            });
            let v = [
                ("campaign", c.name.clone()),
                ("rule", rule_text(c)),
                ("until", super::text::human_date(c.ends_on)),
            ];
            Offer {
                key: format!("campaign:{}", c.id),
                kind: OfferKind::Campaign,
                product_id: c.product_id,
                text: c.text.clone(),
                reason: f.templates.render("campaign.reason", &v),
                score: 2.0,
                points_cost: 0,
                line,
            }
        })
        .collect()
}

/// Items due by the customer's own cycle, best first.
pub fn replenish(f: &Facts<'_>, scored: &[Scored], n: usize) -> Vec<Offer> {
    if !f.customer.marketing_consent {
        return Vec::new();
    }
    scored
        .iter()
        .filter(|s| !f.in_basket(s.item) && f.item(s.item).is_some())
        .filter_map(|s| {
            let st = s.stat.as_ref()?;
            let cycle = st.cycle_days.filter(|_| st.times >= 2)?;
            let days = (f.now - st.last_at) as f32 / DAY as f32;
            let ratio = days / cycle.max(0.5);
            if !(DUE_WINDOW.0..=DUE_WINDOW.1).contains(&ratio) {
                return None;
            }
            let v = [
                ("product", f.item_name(s.item).to_lowercase()),
                ("cycle", format!("{:.0}", cycle.max(1.0))),
                ("days", format!("{:.0}", days.floor())),
                ("times", st.times.to_string()),
            ];
            Some(Offer {
                key: format!("replenish:{}", product_key(f, s.item)),
                kind: OfferKind::Replenish,
                product_id: f.item(s.item).and_then(|p| p.id),
                text: f.templates.render("replenish", &v),
                reason: f.templates.render("replenish.reason", &v),
                score: 1.0 + s.score,
                points_cost: 0,
                line: line_for(f, s.item, 0),
            })
        })
        .take(n)
        .collect()
}

/// Never-bought items that people like them buy.
pub fn discovery(f: &Facts<'_>, found: &[Scored], n: usize) -> Vec<Offer> {
    if !f.customer.marketing_consent {
        return Vec::new();
    }
    found
        .iter()
        .filter(|s| !f.in_basket(s.item) && f.item(s.item).is_some())
        .map(|s| {
            let v = [
                ("product", f.item_name(s.item).to_lowercase()),
                ("name", f.customer.name.clone()),
                ("pct", format!("{:.0}", (s.neighbours * 100.0).max(1.0))),
            ];
            Offer {
                key: format!("discovery:{}", product_key(f, s.item)),
                kind: OfferKind::Discovery,
                product_id: f.item(s.item).and_then(|p| p.id),
                text: f.templates.render("discovery", &v),
                reason: f.templates.render("discovery.reason", &v),
                score: 0.5 + s.score.min(0.49),
                points_cost: 0,
                line: line_for(f, s.item, 0),
            }
        })
        .take(n)
        .collect()
}

/// All offer rules, resting ones dropped, at most one per kind first, then
/// the best of the rest; at most two.
pub fn offers(f: &Facts<'_>, scored: &[Scored], found: &[Scored]) -> Vec<Offer> {
    let mut all: Vec<Offer> = [
        rewards(f),
        campaigns(f),
        replenish(f, scored, 4),
        discovery(f, found, 4),
    ]
    .into_iter()
    .flatten()
    .filter(|o| !resting(f, &o.key))
    .collect();
    all.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.key.cmp(&b.key)));
    let mut out: Vec<Offer> = Vec::with_capacity(MAX_OFFERS);
    for o in &all {
        if out.len() < MAX_OFFERS && !out.iter().any(|x| x.kind == o.kind) {
            out.push(o.clone());
        }
    }
    for o in all {
        if out.len() < MAX_OFFERS && !out.iter().any(|x| x.key == o.key) {
            out.push(o);
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.key.cmp(&b.key)));
    // The line carries its offer's key into the sale, which links the
    // accepted offer event to the sale id (revenue from offers).
    for o in &mut out {
        if let Some(l) = &mut o.line {
            l.offer_key = Some(o.key.clone());
        }
    }
    out
}
