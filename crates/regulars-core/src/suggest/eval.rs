//! Offline evaluation of "what to offer next" on the Complete Journey, with
//! exactly the protocol of `../shared/datasets/README.md`:
//!
//! - drop lines with quantity <= 0; a basket is one basket_id, placed at its
//!   earliest timestamp;
//! - target: a household's first basket in weeks 45-48 (its set of
//!   product_ids); history: its baskets in weeks < 45; only households with
//!   at least 3 history baskets;
//! - shared statistics (neighbours, popularity) from weeks < 45 only;
//! - recall@k, NDCG@k (binary gains, ideal DCG over min(k, |target|)),
//!   hit-rate@k, explore recall (recall on the never-bought part of the
//!   target, averaged over households that have such a part), at product and
//!   product_type level (a product without a type is its own type).
//!
//! Reads the CSVs directly, so anyone can rerun it without importing:
//! `regulars eval offers --data ../shared/datasets/completejourney`.
//! Tuning uses a validation split carved from the history (target weeks
//! 41-44, history < 41), never the test weeks.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use super::gbdt::Group;
use super::history::Basket;
use super::rank::{item_stats, user_vector, Model, Params};
use crate::{Error, Result};

/// Products, households and their baskets (with the week of each).
#[derive(Debug, Default)]
pub struct Dataset {
    pub product_refs: Vec<String>,
    /// product_type number of each item.
    pub type_of: Vec<u32>,
    pub n_types: usize,
    /// product_category number of each item (the store's `category`).
    pub cat_of: Vec<u32>,
    pub households: Vec<String>,
    /// Per household: (week, basket), oldest first.
    pub baskets: Vec<Vec<(u32, Basket)>>,
}

fn open_gz(path: &Path) -> Result<csv::Reader<Box<dyn Read>>> {
    let f = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    let r: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(f)))
    } else {
        Box::new(std::io::BufReader::new(f))
    };
    Ok(csv::ReaderBuilder::new().has_headers(true).from_reader(r))
}

fn find(dir: &Path, stem: &str) -> Result<std::path::PathBuf> {
    for name in [format!("{stem}.csv.gz"), format!("{stem}.csv")] {
        let p = dir.join(name);
        if p.exists() {
            return Ok(p);
        }
    }
    Err(Error::Io {
        path: dir.join(format!("{stem}.csv.gz")).display().to_string(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "missing"),
    })
}

fn col(headers: &csv::ByteRecord, name: &str, file: &Path) -> Result<usize> {
    headers
        .iter()
        .position(|h| h == name.as_bytes())
        .ok_or_else(|| Error::Import {
            file: file.display().to_string(),
            line: 1,
            reason: format!("no column '{name}'"),
        })
}

fn csv_err(file: &Path, e: csv::Error) -> Error {
    Error::Import {
        file: file.display().to_string(),
        line: e.position().map_or(0, |p| p.line()),
        reason: e.to_string(),
    }
}

fn parse_ts(s: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// (household, earliest timestamp, its week, items) of one basket_id.
type RawBasket = (u32, i64, u32, Vec<u32>);

/// Loads transactions and products from a Complete Journey folder.
pub fn load_completejourney(dir: &Path) -> Result<Dataset> {
    let mut ds = Dataset::default();
    // Products: product_type (or the product itself when it has none).
    let ppath = find(dir, "products")?;
    let mut pr = open_gz(&ppath)?;
    let h = pr.byte_headers().map_err(|e| csv_err(&ppath, e))?.clone();
    let (pc, tc, cc) = (
        col(&h, "product_id", &ppath)?,
        col(&h, "product_type", &ppath)?,
        col(&h, "product_category", &ppath)?,
    );
    let mut cat_of_ref: HashMap<String, String> = HashMap::new();
    let mut item_of: HashMap<String, u32> = HashMap::new();
    let mut type_ids: HashMap<String, u32> = HashMap::new();
    let mut rec = csv::ByteRecord::new();
    let mut type_of_ref: HashMap<String, String> = HashMap::new();
    while pr
        .read_byte_record(&mut rec)
        .map_err(|e| csv_err(&ppath, e))?
    {
        let pid = String::from_utf8_lossy(&rec[pc]).trim().to_string();
        let ty = String::from_utf8_lossy(&rec[tc]).trim().to_string();
        let cat = String::from_utf8_lossy(&rec[cc]).trim().to_string();
        cat_of_ref.insert(pid.clone(), cat);
        type_of_ref.insert(pid, ty);
    }
    let tpath = find(dir, "transactions")?;
    let mut tr = open_gz(&tpath)?;
    let h = tr.byte_headers().map_err(|e| csv_err(&tpath, e))?.clone();
    let hc = col(&h, "household_id", &tpath)?;
    let bc = col(&h, "basket_id", &tpath)?;
    let pc = col(&h, "product_id", &tpath)?;
    let qc = col(&h, "quantity", &tpath)?;
    let wc = col(&h, "week", &tpath)?;
    let tsc = col(&h, "transaction_timestamp", &tpath)?;
    let mut hh_of: HashMap<String, u32> = HashMap::new();
    // basket_id -> (household, at, week, items)
    let mut baskets: HashMap<String, RawBasket> = HashMap::new();
    let mut line = 1u64;
    while tr
        .read_byte_record(&mut rec)
        .map_err(|e| csv_err(&tpath, e))?
    {
        line += 1;
        let s = |i: usize| std::str::from_utf8(&rec[i]).unwrap_or("").trim();
        let q: f64 = s(qc).parse().unwrap_or(0.0);
        if q <= 0.0 {
            continue;
        }
        let bad = |what: &str| Error::Import {
            file: tpath.display().to_string(),
            line,
            reason: format!("bad {what}"),
        };
        let at = parse_ts(s(tsc)).ok_or_else(|| bad("transaction_timestamp"))?;
        let week: u32 = s(wc).parse().map_err(|_| bad("week"))?;
        let n = hh_of.len() as u32;
        let hh = *hh_of.entry(s(hc).to_string()).or_insert(n);
        let n = item_of.len() as u32;
        let item = *item_of.entry(s(pc).to_string()).or_insert(n);
        let e = baskets
            .entry(s(bc).to_string())
            .or_insert((hh, at, week, Vec::new()));
        if at < e.1 {
            e.1 = at;
            e.2 = week;
        }
        e.3.push(item);
    }
    ds.households = vec![String::new(); hh_of.len()];
    for (k, v) in hh_of {
        ds.households[v as usize] = k;
    }
    ds.product_refs = vec![String::new(); item_of.len()];
    for (k, v) in item_of {
        ds.product_refs[v as usize] = k;
    }
    ds.type_of = ds
        .product_refs
        .iter()
        .map(|p| {
            let key = match type_of_ref.get(p).filter(|t| !t.is_empty()) {
                Some(t) => format!("t:{t}"),
                None => format!("p:{p}"),
            };
            let n = type_ids.len() as u32;
            *type_ids.entry(key).or_insert(n)
        })
        .collect();
    ds.n_types = type_ids.len();
    let mut cat_ids: HashMap<String, u32> = HashMap::new();
    ds.cat_of = ds
        .product_refs
        .iter()
        .map(|p| {
            let key = match cat_of_ref.get(p).filter(|t| !t.is_empty()) {
                Some(t) => format!("c:{t}"),
                None => format!("p:{p}"),
            };
            let n = cat_ids.len() as u32;
            *cat_ids.entry(key).or_insert(n)
        })
        .collect();
    ds.baskets = vec![Vec::new(); ds.households.len()];
    let mut all: Vec<(String, RawBasket)> = baskets.into_iter().collect();
    // Deterministic order: time, then basket id.
    all.sort_by(|a, b| a.1 .1.cmp(&b.1 .1).then(a.0.cmp(&b.0)));
    for (_, (hh, at, week, items)) in all {
        ds.baskets[hh as usize].push((week, Basket::new(at, items)));
    }
    Ok(ds)
}

impl Dataset {
    /// The item groups the model's type-level features use: the product
    /// category, as the store keeps it (`GROUP_LEVEL=type` for product_type,
    /// `none` for no groups; experiments only).
    pub fn groups(&self) -> Vec<u32> {
        match std::env::var("GROUP_LEVEL").as_deref() {
            Ok("type") => self.type_of.clone(),
            Ok("none") => (0..self.product_refs.len() as u32).collect(),
            _ => self.cat_of.clone(),
        }
    }
}

/// One evaluation case: a household, its history, the target basket.
#[derive(Debug)]
pub struct Case {
    pub user: u32,
    pub at: i64,
    pub target: Vec<u32>,
}

/// A split: everyone's history before `first_week`, and the cases.
#[derive(Debug)]
pub struct Split {
    pub history: Vec<Vec<Basket>>,
    pub cases: Vec<Case>,
}

/// Target = first basket in weeks `first_week..=last_week`; history = weeks
/// before `first_week`; households with at least `min_history` baskets.
pub fn split(ds: &Dataset, first_week: u32, last_week: u32, min_history: usize) -> Split {
    let mut history = Vec::with_capacity(ds.baskets.len());
    let mut cases = Vec::new();
    for (u, bs) in ds.baskets.iter().enumerate() {
        let h: Vec<Basket> = bs
            .iter()
            .filter(|(w, _)| *w < first_week)
            .map(|(_, b)| b.clone())
            .collect();
        if h.len() >= min_history {
            if let Some((_, t)) = bs.iter().find(|(w, _)| *w >= first_week && *w <= last_week) {
                cases.push(Case {
                    user: u as u32,
                    at: t.at,
                    target: t.items.clone(),
                });
            }
        }
        history.push(h);
    }
    Split { history, cases }
}

/// Averaged metrics at k.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    pub households: usize,
    pub recall: f64,
    pub ndcg: f64,
    pub hit_rate: f64,
    pub explore_recall: f64,
}

#[derive(Default)]
struct Acc {
    n: usize,
    recall: f64,
    ndcg: f64,
    hits: usize,
    explore_n: usize,
    explore: f64,
}

impl Acc {
    fn add(&mut self, ranked: &[u32], target: &HashSet<u32>, new: &HashSet<u32>, k: usize) {
        let ranked = &ranked[..ranked.len().min(k)];
        let mut hits = 0usize;
        let mut dcg = 0.0;
        for (pos, i) in ranked.iter().enumerate() {
            if target.contains(i) {
                hits += 1;
                dcg += 1.0 / ((pos + 2) as f64).log2();
            }
        }
        let ideal: f64 = (0..target.len().min(k))
            .map(|p| 1.0 / ((p + 2) as f64).log2())
            .sum();
        self.n += 1;
        self.recall += hits as f64 / target.len().max(1) as f64;
        self.ndcg += if ideal > 0.0 { dcg / ideal } else { 0.0 };
        self.hits += usize::from(hits > 0);
        if !new.is_empty() {
            self.explore_n += 1;
            self.explore +=
                ranked.iter().filter(|i| new.contains(i)).count() as f64 / new.len() as f64;
        }
    }

    fn finish(&self) -> Metrics {
        let n = self.n.max(1) as f64;
        Metrics {
            households: self.n,
            recall: self.recall / n,
            ndcg: self.ndcg / n,
            hit_rate: self.hits as f64 / n,
            explore_recall: self.explore / self.explore_n.max(1) as f64,
        }
    }
}

/// Product-level and product_type-level metrics of one method.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub method: String,
    pub product: Metrics,
    pub product_type: Metrics,
}

/// Runs `rank` (case -> items, best first, at least k of them ideally) over
/// every case and measures it at k.
pub fn measure<F>(ds: &Dataset, sp: &Split, k: usize, method: &str, mut rank: F) -> Report
where
    F: FnMut(&Case, &[Basket]) -> Vec<u32>,
{
    let (mut pa, mut ta) = (Acc::default(), Acc::default());
    for c in &sp.cases {
        let hist = &sp.history[c.user as usize];
        let ranked = rank(c, hist);
        let bought: HashSet<u32> = hist.iter().flat_map(|b| b.items.iter().copied()).collect();
        let target: HashSet<u32> = c.target.iter().copied().collect();
        let new: HashSet<u32> = target.difference(&bought).copied().collect();
        pa.add(&ranked, &target, &new, k);
        // Type level: the ranked products' types, first occurrence, top k.
        let ty = |i: &u32| ds.type_of[*i as usize];
        let mut seen = HashSet::new();
        let ranked_t: Vec<u32> = ranked
            .iter()
            .map(ty)
            .filter(|t| seen.insert(*t))
            .take(k)
            .collect();
        let bought_t: HashSet<u32> = bought.iter().map(ty).collect();
        let target_t: HashSet<u32> = target.iter().map(ty).collect();
        let new_t: HashSet<u32> = target_t.difference(&bought_t).copied().collect();
        ta.add(&ranked_t, &target_t, &new_t, k);
    }
    Report {
        method: method.to_string(),
        product: pa.finish(),
        product_type: ta.finish(),
    }
}

/// Enough candidates that the type-level list can still fill k slots.
const DEPTH: usize = 60;

fn top_by<F: Fn(u32) -> f64>(items: impl Iterator<Item = u32>, score: F, n: usize) -> Vec<u32> {
    let mut v: Vec<(u32, f64)> = items.map(|i| (i, score(i))).collect();
    v.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(n);
    v.into_iter().map(|e| e.0).collect()
}

/// Personal purchase frequency (baskets with the item; ties by recency).
pub fn rank_frequency(hist: &[Basket]) -> Vec<u32> {
    let st = item_stats(hist);
    top_by(
        st.keys().copied(),
        |i| st[&i].times as f64 + st[&i].last_at as f64 * 1e-12,
        DEPTH,
    )
}

/// Recency-decayed frequency (each basket 0.5^(age/half_life)).
pub fn rank_decayed(hist: &[Basket], at: i64, half_life_days: f32) -> Vec<u32> {
    let p = Params {
        basket_decay: 1.0,
        half_life_days,
        ..Params::default()
    };
    let v = user_vector(hist, &p, Some(at));
    top_by(
        v.iter().map(|e| e.0),
        |i| {
            v.binary_search_by_key(&i, |e| e.0)
                .map_or(0.0, |x| v[x].1 as f64)
        },
        DEPTH,
    )
}

/// Everything `regulars eval offers` prints.
#[derive(Debug)]
pub struct Evaluation {
    pub households: usize,
    pub reports: Vec<Report>,
    /// Discovery: the same budget of k never-bought items.
    pub discovery: Vec<Report>,
    pub seconds: f64,
}

/// The full comparison on one split: baselines, TIFU-KNN, ours.
pub fn compare(ds: &Dataset, sp: &Split, k: usize, ours: &Params, tifu: &Params) -> Evaluation {
    let t = std::time::Instant::now();
    let refs: Vec<&[Basket]> = sp.history.iter().map(Vec::as_slice).collect();
    let mut reports = Vec::new();
    reports.push(measure(ds, sp, k, "personal purchase frequency", |_, h| {
        rank_frequency(h)
    }));
    reports.push(measure(
        ds,
        sp,
        k,
        "recency-decayed frequency (half-life 60 d)",
        |c, h| rank_decayed(h, c.at, 60.0),
    ));
    let tm = Model::build(tifu.clone(), ds.product_refs.len(), &refs);
    reports.push(measure(ds, sp, k, "TIFU-KNN style (no cycle)", |c, h| {
        tm.score(h, Some(c.user), c.at)
            .into_iter()
            .take(DEPTH)
            .map(|s| s.item)
            .collect()
    }));
    let mut om = Model::build(ours.clone(), ds.product_refs.len(), &refs);
    om.set_groups(ds.groups());
    let mut disc_lists: HashMap<u32, Vec<u32>> = HashMap::new();
    reports.push(measure(ds, sp, k, "Regulars (ours)", |c, h| {
        let scored = om.score(h, Some(c.user), c.at);
        disc_lists.insert(
            c.user,
            om.discover(&scored, DEPTH)
                .into_iter()
                .map(|s| s.item)
                .collect(),
        );
        scored.into_iter().take(DEPTH).map(|s| s.item).collect()
    }));
    let popular = om.popular(DEPTH * 40);
    let mut discovery = Vec::new();
    discovery.push(measure(ds, sp, k, "popular never bought", |_, h| {
        let bought: HashSet<u32> = h.iter().flat_map(|b| b.items.iter().copied()).collect();
        popular
            .iter()
            .copied()
            .filter(|i| !bought.contains(i))
            .take(DEPTH)
            .collect()
    }));
    discovery.push(measure(ds, sp, k, "Regulars discovery (ours)", |c, _| {
        disc_lists.remove(&c.user).unwrap_or_default()
    }));
    Evaluation {
        households: sp.cases.len(),
        reports,
        discovery,
        seconds: t.elapsed().as_secs_f64(),
    }
}

/// Measures one parameter set (product level) on a split; for tuning.
pub fn score_params(ds: &Dataset, sp: &Split, k: usize, p: &Params) -> Report {
    let refs: Vec<&[Basket]> = sp.history.iter().map(Vec::as_slice).collect();
    let mut m = Model::build(p.clone(), ds.product_refs.len(), &refs);
    m.set_groups(ds.groups());
    measure(ds, sp, k, "candidate", |c, h| {
        m.score(h, Some(c.user), c.at)
            .into_iter()
            .take(DEPTH)
            .map(|s| s.item)
            .collect()
    })
}

/// The training windows for a split whose targets start at `first_week`:
/// `n` windows of `len` weeks just before it (target = first basket in the
/// window, history = everything before the window), so training never sees
/// the evaluated weeks.
pub fn training_windows(ds: &Dataset, first_week: u32, n: u32, len: u32) -> Vec<Split> {
    (1..=n)
        .filter(|j| first_week > j * len + 4)
        .map(|j| {
            let start = first_week - j * len;
            split(ds, start, start + len - 1, 3)
        })
        .collect()
}

/// The candidates of the training splits as (features, label: in the
/// target basket, weight: 1 / |target| as in recall@k).
pub fn training_rows(
    ds: &Dataset,
    splits: &[Split],
    base: &Params,
    extra: usize,
) -> Vec<([f32; super::rank::NF], f32, f32)> {
    candidate_rows(ds, splits, base, extra).rows
}

/// Candidate rows of some splits, households in order, with where each
/// household's rows are (for ranking objectives and fast measuring).
#[derive(Debug, Default)]
pub struct Rows {
    pub rows: Vec<([f32; super::rank::NF], f32, f32)>,
    pub groups: Vec<Group>,
    /// Per group: the split it came from (index into the splits given).
    pub split: Vec<u32>,
}

impl Rows {
    /// The groups (and their rows) of the splits `keep` says yes to.
    pub fn filter(&self, keep: impl Fn(u32) -> bool) -> Rows {
        let mut out = Rows::default();
        for (g, &s) in self.groups.iter().zip(&self.split) {
            if !keep(s) {
                continue;
            }
            let start = out.rows.len() as u32;
            out.rows
                .extend_from_slice(&self.rows[g.start as usize..g.end as usize]);
            out.groups.push(Group {
                start,
                end: out.rows.len() as u32,
                targets: g.targets,
            });
            out.split.push(s);
        }
        out
    }

    /// Each household's `n` best rows by `z` (a cheap pre-ranking), in their
    /// original order.
    pub fn top(&self, z: &[f32], n: usize) -> Rows {
        let mut out = Rows::default();
        for (g, &s) in self.groups.iter().zip(&self.split) {
            let mut idx: Vec<usize> = (g.start as usize..g.end as usize).collect();
            idx.sort_by(|a, b| z[*b].total_cmp(&z[*a]));
            idx.truncate(n);
            idx.sort_unstable();
            let start = out.rows.len() as u32;
            out.rows.extend(idx.iter().map(|&i| self.rows[i]));
            out.groups.push(Group {
                start,
                end: out.rows.len() as u32,
                targets: g.targets,
            });
            out.split.push(s);
        }
        out
    }

    /// Product-level recall@k and NDCG@k of ranking each household's
    /// candidates by `z` (higher first; ties by row order). Exact for the
    /// evaluated split's rows as long as a household has k candidates (the
    /// scorer's fallback items below the candidates are left out).
    pub fn measure(&self, z: &[f32], k: usize) -> (f64, f64) {
        let (mut recall, mut ndcg) = (0.0, 0.0);
        let mut order: Vec<usize> = Vec::new();
        for g in &self.groups {
            order.clear();
            order.extend(g.start as usize..g.end as usize);
            order.sort_by(|a, b| z[*b].total_cmp(&z[*a]));
            let mut hits = 0usize;
            let mut dcg = 0.0;
            for (pos, &i) in order.iter().take(k).enumerate() {
                if self.rows[i].1 > 0.5 {
                    hits += 1;
                    dcg += 1.0 / ((pos + 2) as f64).log2();
                }
            }
            let ideal: f64 = (0..(g.targets as usize).min(k))
                .map(|p| 1.0 / ((p + 2) as f64).log2())
                .sum();
            recall += hits as f64 / g.targets.max(1) as f64;
            ndcg += if ideal > 0.0 { dcg / ideal } else { 0.0 };
        }
        let n = self.groups.len().max(1) as f64;
        (recall / n, ndcg / n)
    }
}

/// Every case's candidates (own items and the `extra` strongest
/// neighbour-only ones) with their features, per split with its own
/// neighbour model (built from that split's history only).
pub fn candidate_rows(ds: &Dataset, splits: &[Split], base: &Params, extra: usize) -> Rows {
    let weigh = std::env::var("TRAIN_WEIGH").map_or(true, |v| v != "0");
    let mut out = Rows::default();
    for (si, sp) in splits.iter().enumerate() {
        let refs: Vec<&[Basket]> = sp.history.iter().map(Vec::as_slice).collect();
        let mut m = Model::build(base.clone(), ds.product_refs.len(), &refs);
        m.set_groups(ds.groups());
        for c in &sp.cases {
            let target: HashSet<u32> = c.target.iter().copied().collect();
            let cw = if weigh {
                1.0 / target.len().max(1) as f32
            } else {
                1.0
            };
            let start = out.rows.len() as u32;
            for (item, x) in m.features(&sp.history[c.user as usize], Some(c.user), c.at, extra) {
                out.rows.push((x, f32::from(target.contains(&item)), cw));
            }
            out.groups.push(Group {
                start,
                end: out.rows.len() as u32,
                targets: target.len() as u32,
            });
            out.split.push(si as u32);
        }
    }
    out
}

/// Measures one parameter set with a given tree ranker (product level).
pub fn score_forest(
    ds: &Dataset,
    sp: &Split,
    k: usize,
    p: &Params,
    forest: std::sync::Arc<super::gbdt::Forest>,
) -> Report {
    let refs: Vec<&[Basket]> = sp.history.iter().map(Vec::as_slice).collect();
    let mut m = Model::build(p.clone(), ds.product_refs.len(), &refs);
    m.set_groups(ds.groups());
    m.set_forest(Some(forest));
    measure(ds, sp, k, "candidate", |c, h| {
        m.score(h, Some(c.user), c.at)
            .into_iter()
            .take(DEPTH)
            .map(|s| s.item)
            .collect()
    })
}

/// Fits the weights of the learned blend: logistic regression by SGD on the
/// candidates of the training splits (label: in the target basket),
/// features standardised for the fit and folded back into raw-space weights.
#[allow(clippy::needless_range_loop)]
pub fn train(
    ds: &Dataset,
    splits: &[Split],
    base: &Params,
    extra: usize,
    epochs: usize,
) -> Vec<f32> {
    let _ = epochs;
    fit_logistic(&training_rows(ds, splits, base, extra))
}

/// Newton / IRLS logistic regression over training rows (see [`train`]).
#[allow(clippy::needless_range_loop)]
pub fn fit_logistic(rows: &[([f32; super::rank::NF], f32, f32)]) -> Vec<f32> {
    use super::rank::NF;
    let n = rows.len().max(1) as f32;
    let mut mean = [0.0f32; NF];
    let mut sd = [0.0f32; NF];
    for (x, _, _) in rows {
        for j in 0..NF {
            mean[j] += x[j] / n;
        }
    }
    for (x, _, _) in rows {
        for j in 0..NF {
            sd[j] += (x[j] - mean[j]).powi(2) / n;
        }
    }
    for v in &mut sd {
        *v = v.sqrt().max(1e-6);
    }
    // Newton's method (IRLS) on the standardised features with an L2
    // penalty: deterministic and converged, unlike SGD on so few positives.
    let l2: f64 = std::env::var("TRAIN_L2")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1e-5);
    const D: usize = NF + 1;
    let mut beta = [0.0f64; D];
    let xs_of = |x: &[f32; NF]| {
        let mut z = [0.0f64; D];
        for j in 0..NF {
            z[j] = ((x[j] - mean[j]) / sd[j]) as f64;
        }
        z[NF] = 1.0;
        z
    };
    for _ in 0..12 {
        let mut g = [0.0f64; D];
        let mut h = [[0.0f64; D]; D];
        let mut tw = 0.0f64;
        for (x, y, cw) in rows {
            let cw = *cw as f64;
            tw += cw;
            let z = xs_of(x);
            let eta: f64 = z.iter().zip(&beta).map(|(a, b)| a * b).sum();
            let pr = 1.0 / (1.0 + (-eta).exp());
            let wgt = cw * (pr * (1.0 - pr)).max(1e-9);
            for j in 0..D {
                g[j] += cw * (pr - *y as f64) * z[j];
                for k in 0..=j {
                    h[j][k] += wgt * z[j] * z[k];
                }
            }
        }
        for j in 0..D {
            for k in 0..j {
                h[k][j] = h[j][k];
            }
            if j < NF {
                g[j] += l2 * tw * beta[j];
                h[j][j] += l2 * tw;
            }
            h[j][j] += 1e-9;
        }
        let step = solve(h, g);
        let mut moved = 0.0f64;
        for j in 0..D {
            beta[j] -= step[j];
            moved = moved.max(step[j].abs());
        }
        if moved < 1e-6 {
            break;
        }
    }
    let w: Vec<f32> = beta[..NF].iter().map(|v| *v as f32).collect();
    let b = beta[NF] as f32;
    let mut out: Vec<f32> = (0..NF).map(|j| w[j] / sd[j]).collect();
    out.push(b - (0..NF).map(|j| w[j] * mean[j] / sd[j]).sum::<f32>());
    out
}

/// Solves `a x = b` (small, symmetric positive definite) by Gaussian
/// elimination with partial pivoting.
#[allow(clippy::needless_range_loop)]
fn solve<const D: usize>(mut a: [[f64; D]; D], mut b: [f64; D]) -> [f64; D] {
    for c in 0..D {
        let p = (c..D)
            .max_by(|x, y| a[*x][c].abs().total_cmp(&a[*y][c].abs()))
            .unwrap_or(c);
        a.swap(c, p);
        b.swap(c, p);
        let d = if a[c][c].abs() < 1e-12 {
            1e-12
        } else {
            a[c][c]
        };
        for r in c + 1..D {
            let f = a[r][c] / d;
            for k in c..D {
                a[r][k] -= f * a[c][k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = [0.0f64; D];
    for c in (0..D).rev() {
        let s: f64 = (c + 1..D).map(|k| a[c][k] * x[k]).sum();
        let d = if a[c][c].abs() < 1e-12 {
            1e-12
        } else {
            a[c][c]
        };
        x[c] = (b[c] - s) / d;
    }
    x
}
