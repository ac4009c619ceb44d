//! The values that cross from the core to the UI (and to CLI JSON output).
//! Each derives `ts_rs::TS`; `ui/src/bindings/` is generated from them and
//! checked by the `bindings_are_current` test, so the UI and the core cannot
//! drift apart silently.
//!
//! Money is integer cents; dates and times are ISO-8601 strings in UTC
//! (the UI formats them for the shop's locale).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::card::{CardKind, CardNumber};
use crate::ids::{CustomerId, HouseholdId, NoteId, SaleId};

/// One line in a list of customers: enough to tell two John Smiths apart.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct CustomerSummary {
    pub id: CustomerId,
    pub external_ref: Option<String>,
    /// What the cashier calls them: preferred name if any, else given name,
    /// then family name.
    pub display_name: String,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    /// Last four digits of the first phone, for telling people apart without
    /// reading a whole number aloud at the counter.
    pub phone_tail: Option<String>,
    pub email: Option<String>,
    pub card: Option<CardNumber>,
    pub visits: u32,
    /// ISO timestamp of the latest sale, if any.
    pub last_visit: Option<String>,
    /// ISO date the customer was enrolled.
    pub member_since: String,
    pub household: Option<String>,
}

/// A search result with its score and a human reason ("nickname of Robert").
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct FoundCustomer {
    pub customer: CustomerSummary,
    pub score: f32,
    pub why: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct CardInfo {
    pub number: CardNumber,
    pub kind: CardKind,
    pub issued_at: String,
    pub retired_at: Option<String>,
    pub retired_reason: Option<String>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Every cashier sees it.
    Staff,
    /// Only the owner sees it.
    Owner,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Staff => "staff",
            Visibility::Owner => "owner",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "staff" => Some(Visibility::Staff),
            "owner" => Some(Visibility::Owner),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct Note {
    pub id: NoteId,
    pub body: String,
    pub author: String,
    pub visibility: Visibility,
    /// ISO date on which the note wants a follow-up question.
    pub follow_up_on: Option<String>,
    pub created_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct NewNote {
    pub body: String,
    pub author: String,
    pub visibility: Visibility,
    pub follow_up_on: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct VisitLine {
    pub product: String,
    pub quantity: f64,
    pub amount_cents: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct Visit {
    pub sale_id: SaleId,
    pub at: String,
    pub total_cents: i64,
    pub lines: Vec<VisitLine>,
}

#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct Favourite {
    pub product: String,
    /// Number of visits on which it was bought.
    pub times: u32,
    pub last_bought: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct HouseholdMember {
    pub id: CustomerId,
    pub display_name: String,
}

/// Everything the till shows about one customer.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct Profile {
    pub summary: CustomerSummary,
    pub phones: Vec<String>,
    pub birthday: Option<String>,
    pub marketing_consent: bool,
    pub household_id: Option<HouseholdId>,
    pub household_members: Vec<HouseholdMember>,
    pub cards: Vec<CardInfo>,
    pub total_spent_cents: i64,
    pub average_basket_cents: i64,
    pub first_visit: Option<String>,
    pub favourites: Vec<Favourite>,
    pub recent_visits: Vec<Visit>,
    pub notes: Vec<Note>,
    pub points_balance: i64,
}

/// What the enrolment form sends.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS, PartialEq)]
pub struct NewCustomer {
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub phones: Vec<String>,
    pub email: Option<String>,
    /// ISO date (YYYY-MM-DD).
    pub birthday: Option<String>,
    pub marketing_consent: bool,
    pub external_ref: Option<String>,
    /// An existing card to attach; when absent the next store card is issued.
    pub card: Option<String>,
}

/// A possible duplicate of a customer being enrolled, with the evidence.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct DuplicateCandidate {
    pub customer: CustomerSummary,
    pub reasons: Vec<String>,
}

/// Facts about the open store, for the status bar and the CLI.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct StoreInfo {
    pub name: String,
    pub path: String,
    pub customers: u64,
    pub sales: u64,
    pub demo: bool,
    pub pending_changes: u64,
}

/// How every failed command reaches the UI: a closed code to switch on and a
/// message for the person (which already says what to do next).
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct ApiError {
    pub code: crate::ErrorCode,
    pub message: String,
}

impl From<&crate::Error> for ApiError {
    fn from(e: &crate::Error) -> Self {
        ApiError {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// A product in the catalogue.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct Product {
    pub id: crate::ids::ProductId,
    pub external_ref: Option<String>,
    pub barcode: Option<String>,
    pub name: String,
    pub department: Option<String>,
    pub category: Option<String>,
    pub price_cents: i64,
    /// A durable or high-ticket good that deserves a follow-up question.
    pub considered: bool,
}

/// What the owner types to add or edit a product.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS, PartialEq)]
pub struct ProductDraft {
    pub barcode: Option<String>,
    pub name: String,
    pub department: Option<String>,
    pub category: Option<String>,
    pub price_cents: i64,
    pub considered: bool,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    #[default]
    Card,
    Other,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::Card => "card",
            PaymentMethod::Other => "other",
        }
    }
}

/// One line of a sale being rung up. For catalogue products the price and
/// description come from the catalogue when the sale completes; the client's
/// copy is only for display.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct DraftLine {
    pub product_id: Option<crate::ids::ProductId>,
    pub description: String,
    /// Units, or weight for weighed goods (kg or lb, as the shop sells).
    pub quantity: f64,
    pub unit_price_cents: i64,
    /// A line discount in cents (never more than the line's value).
    pub discount_cents: i64,
    /// The key of the offer this line came from (set on `Offer::line`; the
    /// till passes the line through unchanged). When the sale completes,
    /// the customer's accepted offer event with this key is linked to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub offer_key: Option<String>,
}

/// A sale as the till sends it to be completed.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS, PartialEq)]
pub struct SaleDraft {
    pub customer_id: Option<CustomerId>,
    pub lines: Vec<DraftLine>,
    pub payment_method: PaymentMethod,
}

#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct SaleLine {
    pub position: u32,
    pub product_id: Option<crate::ids::ProductId>,
    pub description: String,
    pub quantity: f64,
    pub unit_price_cents: i64,
    pub discount_cents: i64,
    pub amount_cents: i64,
}

/// A completed sale (or refund, with negative amounts).
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct Sale {
    pub id: SaleId,
    pub customer_id: Option<CustomerId>,
    pub customer_name: Option<String>,
    pub completed_at: String,
    pub lines: Vec<SaleLine>,
    pub total_cents: i64,
    pub payment_method: PaymentMethod,
    pub refund_of: Option<SaleId>,
    pub points_earned: i64,
}

/// What a scanned or typed code turned out to be.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScanResult {
    /// A loyalty card: the holder's profile.
    Customer { profile: Box<Profile> },
    /// A product: a line ready to add to the sale.
    Product { line: DraftLine },
}

/// What a conversation prompt is about.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, TS, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum PromptKind {
    /// A note's follow-up date has come.
    NoteDue,
    /// A considered purchase made days to weeks ago.
    FollowUp,
    /// Birthday this week (known and consented).
    Birthday,
    /// Membership anniversary this week.
    Anniversary,
    /// Back after an absence that is long for this customer.
    WelcomeBack,
    /// A round-numbered visit.
    Milestone,
    /// Points or stamps close to a reward.
    RewardNear,
    /// Their usual item, not in today's basket yet.
    Usual,
}

/// Something worth saying, with the evidence behind it.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct Prompt {
    /// Stable per customer and subject ("follow_up:<product>:<date>"): what
    /// feedback is recorded against.
    pub key: String,
    pub kind: PromptKind,
    /// What the cashier could say.
    pub text: String,
    /// Why it is shown, with its evidence.
    pub reason: String,
    /// 0-100; higher first.
    pub priority: u32,
}

/// The cashier's verdict on a prompt.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PromptVerdict {
    /// Said it: do not repeat this one.
    Used,
    /// Not for this customer: hide it, and show fewer of its kind.
    NotRelevant,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, TS, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum OfferKind {
    /// A reward they have earned (points or a full stamp card).
    Reward,
    /// One of the owner's campaigns.
    Campaign,
    /// Due by their own purchase cycle.
    Replenish,
    /// Something they have not bought that people like them do.
    Discovery,
}

/// Something worth offering, with why, and the line that applies it.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct Offer {
    /// Stable per customer and subject ("replenish:<product>"): what shown /
    /// accepted / declined is recorded against.
    pub key: String,
    pub kind: OfferKind,
    pub product_id: Option<crate::ids::ProductId>,
    pub text: String,
    pub reason: String,
    /// Higher first; comparable within one list only.
    pub score: f32,
    /// Points this offer spends when accepted (rewards).
    pub points_cost: i64,
    /// The line one tap adds to the sale (with any discount), if any.
    pub line: Option<DraftLine>,
}

/// What happened to an offer.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OfferOutcome {
    Shown,
    Accepted,
    Declined,
}

/// Everything the till shows next to the customer: at most three prompts and
/// at most two offers.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct Suggestions {
    pub customer_id: CustomerId,
    /// The moment they were computed for (ISO UTC).
    pub as_of: String,
    pub prompts: Vec<Prompt>,
    pub offers: Vec<Offer>,
    pub points_balance: i64,
}
