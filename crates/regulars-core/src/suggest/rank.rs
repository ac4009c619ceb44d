//! "What will they buy next?": the scoring model behind replenishment and
//! discovery offers, and the one the offline evaluation measures.
//!
//! Pure and deterministic: baskets in, scored items out. Three signals:
//!
//! 1. **Own history, recency-weighted** (the strongest signal in grocery):
//!    each past basket weighs `basket_decay^k` (k = baskets since) times a
//!    time decay, and an item's own score is the weighted share of baskets
//!    that held it (a TIFU-KNN style personal vector).
//! 2. **Their own purchase cycle**: for items bought repeatedly, time since
//!    the last purchase against the median gap between purchases. Items
//!    about due are lifted, items long overdue (they stopped buying) and
//!    just-bought items with long cycles are lowered.
//! 3. **People like them**: the k most similar customers (cosine of the
//!    personal vectors); their vectors, averaged by similarity, fill in what
//!    this customer has not bought yet (discovery) and smooth the rest.
//!
//! By default these are combined by boosted trees over repeat features
//! (own, neighbours, cycle, and the same at product-type / category level)
//! and the visit's context (days since their last visit; their share of
//! baskets with the item on this day of the week and at this time of day),
//! started from a logistic regression ([`TRAINED`]), applied to the best
//! [`TREE_CANDIDATES`] candidates by that regression only, and stored in
//! `forest.json` ([`trained_forest`]), both fitted on rolling windows before
//! the evaluated weeks by `regulars eval offers --train`; with `forest` off,
//! the logistic regression alone; with `weights` empty too, the
//! hand-set blend `alpha * own + (1 - alpha) * neighbours` with the switches
//! of [`Params`]. [`Model`] holds the shared part (every
//! customer's vector and an inverted index for finding neighbours) and is
//! kept current one customer at a time ([`Model::set_user`]) after a sale.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use super::gbdt::Forest;

use super::history::{median, Basket, DAY};

/// Tunable constants. Defaults were tuned on a validation split carved from
/// weeks < 41 of the Complete Journey (see docs/suggestions.md), never on the
/// test weeks.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Params {
    /// Weight multiplier per basket back in time (TIFU's group decay).
    pub basket_decay: f32,
    /// Extra decay by age, half-life in days (0 = off).
    pub half_life_days: f32,
    /// Neighbours consulted.
    pub neighbours: usize,
    /// Weight of the customer's own vector against the neighbours' (0..=1).
    pub alpha: f32,
    /// How strongly the purchase cycle lifts due items (0 = off).
    pub cycle_weight: f32,
    /// Width of the "due" bump in log-ratio units.
    pub cycle_width: f32,
    /// Multiplier for items bought once (no cycle known).
    pub single_weight: f32,
    /// Weight of the popularity prior.
    pub pop_weight: f32,
    /// Exponent on neighbour similarity when averaging them.
    pub sim_power: f32,
    /// Own scores are multiplied by the item's repeat rate (share of its
    /// buyers who bought it more than once) to this power (0 = off).
    pub repeat_power: f32,
    /// Learned weights over [`features`] (bias last). Empty: the hand-set
    /// blend above. When set, the score is the predicted probability that
    /// the item is in the next basket.
    pub weights: Vec<f32>,
    /// Discovery: popularity is divided out to this power (0 = raw neighbour
    /// score; 1 = pure lift).
    pub discovery_pop_power: f32,
    /// TIFU-KNN grouping: baskets are cut into groups of this many
    /// consecutive baskets (the newest group full, the oldest possibly
    /// short); 0 = no grouping (each basket decays by `basket_decay`).
    pub group_size: usize,
    /// Within a group, a basket weighs `within_decay^j` (j = baskets after it
    /// in the group); the group vector is the average.
    pub within_decay: f32,
    /// Across groups, a group weighs `group_decay^g` (g = groups after it);
    /// the user vector is the average.
    pub group_decay: f32,
    /// Rank with the boosted trees ([`trained_forest`]) when they exist,
    /// ahead of the logistic `weights`.
    pub forest: bool,
    /// The trees score only this many candidates, the best by the forest's
    /// linear start (0 = all); the others rank below them.
    pub tree_candidates: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            basket_decay: 0.95,
            half_life_days: 0.0,
            neighbours: 300,
            alpha: 0.7,
            cycle_weight: 0.0,
            cycle_width: 0.8,
            single_weight: 1.0,
            pop_weight: 0.0,
            sim_power: 1.0,
            discovery_pop_power: 0.0,
            repeat_power: 0.0,
            group_size: 0,
            within_decay: 0.9,
            group_decay: 0.7,
            forest: true,
            tree_candidates: TREE_CANDIDATES,
            weights: if TRAINED.iter().all(|w| *w == 0.0) {
                Vec::new()
            } else {
                TRAINED.to_vec()
            },
        }
    }
}

/// Neighbour-only candidates the learned blend ranks (and is trained on).
pub const LEARNED_EXTRA: usize = 30;

/// Candidates the trees score (the best by the linear model); the trees
/// are fitted on the same per household.
pub const TREE_CANDIDATES: usize = 60;

/// Number of features of [`features`].
pub const NF: usize = 34;

/// Weights learned by `regulars eval offers --train` on rolling windows
/// before the evaluated weeks (see docs/suggestions.md), bias last; also
/// the linear start of the trees in `forest.json`. Fitted with
/// `GBDT_INIT=linear TRAIN_MODEL=gbdt TRAIN_EXTRA=30 TRAIN_WINDOWS=8
/// regulars eval offers --train`: eight 4-week windows with targets in
/// weeks 13-16 ... 41-44 (never 45-48).
#[rustfmt::skip]
pub const TRAINED: [f32; NF + 1] = [
    0.2534421, 0.35348636, 0.9066225, 0.2638806, 0.6375435, -3.5423033, -0.03435736,
    -0.15506355, -0.1895477, 0.96937084, 0.12918293, -0.19543733, 1.7226325, -3.5369089,
    -0.17354363, 1.3102944, -1.7654448, 1.0883309, 1.3896892, -0.19584554, 0.13002546,
    -0.02942643, 0.12434288, -0.18237977, 0.47088432, 1.4553715, -0.06952728, -0.09242192,
    0.051296167, 0.7333054, 0.5069634, 1.0195773, 2.1229742, 0.033235423, -4.6226454,
];

/// The boosted trees fitted by `regulars eval offers --train` with
/// `TRAIN_MODEL=gbdt` (see docs/suggestions.md), parsed once.
pub fn trained_forest() -> Option<Arc<Forest>> {
    static F: OnceLock<Option<Arc<Forest>>> = OnceLock::new();
    F.get_or_init(|| {
        let f: Forest = serde_json::from_str(include_str!("forest.json")).ok()?;
        (!f.trees.is_empty()).then(|| Arc::new(f))
    })
    .clone()
}

/// Per-item facts of one history used by the features.
#[derive(Clone, Copy, Debug, Default)]
struct Recency {
    /// Decayed basket share at 0.8.
    d80: f32,
    /// Decayed basket share at 0.5 (the last few baskets).
    d50: f32,
    /// Baskets since the last one holding it (0 = the last basket).
    since: u32,
    /// Baskets holding it on the same day of the week as now.
    same_day: u32,
    /// Baskets holding it in the same 6-hour block of the day as now.
    same_hours: u32,
}

/// Day of the week (0-6) and 6-hour block of the day (0-3) of a moment
/// (UTC; only compared with each other, so the shop's zone does not matter
/// beyond where the blocks fall).
fn when(at: i64) -> (i64, i64) {
    let days = at.div_euclid(DAY);
    (days.rem_euclid(7), at.rem_euclid(DAY) / (6 * 3600))
}

fn recency(baskets: &[Basket], now: i64) -> HashMap<u32, Recency> {
    let mut out: HashMap<u32, Recency> = HashMap::new();
    let (mut w80, mut t80) = (1.0f32, 0.0f32);
    let (mut w50, mut t50) = (1.0f32, 0.0f32);
    let (day, hours) = when(now);
    for (k, b) in baskets.iter().rev().enumerate() {
        t80 += w80;
        t50 += w50;
        let (d, h) = when(b.at);
        for &i in &b.items {
            let e = out.entry(i).or_insert(Recency {
                since: k as u32,
                ..Recency::default()
            });
            e.d80 += w80;
            e.d50 += w50;
            e.same_day += u32::from(d == day);
            e.same_hours += u32::from(h == hours);
        }
        w80 *= 0.8;
        w50 *= 0.5;
    }
    for e in out.values_mut() {
        e.d80 /= t80.max(1e-9);
        e.d50 /= t50.max(1e-9);
    }
    out
}

/// A customer's history of one item group (product type or category):
/// product switching within a type shows here, not at product level.
#[derive(Clone, Copy, Debug, Default)]
struct GroupStat {
    /// Baskets holding any item of the group.
    times: u32,
    last_at: i64,
    /// Median days between baskets holding the group (0 = unknown).
    cycle_days: f32,
    /// Decayed share of baskets holding the group (0.95 per basket back).
    decayed: f32,
}

fn group_stats(baskets: &[Basket], group: &dyn Fn(u32) -> u32) -> HashMap<u32, GroupStat> {
    // One flat list of (group, time, weight) sorted by group, instead of a
    // list per group: no allocation per group on the serving path.
    let n = baskets.len();
    let mut total = 0.0f32;
    let mut seen: Vec<u32> = Vec::new();
    let mut hits: Vec<(u32, i64, f32)> = Vec::new();
    for (k, b) in baskets.iter().enumerate() {
        let w = 0.95f32.powi((n - 1 - k) as i32);
        total += w;
        seen.clear();
        seen.extend(b.items.iter().map(|&i| group(i)));
        seen.sort_unstable();
        seen.dedup();
        hits.extend(seen.iter().map(|&g| (g, b.at, w)));
    }
    // Stable: within a group, baskets stay in time order.
    hits.sort_by_key(|h| h.0);
    let mut out = HashMap::with_capacity(hits.len() / 2 + 1);
    let mut gaps: Vec<f64> = Vec::new();
    for run in hits.chunk_by(|a, b| a.0 == b.0) {
        gaps.clear();
        gaps.extend(
            run.windows(2)
                .map(|w| (w[1].1 - w[0].1) as f64 / DAY as f64)
                .filter(|g| *g >= 0.5),
        );
        let cycle_days = if gaps.is_empty() {
            0.0
        } else {
            median(&mut gaps) as f32
        };
        let d: f32 = run.iter().map(|h| h.2).sum();
        out.insert(
            run[0].0,
            GroupStat {
                times: run.len() as u32,
                last_at: run[run.len() - 1].1,
                cycle_days,
                decayed: d / total.max(1e-9),
            },
        );
    }
    out
}

/// Customer-level facts the features interact with.
#[derive(Clone, Copy, Debug, Default)]
struct UserCtx {
    baskets: usize,
    /// Share of their distinct items bought on two or more visits.
    repeat_ratio: f32,
    /// Their last visit.
    last_at: i64,
    /// Their baskets on the same day of the week / in the same 6-hour block
    /// as now.
    same_day: u32,
    same_hours: u32,
}

fn user_ctx(baskets: &[Basket], stats: &HashMap<u32, ItemStat>, now: i64) -> UserCtx {
    let rep = stats.values().filter(|s| s.times >= 2).count();
    let (day, hours) = when(now);
    UserCtx {
        baskets: baskets.len(),
        repeat_ratio: (rep as f32 + 1.0) / (stats.len() as f32 + 2.0),
        last_at: baskets.last().map_or(now, |b| b.at),
        same_day: baskets.iter().filter(|b| when(b.at).0 == day).count() as u32,
        same_hours: baskets.iter().filter(|b| when(b.at).1 == hours).count() as u32,
    }
}

/// The features of one candidate item: own and neighbour TIFU scores,
/// frequency, recency in baskets and days, their purchase cycle against the
/// time since, the item's repeat rate and popularity, and interactions
/// with the customer's own repeat ratio.
#[allow(clippy::too_many_arguments)]
fn feature_row(
    own: f32,
    nbr: f32,
    rec: Option<&Recency>,
    stat: Option<&ItemStat>,
    now: i64,
    pop: f32,
    repeat: f32,
    u: &UserCtx,
    g: Option<&GroupStat>,
) -> [f32; NF] {
    let mut x = [0.0f32; NF];
    if let Some(g) = g {
        // Their history of the item's type: how often, how long ago, how
        // due, and how much of it goes to this very product.
        let gdays = (now - g.last_at).max(0) as f32 / DAY as f32;
        x[19] = (1.0 + g.times as f32).ln();
        x[20] = stat.map_or(0.0, |st| st.times as f32 / g.times.max(1) as f32);
        x[21] = (1.0 + gdays).ln();
        if g.cycle_days > 0.0 && g.times >= 2 {
            let lr = (gdays.max(0.25) / g.cycle_days.max(0.5))
                .ln()
                .clamp(-3.0, 3.0);
            x[22] = lr;
            x[23] = lr.abs();
            x[24] = 1.0;
        }
        x[25] = g.decayed;
        // They bought another product of the type since this one (switched).
        x[26] = stat.map_or(0.0, |st| f32::from(st.last_at < g.last_at));
        x[27] = 1.0;
    }
    // The visit's context: how long since their last visit, and how usual
    // this day of the week and time of day are for them.
    let nb = u.baskets.max(1) as f32;
    x[28] = (1.0 + (now - u.last_at).max(0) as f32 / DAY as f32).ln();
    x[29] = u.same_day as f32 / nb;
    x[30] = u.same_hours as f32 / nb;
    x[0] = own;
    x[1] = (own + 1e-3).ln();
    x[2] = nbr;
    x[3] = (nbr + 1e-4).ln();
    x[12] = repeat;
    x[14] = pop.max(1e-4).ln();
    match (rec, stat) {
        (Some(r), Some(st)) => {
            x[4] = (1.0 + st.times as f32).ln();
            x[5] = st.times as f32 / u.baskets.max(1) as f32;
            x[6] = (1.0 + r.since as f32).ln();
            let days = (now - st.last_at).max(0) as f32 / DAY as f32;
            x[7] = (1.0 + days).ln();
            x[8] = f32::from(r.since == 0);
            if let (Some(c), true) = (st.cycle_days, st.times >= 2) {
                let lr = (days.max(0.25) / c.max(0.5)).ln().clamp(-3.0, 3.0);
                x[9] = 1.0;
                x[10] = lr;
                x[11] = lr.abs();
            }
            x[16] = own * repeat;
            x[17] = r.d80;
            x[18] = f32::from(st.times == 1) * repeat;
            // Their share of baskets with it on this day of the week / at
            // this time of day, shrunk towards the overall share.
            x[31] = (r.same_day as f32 + 2.0 * x[5]) / (u.same_day as f32 + 2.0);
            x[32] = (r.same_hours as f32 + 2.0 * x[5]) / (u.same_hours as f32 + 2.0);
            x[33] = r.d50;
        }
        _ => {
            x[13] = u.repeat_ratio;
            x[15] = 1.0;
        }
    }
    x
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// A sparse vector, sorted by item.
pub type SparseVec = Vec<(u32, f32)>;

/// The personal vector of a customer's baskets: for each item, the
/// decayed share of baskets that held it.
pub fn user_vector(baskets: &[Basket], p: &Params, now: Option<i64>) -> SparseVec {
    let n = baskets.len();
    if n == 0 {
        return Vec::new();
    }
    if p.group_size > 0 {
        return grouped_vector(baskets, p);
    }
    let mut acc: HashMap<u32, f32> = HashMap::new();
    let mut total = 0.0f32;
    let mut w = 1.0f32;
    for b in baskets.iter().rev() {
        let mut wb = w;
        if let (Some(now), true) = (now, p.half_life_days > 0.0) {
            let age = (now - b.at).max(0) as f32 / DAY as f32;
            wb *= 0.5f32.powf(age / p.half_life_days);
        }
        total += wb;
        for &i in &b.items {
            *acc.entry(i).or_default() += wb;
        }
        w *= p.basket_decay;
    }
    let mut v: SparseVec = acc
        .into_iter()
        .map(|(i, x)| (i, if total > 0.0 { x / total } else { 0.0 }))
        .collect();
    v.sort_unstable_by_key(|e| e.0);
    v
}

/// TIFU-KNN's user vector: the time-decayed average of group vectors, each
/// the time-decayed average of its baskets' (binary) vectors.
fn grouped_vector(baskets: &[Basket], p: &Params) -> SparseVec {
    let m = p.group_size.max(1);
    let n = baskets.len();
    let n_groups = n.div_ceil(m);
    let mut acc: HashMap<u32, f32> = HashMap::new();
    // Groups from the newest: g = 0 is the newest m baskets.
    let mut wg = 1.0f32;
    for g in 0..n_groups {
        let end = n - g * m;
        let start = end.saturating_sub(m);
        let len = (end - start) as f32;
        let mut wb = 1.0f32;
        for b in baskets[start..end].iter().rev() {
            let w = wg * wb / len;
            for &i in &b.items {
                *acc.entry(i).or_default() += w;
            }
            wb *= p.within_decay;
        }
        wg *= p.group_decay;
    }
    let scale = 1.0 / n_groups as f32;
    let mut v: SparseVec = acc.into_iter().map(|(i, x)| (i, x * scale)).collect();
    v.sort_unstable_by_key(|e| e.0);
    v
}

fn norm(v: &SparseVec) -> f32 {
    v.iter().map(|e| e.1 * e.1).sum::<f32>().sqrt()
}

/// What one customer's history says about one item they bought.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemStat {
    pub item: u32,
    /// Baskets that held it.
    pub times: u32,
    pub first_at: i64,
    pub last_at: i64,
    /// Median days between purchases (None when bought once).
    pub cycle_days: Option<f32>,
}

/// Per-item purchase statistics of one history.
pub fn item_stats(baskets: &[Basket]) -> HashMap<u32, ItemStat> {
    // One flat list of (item, time) sorted by item (stable: time order
    // within an item), not a list per item.
    let mut hits: Vec<(u32, i64)> = baskets
        .iter()
        .flat_map(|b| b.items.iter().map(move |&i| (i, b.at)))
        .collect();
    hits.sort_by_key(|h| h.0);
    let mut out = HashMap::with_capacity(hits.len() / 2 + 1);
    let mut gaps: Vec<f64> = Vec::new();
    for run in hits.chunk_by(|a, b| a.0 == b.0) {
        // Two baskets on the same day are one purchase occasion.
        gaps.clear();
        gaps.extend(
            run.windows(2)
                .map(|w| (w[1].1 - w[0].1) as f64 / DAY as f64)
                .filter(|g| *g >= 0.5),
        );
        let cycle_days = if gaps.is_empty() {
            None
        } else {
            Some(median(&mut gaps) as f32)
        };
        let item = run[0].0;
        out.insert(
            item,
            ItemStat {
                item,
                times: run.len() as u32,
                first_at: run[0].1,
                last_at: run[run.len() - 1].1,
                cycle_days,
            },
        );
    }
    out
}

/// How due an item is: 1 when the time since the last purchase equals the
/// cycle, falling off on a log scale either side.
pub fn due(elapsed_days: f32, cycle_days: f32, width: f32) -> f32 {
    if cycle_days <= 0.0 {
        return 0.0;
    }
    let x = (elapsed_days.max(0.25) / cycle_days).ln();
    (-(x * x) / (2.0 * width * width)).exp()
}

/// One scored item, with the evidence behind the score.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    pub item: u32,
    pub score: f32,
    /// The customer's own (decayed) share of baskets with it.
    pub own: f32,
    /// Similar customers' share.
    pub neighbours: f32,
    /// Their own history of it (None for an item never bought).
    pub stat: Option<ItemStat>,
}

/// Shared statistics over all customers: vectors, an inverted index for
/// finding neighbours, and item popularity.
#[derive(Clone, Debug)]
pub struct Model {
    pub params: Params,
    vectors: Vec<SparseVec>,
    norms: Vec<f32>,
    postings: Vec<Vec<(u32, f32)>>,
    buyers: Vec<u32>,
    /// Per item: buyers who bought it on two or more visits.
    repeaters: Vec<u32>,
    /// Per user: the items they bought on two or more visits.
    repeated: Vec<Vec<u32>>,
    active: u32,
    /// Per item: its group (product type or category) number, < 2^31;
    /// an item past the end is its own group.
    groups: Vec<u32>,
    /// The tree ranker, when `params.forest` and one is fitted.
    forest: Option<Arc<Forest>>,
}

/// Items bought on two or more visits.
fn repeated_items(baskets: &[Basket]) -> Vec<u32> {
    let mut seen: HashMap<u32, u32> = HashMap::new();
    for b in baskets {
        for &i in &b.items {
            *seen.entry(i).or_default() += 1;
        }
    }
    let mut v: Vec<u32> = seen.into_iter().filter(|e| e.1 >= 2).map(|e| e.0).collect();
    v.sort_unstable();
    // Kept per customer in the model: no spare capacity.
    v.shrink_to_fit();
    v
}

impl Model {
    pub fn new(params: Params, n_items: usize) -> Self {
        Model {
            vectors: Vec::new(),
            norms: Vec::new(),
            postings: vec![Vec::new(); n_items],
            buyers: vec![0; n_items],
            repeaters: vec![0; n_items],
            repeated: Vec::new(),
            active: 0,
            groups: Vec::new(),
            forest: if params.forest {
                trained_forest()
            } else {
                None
            },
            params,
        }
    }

    /// Replaces the tree ranker (evaluation of a freshly fitted forest).
    pub fn set_forest(&mut self, forest: Option<Arc<Forest>>) {
        self.forest = forest;
    }

    /// Sets each item's group (product type or category; numbers < 2^31,
    /// an item without one should get a number of its own).
    pub fn set_groups(&mut self, groups: Vec<u32>) {
        self.groups = groups;
    }

    /// Sets one item's group (`None`: the item is its own group).
    pub fn set_group(&mut self, item: u32, group: Option<u32>) {
        let i = item as usize;
        while self.groups.len() <= i {
            let j = self.groups.len() as u32;
            self.groups.push(j | 0x8000_0000);
        }
        self.groups[i] = group.unwrap_or(item | 0x8000_0000);
    }

    /// The group of an item (itself, tagged, when it has none).
    pub fn group(&self, item: u32) -> u32 {
        self.groups
            .get(item as usize)
            .copied()
            .unwrap_or(item | 0x8000_0000)
    }

    /// Builds the model from every customer's history (index = user number).
    pub fn build(params: Params, n_items: usize, users: &[&[Basket]]) -> Self {
        let mut m = Model::new(params, n_items);
        m.vectors = users
            .iter()
            .map(|b| user_vector(b, &m.params, None))
            .collect();
        m.norms = m.vectors.iter().map(norm).collect();
        m.repeated = users.iter().map(|b| repeated_items(b)).collect();
        for r in &m.repeated {
            for &i in r {
                m.repeaters[i as usize] += 1;
            }
        }
        // Buyers first, so each posting list is allocated once at its final
        // size (grown by doubling, they held up to twice what they need).
        for v in &m.vectors {
            if !v.is_empty() {
                m.active += 1;
            }
            for &(i, _) in v {
                m.buyers[i as usize] += 1;
            }
        }
        for (p, &b) in m.postings.iter_mut().zip(&m.buyers) {
            p.reserve_exact(b as usize);
        }
        for (u, v) in m.vectors.iter().enumerate() {
            for &(i, w) in v {
                m.postings[i as usize].push((u as u32, w));
            }
        }
        m
    }

    /// Bytes held by each structure (capacity x element size; allocator
    /// overhead not counted).
    pub fn heap_estimate(&self) -> Vec<(&'static str, usize)> {
        use std::mem::size_of;
        let nested = |v: &[Vec<(u32, f32)>]| -> usize {
            v.iter()
                .map(|x| x.capacity() * size_of::<(u32, f32)>())
                .sum()
        };
        vec![
            (
                "model vectors",
                self.vectors.capacity() * size_of::<SparseVec>() + nested(&self.vectors),
            ),
            (
                "model postings",
                self.postings.capacity() * size_of::<Vec<(u32, f32)>>() + nested(&self.postings),
            ),
            (
                "model repeated",
                self.repeated.capacity() * size_of::<Vec<u32>>()
                    + self
                        .repeated
                        .iter()
                        .map(|r| r.capacity() * size_of::<u32>())
                        .sum::<usize>(),
            ),
            (
                "model per-item counts",
                (self.buyers.capacity()
                    + self.repeaters.capacity()
                    + self.groups.capacity()
                    + self.norms.capacity())
                    * size_of::<u32>(),
            ),
        ]
    }

    pub fn n_items(&self) -> usize {
        self.postings.len()
    }

    pub fn n_users(&self) -> usize {
        self.vectors.len()
    }

    /// Makes room for items added to the catalogue after the build.
    pub fn grow_items(&mut self, n_items: usize) {
        if n_items > self.postings.len() {
            self.postings.resize(n_items, Vec::new());
            self.buyers.resize(n_items, 0);
            self.repeaters.resize(n_items, 0);
        }
    }

    /// Replaces one customer's vector (after a sale): O(their items x
    /// buyers of those items).
    pub fn set_user(&mut self, user: u32, baskets: &[Basket]) {
        let u = user as usize;
        if u >= self.vectors.len() {
            self.vectors.resize(u + 1, Vec::new());
            self.norms.resize(u + 1, 0.0);
            self.repeated.resize(u + 1, Vec::new());
        }
        for &i in &std::mem::take(&mut self.repeated[u]) {
            self.repeaters[i as usize] -= 1;
        }
        let old = std::mem::take(&mut self.vectors[u]);
        if !old.is_empty() {
            self.active -= 1;
        }
        for &(i, _) in &old {
            let p = &mut self.postings[i as usize];
            if let Some(pos) = p.iter().position(|e| e.0 == user) {
                p.swap_remove(pos);
            }
            self.buyers[i as usize] -= 1;
        }
        let v = user_vector(baskets, &self.params, None);
        if let Some(max) = v.iter().map(|e| e.0 as usize + 1).max() {
            self.grow_items(max);
        }
        for &(i, w) in &v {
            self.postings[i as usize].push((user, w));
            self.buyers[i as usize] += 1;
        }
        if !v.is_empty() {
            self.active += 1;
        }
        self.norms[u] = norm(&v);
        self.vectors[u] = v;
        let r = repeated_items(baskets);
        for &i in &r {
            self.repeaters[i as usize] += 1;
        }
        self.repeated[u] = r;
    }

    /// Share of active customers who ever bought the item.
    pub fn popularity(&self, item: u32) -> f32 {
        let b = self.buyers.get(item as usize).copied().unwrap_or(0);
        b as f32 / self.active.max(1) as f32
    }

    /// Share of an item's buyers who came back for it (smoothed towards 1/2).
    pub fn repeat_rate(&self, item: u32) -> f32 {
        let i = item as usize;
        let b = self.buyers.get(i).copied().unwrap_or(0) as f32;
        let r = self.repeaters.get(i).copied().unwrap_or(0) as f32;
        (r + 1.0) / (b + 2.0)
    }

    /// Items by number of buyers, most first.
    pub fn popular(&self, n: usize) -> Vec<u32> {
        let mut items: Vec<u32> = (0..self.buyers.len() as u32)
            .filter(|&i| self.buyers[i as usize] > 0)
            .collect();
        items.sort_unstable_by(|a, b| {
            self.buyers[*b as usize]
                .cmp(&self.buyers[*a as usize])
                .then(a.cmp(b))
        });
        items.truncate(n);
        items
    }

    /// The `k` customers most similar to `v`, with cosine similarity
    /// (excluding `exclude`, the customer themself).
    pub fn neighbours(&self, v: &SparseVec, exclude: Option<u32>, k: usize) -> Vec<(u32, f32)> {
        let qn = norm(v);
        if qn == 0.0 || k == 0 {
            return Vec::new();
        }
        let mut acc = vec![0.0f32; self.vectors.len()];
        for &(i, w) in v {
            if let Some(p) = self.postings.get(i as usize) {
                for &(u, wu) in p {
                    acc[u as usize] += w * wu;
                }
            }
        }
        let mut sims: Vec<(u32, f32)> = acc
            .into_iter()
            .enumerate()
            .filter(|(u, d)| *d > 0.0 && Some(*u as u32) != exclude)
            .map(|(u, d)| (u as u32, d / (qn * self.norms[u].max(1e-9))))
            .collect();
        let by_sim = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if sims.len() > k {
            sims.select_nth_unstable_by(k, by_sim);
            sims.truncate(k);
        }
        sims.sort_unstable_by(by_sim);
        sims
    }

    /// Scores every candidate item for a customer at `now`: their own items
    /// and their neighbours'. Returns all candidates, best first.
    pub fn score(&self, baskets: &[Basket], user: Option<u32>, now: i64) -> Vec<Scored> {
        self.score_with(&self.params, baskets, user, now)
    }

    fn score_with(
        &self,
        p: &Params,
        baskets: &[Basket],
        user: Option<u32>,
        now: i64,
    ) -> Vec<Scored> {
        let own_v = user_vector(baskets, p, Some(now));
        let query = if p.half_life_days > 0.0 {
            user_vector(baskets, p, None)
        } else {
            own_v.clone()
        };
        let stats = item_stats(baskets);
        let nbrs = self.neighbours(&query, user, p.neighbours);
        // Dense accumulation over items (with the list of touched items):
        // hundreds of neighbours x hundreds of items each.
        let mut dense = vec![0.0f32; self.n_items()];
        let mut touched: Vec<u32> = Vec::new();
        let wsum: f32 = nbrs.iter().map(|n| n.1.powf(p.sim_power)).sum();
        if wsum > 0.0 {
            for &(u, s) in &nbrs {
                let w = s.powf(p.sim_power) / wsum;
                for &(i, x) in &self.vectors[u as usize] {
                    let d = &mut dense[i as usize];
                    if *d == 0.0 {
                        touched.push(i);
                    }
                    *d += w * x;
                }
            }
        }
        let own: HashMap<u32, f32> = own_v.into_iter().collect();
        let forest = if p.forest {
            self.forest.as_deref()
        } else {
            None
        };
        let learned = p.weights.len() == NF + 1 || forest.is_some();
        let (rec, uctx, gst) = if learned {
            (
                recency(baskets, now),
                user_ctx(baskets, &stats, now),
                group_stats(baskets, &|i| self.group(i)),
            )
        } else {
            (HashMap::new(), UserCtx::default(), HashMap::new())
        };
        let mut out: Vec<Scored> = Vec::with_capacity(own.len() + touched.len());
        // Feature rows of the candidates (same order as `out`), for the trees.
        let mut xs: Vec<[f32; NF]> = Vec::new();
        let mut seen = |item: u32| {
            let mut o = own.get(&item).copied().unwrap_or(0.0);
            if p.repeat_power > 0.0 && o > 0.0 {
                o *= self.repeat_rate(item).powf(p.repeat_power);
            }
            let n = dense[item as usize];
            let stat = stats.get(&item).cloned();
            if learned {
                let x = feature_row(
                    o,
                    n,
                    rec.get(&item),
                    stat.as_ref(),
                    now,
                    self.popularity(item),
                    self.repeat_rate(item),
                    &uctx,
                    gst.get(&self.group(item)),
                );
                // The linear part first; the trees are added below, for
                // the best candidates by it only.
                let z = match forest {
                    Some(f) => f.linear_part(&x),
                    None => {
                        p.weights[NF] + x.iter().zip(&p.weights).map(|(a, b)| a * b).sum::<f32>()
                    }
                };
                if forest.is_some() {
                    xs.push(x);
                }
                out.push(Scored {
                    item,
                    score: z,
                    own: o,
                    neighbours: n,
                    stat,
                });
                return;
            }
            let mut s = p.alpha * o + (1.0 - p.alpha) * n + p.pop_weight * self.popularity(item);
            if let Some(st) = &stat {
                match st.cycle_days {
                    Some(c) if st.times >= 2 => {
                        let elapsed = (now - st.last_at) as f32 / DAY as f32;
                        s *= 1.0 + p.cycle_weight * (due(elapsed, c, p.cycle_width) - 0.5);
                    }
                    _ => s *= p.single_weight,
                }
            }
            out.push(Scored {
                item,
                score: s,
                own: o,
                neighbours: n,
                stat,
            });
        };
        for &i in own.keys() {
            seen(i);
        }
        // The learned blend only ranks the candidates it was trained on
        // (own items and the strongest neighbour-only ones); the rest keep
        // their neighbour score, below every candidate. Thousands of items
        // are in that tail: it is sorted once, as (score, item) pairs, and
        // only the few strongest are picked for the learned blend (full
        // sorts of the tail were half of a suggestion's CPU time).
        let by_dense = |a: &u32, b: &u32| {
            dense[*b as usize]
                .total_cmp(&dense[*a as usize])
                .then(a.cmp(b))
        };
        let mut others: Vec<u32> = touched
            .iter()
            .copied()
            .filter(|i| !own.contains_key(i))
            .collect();
        let limit = if learned {
            let limit = LEARNED_EXTRA.min(others.len());
            if limit < others.len() {
                others.select_nth_unstable_by(limit, by_dense);
            }
            others[..limit].sort_unstable_by(by_dense);
            limit
        } else {
            others.len()
        };
        for &i in &others[..limit] {
            seen(i);
        }
        if learned {
            self.finish_learned(p, forest, &mut out, &xs);
        }
        out.sort_unstable_by(|a, b| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item)));
        let tail = &mut others[limit..];
        tail.sort_unstable_by(by_dense);
        out.extend(tail.iter().map(|&i| {
            let n = dense[i as usize];
            Scored {
                item: i,
                // Below every candidate (learned ones are > -1).
                score: n - 2.0,
                own: 0.0,
                neighbours: n,
                stat: None,
            }
        }));
        out
    }

    /// Turns the learned candidates' linear log-odds (`out[..]`, all of them
    /// learned) into probabilities: with trees, only the best
    /// `tree_candidates` by the linear part get the trees added (the trees
    /// cost ~100 node visits each, the linear part 34 multiplications); the
    /// rest rank below them, by the linear part.
    fn finish_learned(
        &self,
        p: &Params,
        forest: Option<&Forest>,
        out: &mut [Scored],
        xs: &[[f32; NF]],
    ) {
        let Some(f) = forest else {
            for s in out.iter_mut() {
                s.score = sigmoid(s.score);
            }
            return;
        };
        let mut idx: Vec<u32> = (0..out.len() as u32).collect();
        let keep = match p.tree_candidates {
            0 => idx.len(),
            n => n.min(idx.len()),
        };
        if keep < idx.len() {
            idx.select_nth_unstable_by(keep, |a, b| {
                let (a, b) = (&out[*a as usize], &out[*b as usize]);
                b.score.total_cmp(&a.score).then(a.item.cmp(&b.item))
            });
        }
        for (r, &i) in idx.iter().enumerate() {
            let s = &mut out[i as usize];
            s.score = if r < keep {
                sigmoid(s.score + f.trees_part(&xs[i as usize]))
            } else {
                sigmoid(s.score) - 1.0
            };
        }
    }

    /// Candidates with their feature rows (for training): own items and the
    /// `extra` strongest neighbour-only items.
    pub fn features(
        &self,
        baskets: &[Basket],
        user: Option<u32>,
        now: i64,
        extra: usize,
    ) -> Vec<(u32, [f32; NF])> {
        let mut p = self.params.clone();
        p.weights.clear();
        p.forest = false;
        p.repeat_power = 0.0;
        p.cycle_weight = 0.0;
        p.single_weight = 1.0;
        let scored = self.score_with(&p, baskets, user, now);
        let rec = recency(baskets, now);
        let uctx = user_ctx(baskets, &item_stats(baskets), now);
        let gst = group_stats(baskets, &|i| self.group(i));
        let mut n_extra = 0;
        scored
            .into_iter()
            .filter(|s| {
                if s.stat.is_some() {
                    true
                } else {
                    n_extra += 1;
                    n_extra <= extra
                }
            })
            .map(|s| {
                let x = feature_row(
                    s.own,
                    s.neighbours,
                    rec.get(&s.item),
                    s.stat.as_ref(),
                    now,
                    self.popularity(s.item),
                    self.repeat_rate(s.item),
                    &uctx,
                    gst.get(&self.group(s.item)),
                );
                (s.item, x)
            })
            .collect()
    }

    /// Discovery: items the customer never bought, ranked by what similar
    /// customers buy, with popularity divided out to `discovery_pop_power`
    /// so "everyone buys milk" does not crowd out "people like you buy this".
    pub fn discover(&self, scored: &[Scored], n: usize) -> Vec<Scored> {
        let pw = self.params.discovery_pop_power;
        // Rank (score, index) pairs and clone only the `n` kept.
        let mut d: Vec<(f32, u32, usize)> = scored
            .iter()
            .enumerate()
            .filter(|(_, s)| s.stat.is_none() && s.neighbours > 0.0)
            .map(|(k, s)| {
                let v = s.neighbours / self.popularity(s.item).max(1e-4).powf(pw);
                (v, s.item, k)
            })
            .collect();
        let by =
            |a: &(f32, u32, usize), b: &(f32, u32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if n < d.len() {
            d.select_nth_unstable_by(n, by);
            d.truncate(n);
        }
        d.sort_unstable_by(by);
        d.into_iter()
            .map(|(v, _, k)| {
                let mut s = scored[k].clone();
                s.score = v;
                s
            })
            .collect()
    }
}
