//! Reads that assemble what the till shows: a customer's one-line summary and
//! their whole profile (stats, favourites, recent visits with lines, notes,
//! cards, household, points). Read-only; every query is indexed by customer.

use rusqlite::OptionalExtension;

use super::Store;
use crate::card::CardNumber;
use crate::ids::{CustomerId, SaleId};
use crate::model::{
    CardInfo, CustomerSummary, Favourite, HouseholdMember, Profile, Viewer, Visit, VisitLine,
};
use crate::Result;

/// How many recent visits a profile carries (with their lines).
pub const RECENT_VISITS: usize = 20;
/// How many favourite items a profile lists.
pub const FAVOURITES: usize = 8;

impl Store {
    pub fn summary(&self, id: CustomerId) -> Result<CustomerSummary> {
        let c = self.customer(id)?;
        let (visits, last_visit) = self.visits(id)?;
        let card: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT code FROM cards WHERE customer_id = ?1 AND retired_at IS NULL
                 ORDER BY issued_at DESC LIMIT 1",
            )?
            .query_row([id], |r| r.get(0))
            .optional()?;
        let household: Option<String> = match c.household_id {
            Some(h) => self
                .conn
                .prepare_cached("SELECT name FROM households WHERE id = ?1")?
                .query_row([h], |r| r.get(0))
                .optional()?,
            None => None,
        };
        let phone_tail = c.phones.first().map(|p| {
            let d = super::customers::phone_digits(p);
            d[d.len().saturating_sub(4)..].to_string()
        });
        Ok(CustomerSummary {
            id,
            display_name: c.display_name(),
            external_ref: c.external_ref,
            given_name: c.given_name,
            family_name: c.family_name,
            preferred_name: c.preferred_name,
            phone_tail,
            email: c.email,
            // Stored codes were validated on the way in.
            card: card.and_then(|s| CardNumber::parse(&s).ok()),
            visits,
            last_visit,
            member_since: c.created_at.get(..10).unwrap_or(&c.created_at).to_string(),
            household,
        })
    }

    /// The whole profile as `viewer` may see it (notes filtered by role and
    /// expiry).
    pub fn profile(&self, id: CustomerId, viewer: Viewer) -> Result<Profile> {
        let summary = self.summary(id)?;
        let c = self.customer(id)?;
        let (total, first_visit): (i64, Option<String>) = self
            .conn
            .prepare_cached(
                "SELECT coalesce(sum(total_cents), 0), min(completed_at) FROM sales WHERE customer_id = ?1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let cards = self
            .conn
            .prepare_cached(
                "SELECT code, issued_at, retired_at, retired_reason FROM cards
                 WHERE customer_id = ?1 ORDER BY retired_at IS NOT NULL, issued_at DESC",
            )?
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .filter_map(|(code, issued_at, retired_at, retired_reason)| {
                let number = CardNumber::parse(&code).ok()?;
                Some(CardInfo {
                    kind: number.kind(),
                    number,
                    issued_at,
                    retired_at,
                    retired_reason,
                })
            })
            .collect();
        let household_members = match c.household_id {
            Some(h) => self
                .conn
                .prepare_cached(
                    "SELECT id, given_name, family_name, preferred_name FROM customers
                     WHERE household_id = ?1 AND id <> ?2 ORDER BY given_name",
                )?
                .query_map(rusqlite::params![h, id], |r| {
                    Ok(HouseholdMember {
                        id: r.get(0)?,
                        display_name: super::customers::display_name(
                            &r.get::<_, String>(1)?,
                            &r.get::<_, String>(2)?,
                            r.get::<_, Option<String>>(3)?.as_deref(),
                        ),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?,
            None => Vec::new(),
        };
        let favourites = self
            .conn
            .prepare_cached(
                "SELECT l.description, count(DISTINCT l.sale_id) AS times, max(s.completed_at)
                 FROM sales s JOIN sale_lines l ON l.sale_id = s.id
                 WHERE s.customer_id = ?1 AND s.refund_of IS NULL
                 GROUP BY coalesce(l.product_id, l.description)
                 HAVING times > 1
                 ORDER BY times DESC, max(s.completed_at) DESC LIMIT ?2",
            )?
            .query_map(rusqlite::params![id, FAVOURITES as i64], |r| {
                Ok(Favourite {
                    product: r.get(0)?,
                    times: r.get(1)?,
                    last_bought: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let sales: Vec<(SaleId, String, i64)> = self
            .conn
            .prepare_cached(
                "SELECT id, completed_at, total_cents FROM sales WHERE customer_id = ?1
                 ORDER BY completed_at DESC LIMIT ?2",
            )?
            .query_map(rusqlite::params![id, RECENT_VISITS as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut lines_st = self.conn.prepare_cached(
            "SELECT description, quantity, amount_cents FROM sale_lines
             WHERE sale_id = ?1 ORDER BY position",
        )?;
        let mut recent_visits = Vec::with_capacity(sales.len());
        for (sale_id, at, total_cents) in sales {
            let lines = lines_st
                .query_map([sale_id], |r| {
                    Ok(VisitLine {
                        product: r.get(0)?,
                        quantity: r.get(1)?,
                        amount_cents: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            recent_visits.push(Visit {
                sale_id,
                at,
                total_cents,
                lines,
            });
        }
        let points_balance: i64 = self
            .conn
            .prepare_cached(
                "SELECT coalesce(sum(points), 0) FROM points_ledger WHERE customer_id = ?1",
            )?
            .query_row([id], |r| r.get(0))?;
        let average_basket_cents = if summary.visits > 0 {
            total / i64::from(summary.visits)
        } else {
            0
        };
        Ok(Profile {
            phones: c.phones,
            birthday: c.birthday,
            marketing_consent: c.marketing_consent,
            household_id: c.household_id,
            household_members,
            cards,
            total_spent_cents: total,
            average_basket_cents,
            first_visit,
            favourites,
            recent_visits,
            notes: self.notes(id, viewer)?,
            points_balance,
            address: self.address(id)?,
            summary,
        })
    }
}
