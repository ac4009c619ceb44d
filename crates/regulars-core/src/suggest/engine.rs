//! The thin loader: reads what the pure rules need from the store, keeps the
//! shared part (every customer's compact history and the neighbour model)
//! in memory and current after each sale, and assembles [`Suggestions`].
//!
//! Built once (lazily, on the first suggestion) from sales and lines; after
//! that a sale costs one customer's vector update, and a suggestion costs a
//! few indexed reads (customer, notes, feedback, offer events, points) plus
//! the pure rules.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params;

use super::facts::{
    Campaign, CustomerFacts, Facts, ItemInfo, NoteFact, OfferEvent, PromptFeedback,
};
use super::history::{Basket, History};
use super::rank::{Model, Params};
use super::text::Templates;
use super::{offers, prompts};
use crate::ids::{CustomerId, ProductId};
use crate::loyalty::Program;
use crate::model::{OfferKind, OfferOutcome, PromptKind, PromptVerdict, Sale, Suggestions};
use crate::store::{iso, parse_iso, Store};
use crate::Result;

/// Setting key of the owner's template edits (JSON object).
pub const TEMPLATES_SETTING: &str = "suggest.templates";

/// How many discovery candidates are kept per request.
const DISCOVERY_DEPTH: usize = 8;

#[derive(Debug)]
pub struct Engine {
    item_of: HashMap<ProductId, u32>,
    catalog: Vec<ItemInfo>,
    user_of: HashMap<CustomerId, u32>,
    histories: Vec<History>,
    model: Model,
    /// Category name (trimmed, lower case) -> group number for the model's
    /// type-level features.
    groups: HashMap<String, u32>,
    /// Shared statistics use only sales before this moment (None: all).
    shared_before: Option<i64>,
}

fn unix(s: &str) -> Option<i64> {
    parse_iso(s).map(|t| t.timestamp())
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

fn prompt_kind(s: &str) -> Option<PromptKind> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

fn offer_kind(s: &str) -> Option<OfferKind> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

pub(crate) fn enum_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Size of the block [`settle_allocator`] allocates and frees.
const SCRATCH_HINT: usize = 4 << 20;

/// Each scored suggestion allocates and frees ~2 MB of temporaries (the
/// dense neighbour scores over every item, the candidate list). With the
/// engine's heap now compact, glibc's malloc handed that memory back to the
/// OS after every call and faulted it in again on the next (500 page faults
/// a call, +1 ms p50). Freeing one block of this size, obtained by mmap,
/// raises glibc's dynamic mmap threshold to it and its trim threshold to
/// twice that, so the temporaries stay in the heap between calls (about 2
/// MB resident, counted by `regulars bench suggest`'s figure after the
/// calls). Other allocators ignore it; no unsafe code needed.
fn settle_allocator() {
    let block: Vec<u8> = Vec::with_capacity(SCRATCH_HINT);
    // Keeps the allocation from being optimised away.
    std::hint::black_box(&block);
}

impl Engine {
    /// Reads the catalogue and every customer's sales. `shared_before`
    /// keeps sales at or after that moment out of the neighbour model (for
    /// backtests: nothing from the future leaks into "people like them").
    pub fn build(store: &Store, params: Params, shared_before: Option<i64>) -> Result<Self> {
        let conn = store.conn();
        let mut item_of = HashMap::new();
        let mut catalog = Vec::new();
        let mut st = conn.prepare(
            "SELECT id, name, category, price_cents, considered FROM products ORDER BY rowid",
        )?;
        // One shared copy of each distinct name and category.
        let mut strings: HashSet<Arc<str>> = HashSet::new();
        let mut intern = |s: String| -> Arc<str> {
            if let Some(a) = strings.get(s.as_str()) {
                return a.clone();
            }
            let a: Arc<str> = Arc::from(s);
            strings.insert(a.clone());
            a
        };
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let p = ItemInfo {
                id: Some(r.get(0)?),
                name: intern(r.get(1)?),
                category: r.get::<_, Option<String>>(2)?.map(&mut intern),
                price_cents: r.get(3)?,
                considered: r.get(4)?,
            };
            if let Some(id) = p.id {
                item_of.insert(id, catalog.len() as u32);
            }
            catalog.push(p);
        }
        drop(rows);
        drop(strings);
        catalog.shrink_to_fit();
        // Customers are numbered in the order of their first sale as the
        // store returns them (the neighbour model breaks ties by number, so
        // this order is kept as it always was).
        let sales_sql = "SELECT id, customer_id, completed_at FROM sales
             WHERE customer_id IS NOT NULL AND refund_of IS NULL";
        let mut user_of: HashMap<CustomerId, u32> = HashMap::new();
        let mut st = conn.prepare(sales_sql)?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let c: CustomerId = r.get(1)?;
            if unix(&r.get::<_, String>(2)?).is_none() {
                continue;
            }
            let n = user_of.len() as u32;
            user_of.entry(c).or_insert(n);
        }
        drop(rows);
        // Then sales and lines side by side, both in sale id order (lines
        // are stored clustered by sale id): one basket at a time, with no
        // map from sale id to sale or basket. Such maps (141k string keys
        // on the Complete Journey store) were freed after the build but
        // left the heap they grew in resident.
        let mut st = conn.prepare(&format!("{sales_sql} ORDER BY id"))?;
        let mut sales = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, CustomerId>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .filter_map(|s| match s {
                Ok((id, c, at)) => {
                    let at = unix(&at)?;
                    Some(Ok((id, user_of[&c], at)))
                }
                Err(e) => Some(Err(e)),
            })
            .peekable();
        let mut st = conn.prepare(
            "SELECT sale_id, product_id FROM sale_lines
             WHERE product_id IS NOT NULL AND quantity > 0 ORDER BY sale_id",
        )?;
        let lines = st.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, ProductId>(1)?))
        })?;
        let mut histories: Vec<Vec<Basket>> = vec![Vec::new(); user_of.len()];
        // The sale the current lines belong to (None: not a customer's
        // sale), and its items so far.
        let mut current: Option<(String, u32, i64)> = None;
        let mut items: Vec<u32> = Vec::new();
        let mut flush = |sale: Option<(String, u32, i64)>, items: &mut Vec<u32>| {
            if let (Some((_, u, at)), false) = (sale, items.is_empty()) {
                items.sort_unstable();
                items.dedup();
                // A copy sized to fit: the buffer is reused.
                histories[u as usize].push(Basket::new(at, items.clone()));
            }
            items.clear();
        };
        for line in lines {
            let (sale, p) = line?;
            if current.as_ref().is_none_or(|c| c.0 != sale) {
                flush(current.take(), &mut items);
                while let Some(Ok(s)) = sales.peek() {
                    if s.0 >= sale {
                        break;
                    }
                    sales.next();
                }
                current = match sales.peek() {
                    Some(Ok(s)) if s.0 == sale => sales.next().transpose()?,
                    Some(Err(_)) => sales.next().transpose()?,
                    _ => None,
                };
            }
            if current.is_some() {
                if let Some(&i) = item_of.get(&p) {
                    items.push(i);
                }
            }
        }
        flush(current.take(), &mut items);
        drop(sales);
        let histories: Vec<History> = histories
            .into_iter()
            .map(|mut b| {
                b.shrink_to_fit();
                History::new(b)
            })
            .collect();
        let shared: Vec<&[Basket]> = histories
            .iter()
            .map(|h| match shared_before {
                Some(t) => h.before(t),
                None => &h.baskets[..],
            })
            .collect();
        let model = Model::build(params, catalog.len(), &shared);
        let mut e = Engine {
            item_of,
            catalog,
            user_of,
            histories,
            model,
            groups: HashMap::new(),
            shared_before,
        };
        for i in 0..e.catalog.len() {
            e.set_group(i as u32);
        }
        settle_allocator();
        Ok(e)
    }

    /// The model's group of an item: its category (none: its own).
    fn set_group(&mut self, item: u32) {
        let g = self.catalog[item as usize]
            .category
            .as_deref()
            .map(|c| c.trim().to_lowercase())
            .filter(|c| !c.is_empty())
            .map(|c| {
                let n = self.groups.len() as u32;
                *self.groups.entry(c).or_insert(n)
            });
        self.model.set_group(item, g);
    }

    /// The `n` items most likely in this customer's next basket at `now`
    /// (history strictly before it): (product, score), best first.
    pub fn ranked(&self, customer: CustomerId, now: i64, n: usize) -> Vec<(ProductId, f32)> {
        let Some(&u) = self.user_of.get(&customer) else {
            return Vec::new();
        };
        let h = self.histories[u as usize].before(now);
        if h.is_empty() {
            return Vec::new();
        }
        self.model
            .score(h, Some(u), now)
            .into_iter()
            .filter_map(|s| Some((self.catalog.get(s.item as usize)?.id?, s.score)))
            .take(n)
            .collect()
    }

    pub fn customers(&self) -> usize {
        self.histories.len()
    }

    /// Bytes held by each structure (capacity x element size plus owned
    /// strings; allocator overhead not counted), for `regulars bench
    /// suggest`: shows where the engine's memory goes.
    pub fn heap_estimate(&self) -> Vec<(&'static str, usize)> {
        use std::mem::size_of;
        let map = |cap: usize, entry: usize| cap * (entry + 1);
        // Shared strings count once.
        let mut seen = HashSet::new();
        let strings: usize = self
            .catalog
            .iter()
            .flat_map(|i| std::iter::once(&i.name).chain(&i.category))
            .filter(|s| seen.insert(s.as_ptr()))
            .map(|s| s.len() + 2 * size_of::<usize>())
            .sum();
        let baskets: usize = self
            .histories
            .iter()
            .map(|h| h.baskets.capacity() * size_of::<Basket>())
            .sum();
        let items: usize = self
            .histories
            .iter()
            .flat_map(|h| &h.baskets)
            .map(|b| b.items.capacity() * size_of::<u32>())
            .sum();
        let mut out = vec![
            (
                "item_of (product -> item)",
                map(self.item_of.capacity(), size_of::<(ProductId, u32)>()),
            ),
            (
                "catalog",
                self.catalog.capacity() * size_of::<ItemInfo>() + strings,
            ),
            (
                "user_of (customer -> user)",
                map(self.user_of.capacity(), size_of::<(CustomerId, u32)>()),
            ),
            (
                "histories (baskets)",
                self.histories.capacity() * size_of::<History>() + baskets,
            ),
            ("histories (basket items)", items),
            (
                "groups (category -> group)",
                self.groups.keys().map(String::capacity).sum::<usize>()
                    + map(self.groups.capacity(), size_of::<(String, u32)>()),
            ),
        ];
        out.extend(self.model.heap_estimate());
        out
    }

    pub fn baskets(&self) -> usize {
        self.histories.iter().map(|h| h.baskets.len()).sum()
    }

    /// A product added or edited in the catalogue.
    pub fn upsert_product(&mut self, p: &crate::model::Product) {
        let info = ItemInfo {
            id: Some(p.id),
            name: Arc::from(p.name.as_str()),
            category: p.category.as_deref().map(Arc::from),
            price_cents: p.price_cents,
            considered: p.considered,
        };
        let i = match self.item_of.get(&p.id) {
            Some(&i) => {
                self.catalog[i as usize] = info;
                i
            }
            None => {
                let i = self.catalog.len() as u32;
                self.item_of.insert(p.id, i);
                self.catalog.push(info);
                self.model.grow_items(self.catalog.len());
                i
            }
        };
        self.set_group(i);
    }

    /// Keeps the engine current after a completed sale: the customer's
    /// history and their vector in the neighbour model.
    pub fn record_sale(&mut self, store: &Store, sale: &Sale) -> Result<()> {
        let Some(c) = sale.customer_id else {
            return Ok(());
        };
        if sale.refund_of.is_some() {
            return Ok(());
        }
        let mut items = Vec::new();
        for l in &sale.lines {
            let Some(pid) = l.product_id.filter(|_| l.quantity > 0.0) else {
                continue;
            };
            if !self.item_of.contains_key(&pid) {
                let p = store.product(pid)?;
                self.upsert_product(&p);
            }
            items.push(self.item_of[&pid]);
        }
        let at = unix(&sale.completed_at).unwrap_or_else(|| Utc::now().timestamp());
        let n = self.user_of.len() as u32;
        let u = *self.user_of.entry(c).or_insert(n);
        if u as usize >= self.histories.len() {
            self.histories.resize(u as usize + 1, History::default());
        }
        self.histories[u as usize].push(Basket::new(at, items));
        let h = &self.histories[u as usize];
        let shared = match self.shared_before {
            Some(t) => h.before(t),
            None => &h.baskets[..],
        };
        self.model.set_user(u, shared);
        Ok(())
    }

    /// What the till shows for `customer` at `now`, with `basket` already
    /// rung up. Uses only history strictly before `now`.
    pub fn suggestions(
        &self,
        store: &Store,
        customer: CustomerId,
        basket: &[ProductId],
        now: DateTime<Utc>,
    ) -> Result<Suggestions> {
        let t = now.timestamp();
        let conn = store.conn();
        let c = store.customer(customer)?;
        let facts_c = CustomerFacts {
            id: customer,
            name: c
                .preferred_name
                .clone()
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| c.given_name.clone()),
            birthday: c.birthday.as_deref().and_then(date),
            member_since: date(&c.created_at).unwrap_or(now.date_naive()),
            marketing_consent: c.marketing_consent,
        };
        let notes: Vec<NoteFact> = conn
            .prepare_cached(
                // Expired and retired notes prompt nobody.
                "SELECT id, body, author, created_at, follow_up_on FROM notes
                 WHERE customer_id = ?1 AND follow_up_on IS NOT NULL AND visibility = 'staff'
                   AND retired_at IS NULL AND (expires_on IS NULL OR expires_on > ?2)",
            )?
            .query_map(params![customer, now.format("%Y-%m-%d").to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?
            .filter_map(|r| r.ok())
            .filter(|n| unix(&n.3).is_none_or(|at| at < t))
            .filter_map(|(id, body, author, created, due)| {
                Some(NoteFact {
                    id,
                    body,
                    author,
                    created_on: date(&created)?,
                    follow_up_on: date(&due)?,
                })
            })
            .collect();
        let feedback: Vec<PromptFeedback> = recorded(
            conn,
            "SELECT prompt_key, kind, verdict, created_at FROM prompt_feedback
             WHERE customer_id = ?1 AND created_at <= ?2",
            customer,
            now,
        )?
        .into_iter()
        .filter_map(|(key, kind, verdict, at)| {
            Some(PromptFeedback {
                key,
                kind: prompt_kind(&kind)?,
                verdict: if verdict == "used" {
                    PromptVerdict::Used
                } else {
                    PromptVerdict::NotRelevant
                },
                at: unix(&at)?,
            })
        })
        .collect();
        let events: Vec<OfferEvent> = recorded(
            conn,
            "SELECT offer_key, kind, outcome, created_at FROM offer_events
             WHERE customer_id = ?1 AND created_at <= ?2",
            customer,
            now,
        )?
        .into_iter()
        .filter_map(|(key, kind, outcome, at)| {
            Some(OfferEvent {
                key,
                kind: offer_kind(&kind)?,
                outcome: match outcome.as_str() {
                    "shown" => OfferOutcome::Shown,
                    "accepted" => OfferOutcome::Accepted,
                    _ => OfferOutcome::Declined,
                },
                at: unix(&at)?,
            })
        })
        .collect();
        let points_balance: i64 = conn
            .prepare_cached(
                "SELECT coalesce(sum(points), 0) FROM points_ledger
                 WHERE customer_id = ?1 AND created_at <= ?2",
            )?
            .query_row(params![customer, iso(now)], |r| r.get(0))?;
        let campaigns = load_campaigns(store, now.date_naive())?;
        let program = Program::load(store)?;
        let templates = Templates::from_json(store.setting(TEMPLATES_SETTING)?.as_deref());
        let basket: Vec<u32> = basket
            .iter()
            .filter_map(|p| self.item_of.get(p).copied())
            .collect();
        let user = self.user_of.get(&customer).copied();
        let history: &[Basket] = match user {
            Some(u) => self.histories[u as usize].before(t),
            None => &[],
        };
        let f = Facts {
            now: t,
            today: now.date_naive(),
            customer: &facts_c,
            history,
            catalog: &self.catalog,
            basket: &basket,
            notes: &notes,
            points_balance,
            program: &program,
            prompt_feedback: &feedback,
            offer_events: &events,
            campaigns: &campaigns,
            templates: &templates,
        };
        Ok(self.decide(&f, user))
    }

    /// The pure part: facts in, suggestions out.
    pub fn decide(&self, f: &Facts<'_>, user: Option<u32>) -> Suggestions {
        decide(&self.model, f, user)
    }
}

/// (customers reached with why, customers considered, left out only for
/// lack of marketing consent).
pub type CampaignReach = (Vec<(CustomerId, String)>, u32, u32);

impl Engine {
    /// Every customer `c` would be offered to at `now`, with why (by
    /// [`offers::campaign_applies`], the till's own rule), and how many more
    /// would qualify but for marketing consent. Reads customers and the
    /// campaign's accepted events once.
    pub fn campaign_reach(
        &self,
        store: &Store,
        c: &Campaign,
        now: DateTime<Utc>,
    ) -> Result<CampaignReach> {
        let conn = store.conn();
        let key = format!("campaign:{}", c.id);
        let mut taken: HashMap<CustomerId, u32> = HashMap::new();
        let mut st = conn.prepare(
            "SELECT customer_id, count(*) FROM offer_events
             WHERE offer_key = ?1 AND outcome = 'accepted' AND created_at <= ?2 GROUP BY customer_id",
        )?;
        let mut rows = st.query(params![key, iso(now)])?;
        while let Some(r) = rows.next()? {
            taken.insert(r.get(0)?, r.get(1)?);
        }
        let mut c = c.clone();
        c.accepted_total = taken.values().sum();
        let campaigns = [c];
        let program = Program::default();
        let templates = Templates::from_json(None);
        let t = now.timestamp();
        let mut st = conn.prepare("SELECT id, marketing_consent, created_at FROM customers")?;
        let mut rows = st.query([])?;
        let (mut out, mut considered, mut without_consent) = (Vec::new(), 0u32, 0u32);
        while let Some(r) = rows.next()? {
            let id: CustomerId = r.get(0)?;
            considered += 1;
            let created: String = r.get(2)?;
            let facts_c = CustomerFacts {
                id,
                name: String::new(),
                birthday: None,
                member_since: date(&created).unwrap_or(now.date_naive()),
                marketing_consent: r.get(1)?,
            };
            let events: Vec<OfferEvent> = (0..taken.get(&id).copied().unwrap_or(0))
                .map(|_| OfferEvent {
                    key: key.clone(),
                    kind: OfferKind::Campaign,
                    outcome: OfferOutcome::Accepted,
                    at: 0,
                })
                .collect();
            let history: &[Basket] = match self.user_of.get(&id) {
                Some(&u) => self.histories[u as usize].before(t),
                None => &[],
            };
            let mut f = Facts {
                now: t,
                today: now.date_naive(),
                customer: &facts_c,
                history,
                catalog: &self.catalog,
                basket: &[],
                notes: &[],
                points_balance: 0,
                program: &program,
                prompt_feedback: &[],
                offer_events: &events,
                campaigns: &campaigns,
                templates: &templates,
            };
            if offers::campaign_applies(&f, &campaigns[0]) {
                out.push((id, offers::campaign_reason(&f, &campaigns[0])));
            } else if !facts_c.marketing_consent {
                let consenting = CustomerFacts {
                    marketing_consent: true,
                    ..facts_c.clone()
                };
                f.customer = &consenting;
                if offers::campaign_applies(&f, &campaigns[0]) {
                    without_consent += 1;
                }
            }
        }
        Ok((out, considered, without_consent))
    }
}

/// Facts and the shared model in, suggestions out. No I/O.
pub fn decide(model: &Model, f: &Facts<'_>, user: Option<u32>) -> Suggestions {
    let (scored, found) = if f.history.is_empty() || !f.customer.marketing_consent {
        (Vec::new(), Vec::new())
    } else {
        let scored = model.score(f.history, user, f.now);
        let found = model.discover(&scored, DISCOVERY_DEPTH);
        (scored, found)
    };
    Suggestions {
        customer_id: f.customer.id,
        as_of: DateTime::from_timestamp(f.now, 0)
            .map(iso)
            .unwrap_or_default(),
        prompts: prompts::prompts(f),
        offers: offers::offers(f, &scored, &found),
        points_balance: f.points_balance,
    }
}

/// Active campaigns whose dates include `today`, with their accepted totals.
pub fn load_campaigns(store: &Store, today: NaiveDate) -> Result<Vec<Campaign>> {
    let conn = store.conn();
    let rules: Vec<String> = conn
        .prepare_cached("SELECT rule FROM offer_campaigns WHERE active = 1")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for rule in rules {
        let Ok(mut c) = serde_json::from_str::<Campaign>(&rule) else {
            continue;
        };
        if c.starts_on > today || c.ends_on < today {
            continue;
        }
        c.accepted_total = conn
            .prepare_cached(
                "SELECT count(*) FROM offer_events WHERE offer_key = ?1 AND outcome = 'accepted'",
            )?
            .query_row([format!("campaign:{}", c.id)], |r| r.get(0))?;
        out.push(c);
    }
    Ok(out)
}

/// Rows of (key, kind, verdict or outcome, created_at) the cashier recorded
/// for `customer` up to `now`: prompt feedback and offer events share this
/// shape.
fn recorded(
    conn: &rusqlite::Connection,
    sql: &str,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<Vec<(String, String, String, String)>> {
    Ok(conn
        .prepare_cached(sql)?
        .query_map(params![customer, iso(now)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .filter_map(|r| r.ok())
        .collect())
}
