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
use crate::ids::{CustomerId, HouseholdId, MergeId, NoteId, SaleId};

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

/// Who is looking at a profile: decides which notes they see. An unlocked
/// till gets it from its session: `Session::viewer()`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Viewer {
    /// A cashier: staff notes that have not expired.
    Staff,
    /// The owner: every note not retired, expired ones too (to tidy up).
    Owner,
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
    /// ISO date from which the note is hidden from the till and prompts.
    #[serde(default)]
    #[ts(optional)]
    pub expires_on: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct NewNote {
    pub body: String,
    pub author: String,
    pub visibility: Visibility,
    pub follow_up_on: Option<String>,
    /// ISO date from which the note no longer shows (optional).
    #[serde(default)]
    #[ts(optional)]
    pub expires_on: Option<String>,
}

/// The owner's edit of a note (the author stays who wrote it).
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct NoteEdit {
    pub body: String,
    pub visibility: Visibility,
    pub follow_up_on: Option<String>,
    pub expires_on: Option<String>,
}

/// A postal address; every part optional.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS, PartialEq)]
pub struct Address {
    pub line1: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
}

/// The customer edit form: the whole customer as it should now be. The same
/// rules as enrolment apply; only the fields that changed are recorded.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS, PartialEq)]
pub struct CustomerEdit {
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub phones: Vec<String>,
    pub email: Option<String>,
    /// ISO date (YYYY-MM-DD).
    pub birthday: Option<String>,
    pub marketing_consent: bool,
    pub external_ref: Option<String>,
    pub address: Address,
}

/// A household with its members.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct Household {
    pub id: HouseholdId,
    pub name: String,
    pub members: Vec<HouseholdMember>,
}

/// One side of a possible duplicate, for side-by-side review.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct DuplicateSide {
    pub summary: CustomerSummary,
    pub phones: Vec<String>,
    pub address: Address,
    pub points_balance: i64,
    /// Every card, retired ones too.
    pub cards: Vec<CardNumber>,
}

/// Two customers who may be one person, with the evidence, best first.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct DuplicatePair {
    pub a: DuplicateSide,
    pub b: DuplicateSide,
    /// 0-100; higher is more likely the same person.
    pub score: f32,
    /// Human-readable reasons ("same phone ...4567", "Bob is a nickname of Robert").
    pub evidence: Vec<String>,
}

/// What a merge did; `merge_id` is what an undo takes.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct MergeReceipt {
    pub merge_id: MergeId,
    pub survivor_id: CustomerId,
    pub merged_id: CustomerId,
    /// Rows moved to the survivor, per kind ("sales" -> 12).
    pub moved: Vec<MovedRows>,
    /// Survivor fields that were empty and were filled from the merged one.
    pub filled: Vec<String>,
    pub merged_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct MovedRows {
    pub what: String,
    pub rows: u32,
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
    pub address: Address,
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
    /// ISO 4217 code money is shown in ("USD").
    pub currency: String,
    /// BCP 47 tag dates, money and numbers are formatted for ("en-US").
    pub locale: String,
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

/// Rows in one table, for diagnostics.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct TableCount {
    pub table: String,
    pub rows: u64,
}

/// A setting shown in diagnostics (secret ones are left out).
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct SettingValue {
    pub key: String,
    pub value: String,
}

/// What "copy diagnostics" gives support: versions, the store's health and
/// size, and the last log lines. Nothing personal: no names, phones, emails,
/// notes or search text, and only the store's file name, not its folder
/// (which usually holds the user's login name).
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct Diagnostics {
    pub app_version: String,
    /// Schema the store is at / the newest this build knows.
    pub schema_version: i64,
    pub schema_known: i64,
    pub sqlite_version: String,
    pub os: String,
    pub store_file: String,
    pub store_bytes: u64,
    pub wal_bytes: u64,
    /// `PRAGMA quick_check`: "ok" when the file is sound.
    pub quick_check: String,
    pub journal_mode: String,
    pub pending_changes: u64,
    pub tables: Vec<TableCount>,
    pub settings: Vec<SettingValue>,
    pub log_lines: Vec<String>,
    /// All of the above as plain text: what the button puts on the clipboard.
    pub text: String,
}

// ---------------------------------------------------------------------------
// Review (the owner's dashboard, segments, overdue regulars, offer results)
// and "reach out" (who to contact this week). Computed by `crate::review`.
// ---------------------------------------------------------------------------

/// A customer's standing by recency, frequency and spend (see
/// `review::segments` for the exact rule).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, TS, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum CustomerSegment {
    /// Came recently, comes often, spends the most.
    Champions,
    /// Comes often and spends well; not necessarily this week.
    Loyal,
    /// Came recently, not often yet.
    Promising,
    /// First visit within the last 30 days.
    New,
    /// Middling on all counts and slipping.
    NeedsAttention,
    /// Used to come often or spend well, has not come for a while.
    AtRisk,
    /// Has not come for a long time, or came rarely and long ago.
    Lost,
}

impl CustomerSegment {
    pub const ALL: [CustomerSegment; 7] = [
        CustomerSegment::Champions,
        CustomerSegment::Loyal,
        CustomerSegment::Promising,
        CustomerSegment::New,
        CustomerSegment::NeedsAttention,
        CustomerSegment::AtRisk,
        CustomerSegment::Lost,
    ];

    /// The plain name the owner reads ("needs attention").
    pub fn label(self) -> &'static str {
        match self {
            CustomerSegment::Champions => "champions",
            CustomerSegment::Loyal => "loyal",
            CustomerSegment::Promising => "promising",
            CustomerSegment::New => "new",
            CustomerSegment::NeedsAttention => "needs attention",
            CustomerSegment::AtRisk => "at risk",
            CustomerSegment::Lost => "lost",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct SegmentCount {
    pub segment: CustomerSegment,
    pub customers: u32,
}

/// Segment counts at one moment (the end of a month, or the as-of date).
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct SegmentSnapshot {
    /// ISO date (YYYY-MM-DD): counts as of the end of this day.
    pub as_of: String,
    /// All seven segments, in `CustomerSegment::ALL` order.
    pub counts: Vec<SegmentCount>,
}

/// Segments now and how their counts moved month by month.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct SegmentReport {
    pub current: SegmentSnapshot,
    /// Oldest first; the last entry is `current`.
    pub history: Vec<SegmentSnapshot>,
    /// Customers with at least one visit up to the as-of date.
    pub customers: u32,
}

/// A regular who is late against their own rhythm.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct OverdueCustomer {
    pub customer_id: CustomerId,
    pub display_name: String,
    /// ISO date of the last visit.
    pub last_visit: String,
    pub days_since: u32,
    /// Their usual gap between visits, in days (median).
    pub usual_gap_days: u32,
    /// The gap after which they count as overdue (see `review::overdue`).
    pub threshold_days: u32,
    /// Their usual (median) basket, in cents.
    pub usual_spend_cents: i64,
    pub visits: u32,
    /// "usually every 7 days, last seen 23 days ago (3 Oct)".
    pub reason: String,
}

/// Totals of one period.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS, PartialEq)]
pub struct PeriodTotals {
    /// ISO date of the first day.
    pub from: String,
    /// ISO date of the last day (inclusive).
    pub to: String,
    /// Sales that are not refunds.
    pub visits: u32,
    /// Visits by known customers.
    pub identified_visits: u32,
    /// Net of refunds, in cents.
    pub revenue_cents: i64,
    /// Sales (refunds excluded) divided by visits, in cents.
    pub average_basket_cents: i64,
    /// Distinct known customers who visited.
    pub customers: u32,
    /// Of those, whose first visit ever was in the period.
    pub new_customers: u32,
    pub returning_customers: u32,
}

/// One point of the revenue trend (a day, or a week starting that day).
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct TrendPoint {
    /// ISO date of the day (or of the first day of the week).
    pub start: String,
    pub visits: u32,
    pub revenue_cents: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct SegmentRevenue {
    pub segment: CustomerSegment,
    /// Customers of this segment (as of the period's end) who visited.
    pub customers: u32,
    pub visits: u32,
    pub revenue_cents: i64,
}

/// The owner's dashboard for a period, with the previous period of the same
/// length for comparison.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct Dashboard {
    pub current: PeriodTotals,
    pub previous: PeriodTotals,
    /// Visits by weekday (0 = Monday) and hour of day (0-23) in shop time:
    /// 7 rows of 24.
    pub visits_by_hour: Vec<Vec<u32>>,
    /// "day" for periods up to 62 days, else "week".
    pub trend_step: String,
    pub revenue_trend: Vec<TrendPoint>,
    /// Known customers' visits by their segment at the period's end; the
    /// anonymous rest is not in any segment.
    pub revenue_by_segment: Vec<SegmentRevenue>,
}

/// Which dashboard chart to export as CSV.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DashboardChart {
    Totals,
    VisitsByHour,
    RevenueTrend,
    RevenueBySegment,
}

/// Offers shown / accepted / declined for one rule (offer kind) or campaign.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct OfferResult {
    pub kind: OfferKind,
    /// The campaign's name (campaign offers), else None (the whole kind).
    pub campaign: Option<String>,
    pub shown: u32,
    pub accepted: u32,
    pub declined: u32,
    /// Sum of the distinct sales the accepted offers were linked to.
    pub revenue_cents: i64,
    /// Accepted offers linked to a sale (the rest add no revenue).
    pub linked_sales: u32,
}

/// The cashier's verdicts on prompts of one kind.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct PromptResult {
    pub kind: PromptKind,
    pub used: u32,
    pub not_relevant: u32,
}

/// How prompts and offers did in a period.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct OfferResults {
    pub from: String,
    pub to: String,
    pub offers: Vec<OfferResult>,
    pub prompts: Vec<PromptResult>,
}

/// Why a customer is on the contact list.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, TS, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ContactReason {
    /// A note's follow-up date has come (service: no marketing consent needed).
    FollowUp,
    /// Late against their own rhythm (marketing: needs consent).
    Overdue,
    /// Birthday in the coming week (marketing: needs consent).
    Birthday,
}

/// One line of "who to contact this week".
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct ContactItem {
    pub customer_id: CustomerId,
    pub display_name: String,
    pub given_name: String,
    pub family_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub reason: ContactReason,
    /// What `record_contact_outcome` is recorded against.
    pub reason_key: String,
    pub reason_text: String,
    pub suggested_message: String,
    /// 0-100; higher first.
    pub priority: u32,
}

/// What came of contacting someone.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ContactOutcome {
    Called,
    Messaged,
    NoAnswer,
    NotInterested,
}

impl ContactOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactOutcome::Called => "called",
            ContactOutcome::Messaged => "messaged",
            ContactOutcome::NoAnswer => "no_answer",
            ContactOutcome::NotInterested => "not_interested",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "called" => Some(ContactOutcome::Called),
            "messaged" => Some(ContactOutcome::Messaged),
            "no_answer" => Some(ContactOutcome::NoAnswer),
            "not_interested" => Some(ContactOutcome::NotInterested),
            _ => None,
        }
    }
}

/// What a staff member may do. Cashiers run the till; the owner also sees
/// the owner screens, exports, merges, erases and manages staff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Cashier,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Cashier => "cashier",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Role::Owner),
            "cashier" => Some(Role::Cashier),
            _ => None,
        }
    }
}

/// Proof that someone unlocked the till with their PIN. Only
/// `Regulars::unlock` (and first-run set-up) makes one: there is no public
/// constructor and no `Deserialize`, so the shell keeps the session it was
/// given and the UI cannot forge one. Owner-only methods take `&Session`.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
pub struct Session {
    pub(crate) staff_id: crate::ids::StaffId,
    pub(crate) name: String,
    pub(crate) role: Role,
}

impl Session {
    pub fn staff_id(&self) -> crate::ids::StaffId {
        self.staff_id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn role(&self) -> Role {
        self.role
    }
    /// What this person may see of a profile (`Regulars::profile_for`):
    /// the owner sees owner-only and expired notes, a cashier does not.
    pub fn viewer(&self) -> Viewer {
        match self.role {
            Role::Owner => Viewer::Owner,
            Role::Cashier => Viewer::Staff,
        }
    }
    /// Refuses unless this is the owner's session; `what` completes "only
    /// the owner can ...".
    pub fn require_owner(&self, what: &'static str) -> crate::Result<()> {
        if self.role == Role::Owner {
            Ok(())
        } else {
            Err(crate::Error::OwnerOnly { what })
        }
    }
}

/// A person on the unlock screen (no PIN data beyond whether they are
/// locked out right now).
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct StaffMember {
    pub id: crate::ids::StaffId,
    pub name: String,
    pub role: Role,
    /// ISO time until which PIN entry is refused, if locked out now.
    pub locked_until: Option<String>,
}

/// One line of the owner's audit log. `detail` holds ids and counts only.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: String,
    pub staff_id: Option<crate::ids::StaffId>,
    /// The staff member's name now (None for the system or removed staff).
    pub staff_name: Option<String>,
    /// "unlock", "pin_set", "pin_reset", "export", "erase", "merge",
    /// "backup", "restore", "staff_add", "owner_setup".
    pub action: String,
    pub subject_id: Option<String>,
    pub detail: String,
}

/// What an erasure removed (counts only: the person is gone).
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct ErasureReport {
    pub customer_id: CustomerId,
    /// Rows deleted per table ("notes": 3, ...).
    pub deleted: std::collections::BTreeMap<String, u64>,
    /// Sales kept as anonymous totals (customer link removed).
    pub sales_anonymised: u64,
    /// Queued sync changes removed or scrubbed of the person.
    pub outbox_scrubbed: u64,
}

/// A backup written, or a restore done.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct BackupReport {
    pub path: String,
    pub bytes: u64,
    pub customers: u64,
    pub sales: u64,
}
/// The campaign editor's form: an owner's offer rule as typed values.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS, PartialEq)]
pub struct CampaignDraft {
    /// Absent for a new campaign (an id is made from the name).
    pub id: Option<String>,
    pub name: String,
    /// What the cashier says ("Half price on bird seed this week").
    pub text: String,
    /// Who: at least this many visits.
    pub min_visits: Option<u32>,
    /// Who: has bought this product before.
    pub bought_product: Option<crate::ids::ProductId>,
    /// Who: has bought something in this category before.
    pub bought_category: Option<String>,
    /// Who: not seen for at least this many days.
    pub lapsed_days: Option<i64>,
    /// What: the product the offer's line adds ...
    pub product_id: Option<crate::ids::ProductId>,
    /// ... or any product of this category.
    pub category: Option<String>,
    pub discount_percent: u32,
    pub discount_cents: i64,
    pub gift: bool,
    /// ISO dates, inclusive.
    pub starts_on: String,
    pub ends_on: String,
    /// Times one customer may accept it (at least 1).
    pub max_per_customer: u32,
    /// Times it may be accepted in all (none: no cap).
    pub max_total: Option<u32>,
    pub active: bool,
}

/// A saved campaign, with how often it was taken.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct CampaignInfo {
    pub campaign: CampaignDraft,
    pub accepted_total: u32,
}

/// Who a campaign would reach, by the same rule the till applies.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct CampaignPreview {
    /// Customers it would be offered to on `as_of`.
    pub count: u32,
    /// Customers considered (everyone in the store).
    pub considered: u32,
    /// Left out only because they have not consented to marketing.
    pub without_consent: u32,
    /// A few of them, with why each qualifies.
    pub sample: Vec<CampaignMatch>,
    pub as_of: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct CampaignMatch {
    pub customer: CustomerSummary,
    pub reason: String,
}

/// The shop's own settings, chosen on the first run and changeable by the
/// owner later.
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct StoreSettings {
    pub name: String,
    /// ISO 4217 code, three capital letters ("USD", "EUR", "GBP").
    pub currency: String,
    /// BCP 47 language and region ("en-US", "es-MX", "de-DE").
    pub locale: String,
    /// The points program on or off.
    pub loyalty: bool,
}

/// Where this till stands with the central server, for the status bar and
/// settings. Times are ISO-8601 UTC.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS, PartialEq)]
pub struct SyncStatus {
    pub enrolled: bool,
    pub server: Option<String>,
    pub store_name: Option<String>,
    pub device_number: Option<u32>,
    pub last_push_at: Option<String>,
    pub last_pull_at: Option<String>,
    /// What went wrong in the last attempt, if it failed (no personal data).
    pub last_error: Option<String>,
    #[ts(type = "number")]
    pub cursor: i64,
    /// Changes made here and not yet on the server.
    #[ts(type = "number")]
    pub pending: u64,
    /// Changes the server refused (kept here; they do not block the rest).
    #[ts(type = "number")]
    pub rejected: u64,
    /// Edits that lost a last-writer-wins race, kept for the owner.
    #[ts(type = "number")]
    pub conflicts: u64,
}

/// A value that lost a last-writer-wins race between tills, kept for the
/// owner to review (and re-enter if the loser was right).
#[derive(Clone, Debug, Serialize, Deserialize, TS, PartialEq)]
pub struct SyncConflict {
    /// What kind of record ("customer", "note", "product", ...).
    pub entity: String,
    pub entity_id: String,
    pub field: String,
    /// The value kept, as text (None when not shown, e.g. a phone list).
    pub kept: Option<String>,
    /// The value that lost, as JSON text.
    pub lost: Option<String>,
    /// When the losing write was made (from its clock), ISO-8601 UTC.
    pub lost_at: String,
    pub lost_device: String,
    pub noted_at: String,
}
