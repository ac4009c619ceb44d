//! The loyalty program: its configuration (points per currency unit and/or
//! per visit, stamp cards per category, rewards at point thresholds) as pure
//! rules, and the append-only points ledger.
//!
//! The ledger is never updated or deleted: the balance is the sum of its
//! entries. Every entry has a globally unique id chosen by the till that
//! made it, so replaying an entry (a retried sync, a double tap) is a no-op,
//! never a double. Redemption is capped at the balance this till knows, so a
//! till that is offline cannot give away points it has not seen.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, PointsEntryId, ProductId, SaleId};
use crate::store::{now_iso, Store};
use crate::suggest::history::Basket;
use crate::{Error, Result};

/// Setting key holding the program as JSON.
pub const PROGRAM_SETTING: &str = "loyalty.program";

/// A reward bought with points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reward {
    pub id: String,
    /// "a free coffee".
    pub name: String,
    pub points: i64,
    /// The product given (the line one tap adds, free).
    pub product_id: Option<ProductId>,
    /// Or money off the sale, in cents.
    #[serde(default)]
    pub discount_cents: i64,
}

/// Every `stamps`-th visit buying from `category` gets one free.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StampCard {
    pub id: String,
    /// "coffee" (as the cashier says it).
    pub name: String,
    /// Products whose category is this count.
    pub category: String,
    pub stamps: u32,
    /// The free product (one tap adds it at no charge).
    pub product_id: Option<ProductId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Program {
    /// The owner can switch the program off: no points are earned, and no
    /// reward, stamp or "points within reach" is offered.
    pub enabled: bool,
    /// Points per whole currency unit spent.
    pub points_per_unit: i64,
    /// Points per visit (any purchase).
    pub points_per_visit: i64,
    pub rewards: Vec<Reward>,
    pub stamp_cards: Vec<StampCard>,
    /// "Within reach": at most this many points short.
    pub near_points: i64,
}

impl Default for Program {
    fn default() -> Self {
        Program {
            enabled: true,
            points_per_unit: 1,
            points_per_visit: 0,
            rewards: Vec::new(),
            stamp_cards: Vec::new(),
            near_points: 25,
        }
    }
}

impl Program {
    /// From the JSON setting; a missing or unreadable program is the default
    /// (1 point per unit, no rewards) so the till keeps working.
    pub fn from_json(json: Option<&str>) -> Self {
        json.and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default()
    }

    pub fn load(store: &Store) -> Result<Self> {
        let p = Self::load_as_saved(store)?;
        if !p.enabled {
            return Ok(Program {
                enabled: false,
                points_per_unit: 0,
                points_per_visit: 0,
                rewards: Vec::new(),
                stamp_cards: Vec::new(),
                near_points: 0,
            });
        }
        Ok(p)
    }

    /// The program as saved, rewards included even when it is switched off
    /// (so switching it on again brings them back).
    pub fn load_as_saved(store: &Store) -> Result<Self> {
        let mut p = Program::from_json(store.setting(PROGRAM_SETTING)?.as_deref());
        // The older single setting, if the program does not say otherwise.
        if store.setting(PROGRAM_SETTING)?.is_none() {
            if let Some(n) = store
                .setting("points_per_unit")?
                .and_then(|s| s.parse().ok())
            {
                p.points_per_unit = n;
            }
        }
        Ok(p)
    }

    pub fn save(&self, store: &Store) -> Result<()> {
        let json =
            serde_json::to_string(self).map_err(|e| Error::invalid("program", e.to_string()))?;
        store.set_setting(PROGRAM_SETTING, &json)
    }

    /// Points a sale earns (none for refunds: those reverse the original).
    pub fn points_for_sale(&self, total_cents: i64) -> i64 {
        if total_cents <= 0 {
            0
        } else {
            total_cents / 100 * self.points_per_unit + self.points_per_visit
        }
    }

    /// The most valuable reward the balance pays for.
    pub fn best_reward(&self, balance: i64) -> Option<&Reward> {
        self.rewards
            .iter()
            .filter(|r| r.points > 0 && r.points <= balance)
            .max_by_key(|r| (r.points, std::cmp::Reverse(r.id.clone())))
    }

    /// The cheapest reward not yet affordable, if it is within reach.
    pub fn next_reward(&self, balance: i64) -> Option<&Reward> {
        self.rewards
            .iter()
            .filter(|r| r.points > balance && r.points - balance <= self.near_points)
            .min_by_key(|r| (r.points, r.id.clone()))
    }
}

/// Stamps on a card: visits after `since` (the last free one, if any) that
/// bought something in the card's category. `category_of` maps an item
/// number to its category.
pub fn stamps<'a>(
    card: &StampCard,
    history: &[Basket],
    since: Option<i64>,
    category_of: impl Fn(u32) -> Option<&'a str>,
) -> u32 {
    history
        .iter()
        .filter(|b| since.is_none_or(|s| b.at > s))
        .filter(|b| {
            b.items
                .iter()
                .any(|&i| category_of(i).is_some_and(|c| c.eq_ignore_ascii_case(&card.category)))
        })
        .count() as u32
}

/// Kinds of ledger entry, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Earn,
    Redeem,
    Adjust,
    Reversal,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Earn => "earn",
            EntryKind::Redeem => "redeem",
            EntryKind::Adjust => "adjust",
            EntryKind::Reversal => "reversal",
        }
    }
}

/// One ledger entry, as made on some till.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: PointsEntryId,
    pub customer_id: CustomerId,
    pub sale_id: Option<SaleId>,
    pub kind: EntryKind,
    pub points: i64,
    pub reason: Option<String>,
    pub created_at: String,
}

/// The balance: the sum of the ledger.
pub fn balance(conn: &Connection, customer: CustomerId) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT coalesce(sum(points), 0) FROM points_ledger WHERE customer_id = ?1",
        )?
        .query_row([customer], |r| r.get(0))?)
}

/// Appends an entry unless one with its id is already there (a replay).
/// Returns whether it was new. Adjustments need a reason.
pub fn append(conn: &Connection, e: &Entry) -> Result<bool> {
    if e.kind == EntryKind::Adjust && e.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(Error::invalid(
            "adjustment",
            "needs a reason the owner can read later",
        ));
    }
    let n = conn
        .prepare_cached(
            "INSERT INTO points_ledger(id, customer_id, sale_id, kind, points, reason, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) DO NOTHING",
        )?
        .execute(params![
            e.id,
            e.customer_id,
            e.sale_id,
            e.kind.as_str(),
            e.points,
            e.reason,
            e.created_at
        ])?;
    Ok(n == 1)
}

/// Spends points: refused when the balance this till knows is short, so an
/// offline till never goes below zero. Idempotent by `id` (a replayed tap
/// does not spend twice).
pub fn redeem(
    store: &mut Store,
    id: PointsEntryId,
    customer: CustomerId,
    points: i64,
    reason: &str,
) -> Result<i64> {
    let tx = store.write()?;
    let b = redeem_in(&tx, id, customer, points, reason)?;
    tx.commit()?;
    Ok(b)
}

/// [`redeem`] inside the caller's transaction (so an accepted reward and
/// its offer event commit together). Returns the balance after.
pub(crate) fn redeem_in(
    tx: &Connection,
    id: PointsEntryId,
    customer: CustomerId,
    points: i64,
    reason: &str,
) -> Result<i64> {
    if points <= 0 {
        return Err(Error::invalid(
            "points",
            "redeem a positive number of points",
        ));
    }
    let already: Option<i64> = tx
        .query_row(
            "SELECT points FROM points_ledger WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    if already.is_none() {
        let now = now_iso();
        let have = balance(tx, customer)?;
        if have < points {
            return Err(Error::invalid(
                "points",
                format!("the balance is {have}, not enough for {points}; nothing was spent"),
            ));
        }
        append(
            tx,
            &Entry {
                id,
                customer_id: customer,
                sale_id: None,
                kind: EntryKind::Redeem,
                points: -points,
                reason: Some(reason.to_string()),
                created_at: now.clone(),
            },
        )?;
        crate::store::record_change(
            tx,
            "points",
            &id.to_string(),
            "insert",
            &serde_json::json!({
                "id": id, "customer_id": customer, "sale_id": null, "kind": "redeem",
                "points": -points, "reason": reason, "created_at": now,
            }),
            &now,
        )?;
    }
    balance(tx, customer)
}
