//! Products and sales in the store: the catalogue the till scans against,
//! completing a sale (sale, lines, points and outbox in one transaction),
//! attaching a customer afterwards, refunds, and reading sales back.
//!
//! The pure rules (what a code is, what a line is worth, points) live in
//! [`crate::checkout`]; this module applies them and writes.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{now_iso, record_change, Store};
use crate::checkout::{self, MAX_LINES};
use crate::error::clip;
use crate::ids::{CustomerId, PointsEntryId, ProductId, SaleId};
use crate::model::{DraftLine, PaymentMethod, Product, ProductDraft, Sale, SaleDraft, SaleLine};
use crate::{Error, Result};

const PRODUCT_COLUMNS: &str =
    "id, external_ref, barcode, name, department, category, price_cents, considered";

fn product_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Product> {
    Ok(Product {
        id: r.get(0)?,
        external_ref: r.get(1)?,
        barcode: r.get(2)?,
        name: r.get(3)?,
        department: r.get(4)?,
        category: r.get(5)?,
        price_cents: r.get(6)?,
        considered: r.get(7)?,
    })
}

fn payment(s: &str) -> PaymentMethod {
    match s {
        "cash" => PaymentMethod::Cash,
        "card" => PaymentMethod::Card,
        _ => PaymentMethod::Other,
    }
}

/// The outbox payload of a sale: everything another till needs to insert it.
#[derive(Serialize)]
struct SaleChange<'a> {
    #[serde(flatten)]
    sale: &'a Sale,
    device_id: String,
}

impl Store {
    pub fn product(&self, id: ProductId) -> Result<Product> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ?1"
            ))?
            .query_row([id], product_row)
            .optional()?
            .ok_or_else(|| Error::NotFound {
                what: "product",
                key: id.to_string(),
            })
    }

    pub fn product_by_barcode(&self, barcode: &str) -> Result<Option<Product>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {PRODUCT_COLUMNS} FROM products WHERE barcode = ?1"
            ))?
            .query_row([barcode], product_row)
            .optional()?)
    }

    /// Products whose name, barcode, category or department contain every
    /// word typed (case-insensitive). The catalogue is searched by the
    /// cashier only when a barcode will not scan, so plain LIKE is enough.
    pub fn find_products(&self, query: &str, limit: usize) -> Result<Vec<Product>> {
        let words: Vec<String> = query
            .split_whitespace()
            .take(6)
            .map(|w| {
                let w: String = w.chars().take(40).collect();
                format!(
                    "%{}%",
                    w.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                )
            })
            .collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let cond = (1..=words.len())
            .map(|i| {
                format!(
                    "(name LIKE ?{i} ESCAPE '\\' OR barcode LIKE ?{i} ESCAPE '\\' \
                     OR category LIKE ?{i} ESCAPE '\\' OR department LIKE ?{i} ESCAPE '\\')"
                )
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM products WHERE {cond} ORDER BY length(name), name LIMIT {}",
            limit.clamp(1, 100)
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(words.iter()), product_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Adds a product (`id` None) or edits one, recording the change.
    pub fn save_product(&mut self, id: Option<ProductId>, draft: &ProductDraft) -> Result<Product> {
        let name = draft.name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(Error::invalid(
                "product name",
                "type a name of 1 to 120 characters",
            ));
        }
        if draft.price_cents < 0 {
            return Err(Error::invalid("price", "cannot be negative"));
        }
        let barcode = draft
            .barcode
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(|b| match checkout::classify(b)? {
                checkout::Code::Product(p) | checkout::Code::Either(p) => Ok(p),
                checkout::Code::Weighed { key, .. } => Ok(key),
                checkout::Code::Card(_) => Err(Error::invalid(
                    "barcode",
                    "is in the loyalty-card range (29...); products cannot use it",
                )),
            })
            .transpose()?;
        let clean = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        let now = now_iso();
        let id = id.unwrap_or_default();
        let tx = self.write()?;
        let res = tx.execute(
            "INSERT INTO products(id, barcode, name, department, category, price_cents, considered, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(id) DO UPDATE SET barcode = excluded.barcode, name = excluded.name,
               department = excluded.department, category = excluded.category,
               price_cents = excluded.price_cents, considered = excluded.considered",
            params![
                id,
                barcode,
                name,
                clean(&draft.department),
                clean(&draft.category),
                draft.price_cents,
                draft.considered,
                now
            ],
        );
        if let Err(e) = res {
            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) {
                return Err(Error::invalid(
                    "barcode",
                    format!(
                        "{} already belongs to another product",
                        barcode.unwrap_or_default()
                    ),
                ));
            }
            return Err(e.into());
        }
        let product = tx.query_row(
            &format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ?1"),
            [id],
            product_row,
        )?;
        record_change(&tx, "product", &id.to_string(), "upsert", &product, &now)?;
        tx.commit()?;
        Ok(product)
    }

    /// The draft line a scanned product code gives, or None if the code is
    /// not in the catalogue.
    pub fn product_line(&self, code: &checkout::Code) -> Result<Option<DraftLine>> {
        let (key, price) = match code {
            checkout::Code::Product(p) | checkout::Code::Either(p) => (p.as_str(), None),
            checkout::Code::Weighed { key, price_cents } => (key.as_str(), Some(*price_cents)),
            checkout::Code::Card(_) => return Ok(None),
        };
        Ok(self.product_by_barcode(key)?.map(|p| DraftLine {
            product_id: Some(p.id),
            description: p.name,
            quantity: 1.0,
            unit_price_cents: price.unwrap_or(p.price_cents),
            discount_cents: 0,
            offer_key: None,
        }))
    }

    /// Points a sale of `total_cents` earns under the shop's program.
    fn points_for(&self, total_cents: i64) -> Result<i64> {
        Ok(crate::loyalty::Program::load(self)?.points_for_sale(total_cents))
    }

    /// Completes a sale: sale, lines, points earned and the outbox change
    /// commit together or not at all. Catalogue lines take the catalogue's
    /// name and price (a weighed label keeps its printed price).
    pub fn complete_sale(&mut self, draft: &SaleDraft) -> Result<Sale> {
        if draft.lines.is_empty() {
            return Err(Error::invalid("sale", "has no lines; scan an item first"));
        }
        if draft.lines.len() > MAX_LINES {
            return Err(Error::invalid(
                "sale",
                format!("has more than {MAX_LINES} lines; split it in two"),
            ));
        }
        let mut lines = Vec::with_capacity(draft.lines.len());
        for (i, l) in draft.lines.iter().enumerate() {
            let mut l = l.clone();
            if let Some(pid) = l.product_id {
                let p = self.product(pid)?;
                l.description = p.name;
                // Weighed labels carry their own price; otherwise the shelf price.
                if p.barcode.as_deref().is_none_or(|b| b.len() != 7) {
                    l.unit_price_cents = p.price_cents;
                }
            } else {
                l.description = l.description.trim().chars().take(120).collect();
                if l.description.is_empty() {
                    return Err(Error::invalid(
                        "line",
                        "an item without a product needs a description",
                    ));
                }
            }
            let amount_cents = checkout::line_amount(&l)?;
            lines.push(SaleLine {
                position: i as u32,
                product_id: l.product_id,
                description: l.description,
                quantity: l.quantity,
                unit_price_cents: l.unit_price_cents,
                discount_cents: l.discount_cents,
                amount_cents,
            });
        }
        let customer_name = match draft.customer_id {
            Some(c) => Some(self.customer(c)?.display_name()),
            None => None,
        };
        let total_cents: i64 = lines.iter().map(|l| l.amount_cents).sum();
        let points = if draft.customer_id.is_some() {
            self.points_for(total_cents)?
        } else {
            0
        };
        let sale = Sale {
            id: SaleId::new(),
            customer_id: draft.customer_id,
            customer_name,
            completed_at: now_iso(),
            lines,
            total_cents,
            payment_method: draft.payment_method,
            refund_of: None,
            points_earned: points,
        };
        // Offer lines: their keys link the accepted offer events to this
        // sale (once per key).
        let mut offers: Vec<String> = Vec::new();
        if draft.customer_id.is_some() {
            for k in draft.lines.iter().filter_map(|l| l.offer_key.as_deref()) {
                if !k.is_empty() && k.len() <= 200 && !offers.iter().any(|o| o == k) {
                    offers.push(k.to_string());
                }
            }
        }
        self.insert_sale(&sale, &offers)?;
        Ok(sale)
    }

    fn insert_sale(&mut self, sale: &Sale, offers: &[String]) -> Result<()> {
        let device = self.device.to_string();
        let tx = self.write()?;
        tx.prepare_cached(
            "INSERT INTO sales(id, customer_id, device_id, completed_at, total_cents, payment_method, refund_of)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            sale.id,
            sale.customer_id,
            device,
            sale.completed_at,
            sale.total_cents,
            sale.payment_method.as_str(),
            sale.refund_of
        ])?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO sale_lines(sale_id, position, product_id, description, quantity,
                    unit_price_cents, discount_cents, amount_cents)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for l in &sale.lines {
                st.execute(params![
                    sale.id,
                    l.position,
                    l.product_id,
                    l.description,
                    l.quantity,
                    l.unit_price_cents,
                    l.discount_cents,
                    l.amount_cents
                ])?;
            }
        }
        // The sale's change goes first: the points and offer changes that
        // follow name it, and another till applies them in this order.
        record_change(
            &tx,
            "sale",
            &sale.id.to_string(),
            "insert",
            &SaleChange {
                sale,
                device_id: device.clone(),
            },
            &sale.completed_at,
        )?;
        if let Some(c) = sale.customer_id {
            if sale.points_earned != 0 {
                let kind = if sale.refund_of.is_some() {
                    "reversal"
                } else {
                    "earn"
                };
                insert_points(
                    &tx,
                    c,
                    Some(sale.id),
                    kind,
                    sale.points_earned,
                    None,
                    &sale.completed_at,
                )?;
            }
            crate::suggest::record::link_offers(&tx, c, sale.id, offers, &sale.completed_at)?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn sale(&self, id: SaleId) -> Result<Sale> {
        let head = self
            .conn
            .prepare_cached(
                "SELECT s.customer_id, s.completed_at, s.total_cents, s.payment_method, s.refund_of,
                        (SELECT coalesce(sum(points), 0) FROM points_ledger p WHERE p.sale_id = s.id)
                 FROM sales s WHERE s.id = ?1",
            )?
            .query_row([id], |r| {
                Ok((
                    r.get::<_, Option<CustomerId>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<SaleId>>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .optional()?
            .ok_or_else(|| Error::NotFound {
                what: "sale",
                key: id.to_string(),
            })?;
        let lines = self
            .conn
            .prepare_cached(
                "SELECT position, product_id, description, quantity, unit_price_cents, discount_cents, amount_cents
                 FROM sale_lines WHERE sale_id = ?1 ORDER BY position",
            )?
            .query_map([id], |r| {
                Ok(SaleLine {
                    position: r.get(0)?,
                    product_id: r.get(1)?,
                    description: r.get(2)?,
                    quantity: r.get(3)?,
                    unit_price_cents: r.get(4)?,
                    discount_cents: r.get(5)?,
                    amount_cents: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let customer_name = match head.0 {
            Some(c) => Some(self.customer(c)?.display_name()),
            None => None,
        };
        Ok(Sale {
            id,
            customer_id: head.0,
            customer_name,
            completed_at: head.1,
            lines,
            total_cents: head.2,
            payment_method: payment(&head.3),
            refund_of: head.4,
            points_earned: head.5,
        })
    }

    /// The latest sales on this store, newest first (the till's "recent" list).
    pub fn recent_sales(&self, limit: usize) -> Result<Vec<Sale>> {
        let ids: Vec<SaleId> = self
            .conn
            .prepare_cached("SELECT id FROM sales ORDER BY completed_at DESC, id DESC LIMIT ?1")?
            .query_map([limit.clamp(1, 200) as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.into_iter().map(|id| self.sale(id)).collect()
    }

    /// Puts an anonymous sale on a customer's history (they showed their
    /// card after paying), with the points it would have earned.
    pub fn attach_sale_customer(&mut self, sale_id: SaleId, customer: CustomerId) -> Result<Sale> {
        let sale = self.sale(sale_id)?;
        self.customer(customer)?;
        match sale.customer_id {
            Some(c) if c == customer => return Ok(sale),
            Some(_) => return Err(Error::invalid(
                "sale",
                "already belongs to another customer; refund it and ring it up again to move it",
            )),
            None => {}
        }
        let points = if sale.refund_of.is_none() {
            self.points_for(sale.total_cents)?
        } else {
            0
        };
        let now = now_iso();
        let tx = self.write()?;
        tx.execute(
            "UPDATE sales SET customer_id = ?2 WHERE id = ?1 AND customer_id IS NULL",
            params![sale_id, customer],
        )?;
        if points != 0 {
            insert_points(
                &tx,
                customer,
                Some(sale_id),
                "earn",
                points,
                Some("card shown after payment"),
                &now,
            )?;
        }
        record_change(
            &tx,
            "sale",
            &sale_id.to_string(),
            "attach_customer",
            &serde_json::json!({ "sale_id": sale_id, "customer_id": customer, "points": points }),
            &now,
        )?;
        tx.commit()?;
        self.sale(sale_id)
    }

    /// Refunds some lines of a past sale (all when `positions` is empty): a
    /// new sale with negative lines linked to the original, and the points
    /// those lines earned reversed.
    pub fn refund_sale(
        &mut self,
        original: SaleId,
        positions: &[u32],
        payment: PaymentMethod,
    ) -> Result<Sale> {
        let orig = self.sale(original)?;
        if orig.refund_of.is_some() {
            return Err(Error::invalid(
                "sale",
                "is itself a refund; it cannot be refunded again",
            ));
        }
        let already: Vec<u32> = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT l.position FROM sales s JOIN sale_lines l ON l.sale_id = s.id
                 WHERE s.refund_of = ?1",
            )?
            .query_map([original], |r| r.get::<_, u32>(0))?
            .collect::<rusqlite::Result<_>>()?;
        let chosen: Vec<&SaleLine> = orig
            .lines
            .iter()
            .filter(|l| positions.is_empty() || positions.contains(&l.position))
            .filter(|l| !already.contains(&l.position))
            .collect();
        if chosen.is_empty() {
            return Err(Error::invalid(
                "refund",
                "those lines were already refunded",
            ));
        }
        // Refund lines keep the original's position so a line is refunded once.
        let lines: Vec<SaleLine> = chosen
            .iter()
            .map(|l| SaleLine {
                quantity: -l.quantity,
                amount_cents: -l.amount_cents,
                ..(*l).clone()
            })
            .collect();
        let total_cents: i64 = lines.iter().map(|l| l.amount_cents).sum();
        // Points still standing from the original after earlier refunds.
        let remaining: i64 = self
            .conn
            .prepare_cached(
                "SELECT coalesce(sum(p.points), 0) FROM points_ledger p
                 WHERE p.sale_id = ?1 OR p.sale_id IN (SELECT id FROM sales WHERE refund_of = ?1)",
            )?
            .query_row([original], |r| r.get(0))?;
        let refunds_everything_left = chosen.len() + already.len() == orig.lines.len();
        let points = if orig.customer_id.is_none() || orig.total_cents <= 0 {
            0
        } else if refunds_everything_left {
            // The last refund takes back exactly what is left, so rounding
            // over several partial refunds never leaves a stray point.
            -remaining
        } else {
            // The share of the original's points these lines earned.
            let share = (i128::from(orig.points_earned) * i128::from(-total_cents))
                / i128::from(orig.total_cents);
            -(share as i64).min(remaining)
        };
        let refund = Sale {
            id: SaleId::new(),
            customer_id: orig.customer_id,
            customer_name: orig.customer_name.clone(),
            completed_at: now_iso(),
            lines,
            total_cents,
            payment_method: payment,
            refund_of: Some(original),
            points_earned: points,
        };
        self.insert_sale(&refund, &[])?;
        Ok(refund)
    }

    pub fn points_balance(&self, customer: CustomerId) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT coalesce(sum(points), 0) FROM points_ledger WHERE customer_id = ?1",
            )?
            .query_row([customer], |r| r.get(0))?)
    }
}

fn insert_points(
    tx: &rusqlite::Connection,
    customer: CustomerId,
    sale: Option<SaleId>,
    kind: &str,
    points: i64,
    reason: Option<&str>,
    at: &str,
) -> Result<()> {
    let id = PointsEntryId::new();
    tx.prepare_cached(
        "INSERT INTO points_ledger(id, customer_id, sale_id, kind, points, reason, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![id, customer, sale, kind, points, reason, at])?;
    record_change(
        tx,
        "points",
        &id.to_string(),
        "insert",
        &serde_json::json!({ "id": id, "customer_id": customer, "sale_id": sale, "kind": kind, "points": points, "reason": reason, "created_at": at }),
        at,
    )
}

/// A printable receipt (the HTML print view).
pub fn receipt_html(store_name: &str, sale: &Sale) -> String {
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }
    fn money(c: i64) -> String {
        let sign = if c < 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", c.abs() / 100, c.abs() % 100)
    }
    let mut rows = String::new();
    for l in &sale.lines {
        let qty = if l.quantity.fract() == 0.0 {
            format!("{}", l.quantity as i64)
        } else {
            format!("{:.3}", l.quantity)
        };
        rows.push_str(&format!(
            "<tr><td>{qty} × {}</td><td class=\"n\">{}</td></tr>",
            esc(&l.description),
            money(l.amount_cents)
        ));
        if l.discount_cents != 0 {
            rows.push_str(&format!(
                "<tr class=\"d\"><td>discount</td><td class=\"n\">-{}</td></tr>",
                money(l.discount_cents)
            ));
        }
    }
    let who = sale
        .customer_name
        .as_deref()
        .map(|n| format!("<p>Thank you, {}!</p>", esc(n)))
        .unwrap_or_default();
    let points = if sale.points_earned != 0 {
        format!("<p>Points: {:+}</p>", sale.points_earned)
    } else {
        String::new()
    };
    let title = if sale.refund_of.is_some() {
        "Refund"
    } else {
        "Receipt"
    };
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title><style>\
         body{{font-family:monospace;width:72mm;margin:0 auto}}table{{width:100%}}.n{{text-align:right}}\
         .d{{color:#555}}h1{{font-size:1.1em;text-align:center}}</style></head><body>\
         <h1>{}</h1><p>{title} {}<br>{}</p><table>{rows}\
         <tr><th>Total</th><th class=\"n\">{}</th></tr></table><p>Paid by {}</p>{who}{points}</body></html>",
        esc(store_name),
        clip(&sale.id.to_string()),
        esc(&sale.completed_at),
        money(sale.total_cents),
        sale.payment_method.as_str()
    )
}
