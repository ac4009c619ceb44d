//! Writes of the suggestions engine: the cashier's feedback on prompts,
//! offers shown / accepted / declined, and the owner's campaigns. Each
//! write records its change in the outbox in the same transaction.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

use super::engine::enum_str;
use super::facts::Campaign;
use crate::ids::{CustomerId, OfferEventId, SaleId};
use crate::model::{OfferKind, OfferOutcome, PromptKind, PromptVerdict};
use crate::store::{iso, record_change, Store};
use crate::{Error, Result};

fn check_key(key: &str) -> Result<()> {
    if key.trim().is_empty() || key.len() > 200 {
        return Err(Error::invalid(
            "key",
            "send the key exactly as the suggestion gave it",
        ));
    }
    Ok(())
}

#[derive(Serialize)]
struct FeedbackChange<'a> {
    customer_id: CustomerId,
    key: &'a str,
    kind: String,
    verdict: String,
}

/// Records the cashier's verdict on a prompt.
pub fn prompt_feedback(
    store: &mut Store,
    customer: CustomerId,
    key: &str,
    kind: PromptKind,
    verdict: PromptVerdict,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    check_key(key)?;
    store.customer(customer)?;
    let now = iso(at);
    let id = Uuid::now_v7().to_string();
    let tx = store.write()?;
    tx.execute(
        "INSERT INTO prompt_feedback(id, customer_id, prompt_key, kind, verdict, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, customer, key, enum_str(&kind), enum_str(&verdict), now],
    )?;
    record_change(
        &tx,
        "prompt_feedback",
        &id,
        "insert",
        &FeedbackChange {
            customer_id: customer,
            key,
            kind: enum_str(&kind),
            verdict: enum_str(&verdict),
        },
        &now,
    )?;
    tx.commit()?;
    Ok(())
}

#[derive(Serialize)]
struct OfferChange<'a> {
    customer_id: CustomerId,
    key: &'a str,
    kind: String,
    outcome: String,
    sale_id: Option<SaleId>,
}

/// Records an offer shown, accepted (optionally on a sale) or declined, in
/// the caller's transaction. Idempotent by `id`: a replayed tap records
/// nothing new. Returns whether the event was new.
#[allow(clippy::too_many_arguments)]
pub(crate) fn offer_event_in(
    tx: &Connection,
    id: OfferEventId,
    customer: CustomerId,
    key: &str,
    kind: OfferKind,
    outcome: OfferOutcome,
    sale: Option<SaleId>,
    now: &str,
) -> Result<bool> {
    check_key(key)?;
    let n = tx
        .prepare_cached(
            "INSERT INTO offer_events(id, customer_id, offer_key, kind, outcome, sale_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) DO NOTHING",
        )?
        .execute(params![
            id,
            customer,
            key,
            enum_str(&kind),
            enum_str(&outcome),
            sale,
            now
        ])?;
    if n == 1 {
        record_change(
            tx,
            "offer_event",
            &id.to_string(),
            "insert",
            &OfferChange {
                customer_id: customer,
                key,
                kind: enum_str(&kind),
                outcome: enum_str(&outcome),
                sale_id: sale,
            },
            now,
        )?;
    }
    Ok(n == 1)
}

/// Records an offer shown, accepted (optionally on a sale) or declined.
/// Idempotent by `id`.
#[allow(clippy::too_many_arguments)]
pub fn offer_event(
    store: &mut Store,
    id: OfferEventId,
    customer: CustomerId,
    key: &str,
    kind: OfferKind,
    outcome: OfferOutcome,
    sale: Option<SaleId>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    check_key(key)?;
    store.customer(customer)?;
    let now = iso(at);
    let tx = store.write()?;
    offer_event_in(&tx, id, customer, key, kind, outcome, sale, &now)?;
    tx.commit()?;
    Ok(())
}

#[derive(Serialize)]
struct OfferLinkChange {
    sale_id: SaleId,
}

/// Links a completed sale to the offers its lines came from, inside the
/// sale's transaction: per offer key, the customer's latest accepted event
/// not yet on a sale gets the sale id, so the owner can sum the revenue of
/// accepted offers from `offer_events`. A line whose offer was not marked
/// accepted yet links nothing (the till then sends the acceptance with the
/// sale id; recording one here too would count the offer twice).
pub(crate) fn link_offers(
    tx: &Connection,
    customer: CustomerId,
    sale: SaleId,
    keys: &[String],
    now: &str,
) -> Result<()> {
    for key in keys {
        let pending: Option<String> = tx
            .prepare_cached(
                "SELECT id FROM offer_events
                 WHERE customer_id = ?1 AND offer_key = ?2 AND outcome = 'accepted' AND sale_id IS NULL
                 ORDER BY created_at DESC, id DESC LIMIT 1",
            )?
            .query_row(params![customer, key], |r| r.get(0))
            .optional()?;
        if let Some(id) = pending {
            tx.prepare_cached("UPDATE offer_events SET sale_id = ?1 WHERE id = ?2")?
                .execute(params![sale, id])?;
            record_change(
                tx,
                "offer_event",
                &id,
                "update",
                &OfferLinkChange { sale_id: sale },
                now,
            )?;
        }
    }
    Ok(())
}

/// Adds or replaces an owner's campaign (by its id).
pub fn save_campaign(store: &mut Store, c: &Campaign, active: bool) -> Result<()> {
    if c.id.trim().is_empty() || c.name.trim().is_empty() || c.text.trim().is_empty() {
        return Err(Error::invalid(
            "campaign",
            "needs an id, a name and the text the cashier says",
        ));
    }
    if c.ends_on < c.starts_on {
        return Err(Error::invalid("campaign", "ends before it starts"));
    }
    if c.discount_percent > 100 || c.discount_cents < 0 {
        return Err(Error::invalid(
            "campaign",
            "discount must be 0-100 % or a positive amount",
        ));
    }
    let rule = serde_json::to_string(c).map_err(|e| Error::invalid("campaign", e.to_string()))?;
    let now = crate::store::now_iso();
    let tx = store.write()?;
    tx.execute(
        "INSERT INTO offer_campaigns(id, rule, active, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT(id) DO UPDATE SET rule = excluded.rule, active = excluded.active, updated_at = excluded.updated_at",
        params![c.id, rule, active, now],
    )?;
    record_change(
        &tx,
        "offer_campaign",
        &c.id,
        "upsert",
        &serde_json::json!({ "rule": c, "active": active }),
        &now,
    )?;
    tx.commit()?;
    Ok(())
}
