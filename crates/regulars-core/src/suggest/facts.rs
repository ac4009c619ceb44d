//! The inputs of every suggestion rule, as plain values. The loader
//! ([`super::engine`]) fills them from the store; tests build them by hand.

use std::sync::Arc;

use chrono::NaiveDate;

use super::history::Basket;
use super::text::Templates;
use crate::ids::{CustomerId, ProductId};
use crate::loyalty::Program;
use crate::model::{OfferKind, OfferOutcome, PromptKind, PromptVerdict};

/// What the rules need to know about a product. Names and categories are
/// shared strings: the engine keeps one per product of the whole catalogue
/// (92k on the Complete Journey store, with only 19k distinct names and 303
/// categories), so equal ones are stored once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemInfo {
    pub id: Option<ProductId>,
    pub name: Arc<str>,
    pub category: Option<Arc<str>>,
    pub price_cents: i64,
    pub considered: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CustomerFacts {
    pub id: CustomerId,
    /// What the cashier calls them ("Maggie").
    pub name: String,
    pub birthday: Option<NaiveDate>,
    pub member_since: NaiveDate,
    pub marketing_consent: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NoteFact {
    pub id: String,
    pub body: String,
    pub author: String,
    pub created_on: NaiveDate,
    pub follow_up_on: NaiveDate,
}

/// A cashier's verdict on a prompt, earlier.
#[derive(Clone, Debug, PartialEq)]
pub struct PromptFeedback {
    pub key: String,
    pub kind: PromptKind,
    pub verdict: PromptVerdict,
    pub at: i64,
}

/// An offer shown, accepted or declined, earlier.
#[derive(Clone, Debug, PartialEq)]
pub struct OfferEvent {
    pub key: String,
    pub kind: OfferKind,
    pub outcome: OfferOutcome,
    pub at: i64,
}

/// Who a campaign is for.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Segment {
    /// At least this many visits.
    pub min_visits: Option<u32>,
    /// Has bought this product before.
    pub bought_product: Option<ProductId>,
    /// Has bought something in this category before.
    pub bought_category: Option<String>,
    /// Not seen for at least this many days.
    pub lapsed_days: Option<i64>,
}

/// An owner's campaign: who, what, when, how often.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Campaign {
    pub id: String,
    pub name: String,
    /// What the cashier says ("Half price on bird seed this week").
    pub text: String,
    #[serde(default)]
    pub segment: Segment,
    /// The product it applies to (the line one tap adds).
    pub product_id: Option<ProductId>,
    /// Or any product in this category (no line: the cashier scans one).
    pub category: Option<String>,
    /// Discount in percent of the product's price.
    #[serde(default)]
    pub discount_percent: u32,
    /// Or a fixed discount in cents.
    #[serde(default)]
    pub discount_cents: i64,
    /// The product is given free.
    #[serde(default)]
    pub gift: bool,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// Times one customer may accept it.
    #[serde(default = "one")]
    pub max_per_customer: u32,
    /// Times it may be accepted in all (None = no cap).
    pub max_total: Option<u32>,
    /// Accepted so far, all customers (filled by the loader).
    #[serde(default)]
    pub accepted_total: u32,
}

fn one() -> u32 {
    1
}

/// Everything the rules read for one customer at one moment.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    pub now: i64,
    pub today: NaiveDate,
    pub customer: &'a CustomerFacts,
    /// Baskets strictly before `now`, oldest first.
    pub history: &'a [Basket],
    /// Item number -> product.
    pub catalog: &'a [ItemInfo],
    /// Items already in today's basket.
    pub basket: &'a [u32],
    pub notes: &'a [NoteFact],
    pub points_balance: i64,
    pub program: &'a Program,
    pub prompt_feedback: &'a [PromptFeedback],
    pub offer_events: &'a [OfferEvent],
    pub campaigns: &'a [Campaign],
    pub templates: &'a Templates,
}

impl Facts<'_> {
    pub fn item(&self, i: u32) -> Option<&ItemInfo> {
        self.catalog.get(i as usize)
    }

    pub fn item_name(&self, i: u32) -> String {
        self.item(i)
            .map(|p| p.name.to_string())
            .unwrap_or_else(|| format!("item {i}"))
    }

    pub fn in_basket(&self, i: u32) -> bool {
        self.basket.contains(&i)
    }
}
