//! A small gradient-boosted tree ensemble (Newton leaves, histogram
//! splits) with two objectives: pointwise logistic loss (the one in use)
//! and LambdaMART (pairwise, per household, weighted by the NDCG@k change;
//! tried, not better, kept for further experiments). The non-linear ranker
//! over the features of [`super::rank`]. Owns fitting and prediction over
//! plain rows; it does not know what the features mean, nor where the rows
//! come from (training windows are built by [`super::eval`]).
//!
//! Deterministic: fixed-seed negative sampling, ties broken by feature and
//! bin order. Prediction walks a few hundred depth-4 trees, for a few dozen
//! candidates per customer (the scorer pre-ranks with the linear start), so
//! serving stays cheap.

use serde::{Deserialize, Serialize};

/// One node: a split (`feature` < `threshold` goes left) or a leaf.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Feature index; `u16::MAX` for a leaf.
    pub f: u16,
    /// Split threshold (raw feature value).
    pub t: f32,
    pub l: u32,
    pub r: u32,
    /// Leaf value (log-odds contribution).
    pub v: f32,
}

/// Boosted trees: `base + linear(x) + sum(tree(x))` is the log-odds of a
/// purchase. The trees may start from a linear model (`linear`: weights,
/// bias last; empty = none) and correct what it cannot express.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    pub base: f32,
    #[serde(default)]
    pub linear: Vec<f32>,
    pub trees: Vec<Vec<Node>>,
}

impl Forest {
    /// Log-odds for one feature row.
    pub fn predict(&self, x: &[f32]) -> f32 {
        self.linear_part(x) + self.trees_part(x)
    }

    /// The base and the linear start's log-odds.
    pub fn linear_part(&self, x: &[f32]) -> f32 {
        self.base + linear(&self.linear, x)
    }

    /// What the trees add to [`Forest::linear_part`].
    pub fn trees_part(&self, x: &[f32]) -> f32 {
        self.trees.iter().map(|t| walk(t, x)).sum()
    }
}

fn linear(w: &[f32], x: &[f32]) -> f32 {
    match w.split_last() {
        Some((b, w)) if w.len() == x.len() => b + w.iter().zip(x).map(|(a, b)| a * b).sum::<f32>(),
        _ => 0.0,
    }
}

/// Fitting settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FitConfig {
    pub trees: usize,
    pub depth: usize,
    pub learning_rate: f32,
    /// L2 on leaf values (in hessian units).
    pub lambda: f64,
    /// A child needs at least this much hessian.
    pub min_hessian: f64,
    /// Share of negative rows kept (reweighted), for speed.
    pub negative_rate: f64,
    pub bins: usize,
    pub objective: Objective,
    /// Lambdarank: pairs count only when the better-ranked one is in the
    /// top this many (the k of NDCG@k).
    pub truncation: usize,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            trees: 120,
            depth: 5,
            learning_rate: 0.1,
            lambda: 1.0,
            min_hessian: 1.0,
            negative_rate: 0.2,
            bins: 48,
            objective: Objective::Logloss,
            truncation: 10,
        }
    }
}

/// A tiny deterministic generator (xorshift64*), for negative sampling.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What the trees minimise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Pointwise logistic loss (each candidate on its own).
    #[default]
    Logloss,
    /// LambdaMART: per-household pairwise gradients, each (bought, not
    /// bought) pair weighted by the NDCG@`truncation` its swap would change.
    Lambdarank,
}

/// One household's candidates in the rows: `start..end`, and the size of its
/// whole target basket (also the bought items no candidate covers, so the
/// ideal DCG is the evaluation's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Group {
    pub start: u32,
    pub end: u32,
    pub targets: u32,
}

/// Fits a forest to rows of (features, label 0/1, weight) with the
/// pointwise logistic loss.
pub fn fit<X: AsRef<[f32]>>(rows: &[(X, f32, f32)], cfg: &FitConfig, init: &[f32]) -> Forest {
    fit_groups(rows, &[], cfg, init, &mut |_, _| {})
}

/// Fits a forest; `groups` (households, in row order) are needed by
/// [`Objective::Lambdarank`] and ignored by the log loss. `progress` sees
/// each tree as it is added (with its number, from 1), e.g. to measure a
/// held-out split after every few trees.
#[allow(clippy::needless_range_loop)]
pub fn fit_groups<X: AsRef<[f32]>>(
    rows: &[(X, f32, f32)],
    groups: &[Group],
    cfg: &FitConfig,
    init: &[f32],
    progress: &mut dyn FnMut(usize, &[Node]),
) -> Forest {
    let nf = rows.first().map_or(0, |r| r.0.as_ref().len());
    let ranking = cfg.objective == Objective::Lambdarank;
    // Keep every positive, a fixed-seed sample of negatives (reweighted);
    // a ranking objective needs every candidate of a household.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let kept: Vec<usize> = (0..rows.len())
        .filter(|&i| ranking || rows[i].1 > 0.5 || rng.unit() < cfg.negative_rate)
        .collect();
    let n = kept.len();
    if n == 0 || nf == 0 {
        return Forest::default();
    }
    let y: Vec<f64> = kept.iter().map(|&i| rows[i].1 as f64).collect();
    let w: Vec<f64> = kept
        .iter()
        .map(|&i| {
            let r = &rows[i];
            r.2 as f64
                * if ranking || r.1 > 0.5 {
                    1.0
                } else {
                    1.0 / cfg.negative_rate
                }
        })
        .collect();
    // Quantile thresholds per feature (from every kept row), then bins.
    let mut thresholds: Vec<Vec<f32>> = Vec::with_capacity(nf);
    let mut binned: Vec<Vec<u8>> = Vec::with_capacity(nf);
    for f in 0..nf {
        let mut vals: Vec<f32> = kept.iter().map(|&i| rows[i].0.as_ref()[f]).collect();
        vals.sort_unstable_by(f32::total_cmp);
        let mut th: Vec<f32> = (1..cfg.bins)
            .map(|b| vals[b * vals.len() / cfg.bins])
            .collect();
        th.dedup();
        th.retain(|t| *t > vals[0]);
        let col: Vec<u8> = kept
            .iter()
            .map(|&i| th.partition_point(|t| *t <= rows[i].0.as_ref()[f]) as u8)
            .collect();
        thresholds.push(th);
        binned.push(col);
    }
    let pos: f64 = y.iter().zip(&w).map(|(a, b)| a * b).sum();
    let tot: f64 = w.iter().sum();
    let p0 = (pos / tot).clamp(1e-6, 1.0 - 1e-6);
    let base = if init.is_empty() && !ranking {
        (p0 / (1.0 - p0)).ln()
    } else {
        0.0
    };
    let mut z: Vec<f64> = kept
        .iter()
        .map(|&i| base + linear(init, rows[i].0.as_ref()) as f64)
        .collect();
    let mut g = vec![0.0f64; n];
    let mut h = vec![0.0f64; n];
    let mut trees = Vec::with_capacity(cfg.trees);
    let mut order: Vec<u32> = Vec::new();
    for t in 0..cfg.trees {
        if ranking {
            // Every row is kept, so kept index = row index and the groups
            // index z directly.
            g.fill(0.0);
            h.fill(0.0);
            for gr in groups {
                lambda_gradients(gr, &z, &y, cfg.truncation, &mut order, &mut g, &mut h);
            }
        } else {
            for i in 0..n {
                let p = 1.0 / (1.0 + (-z[i]).exp());
                g[i] = w[i] * (p - y[i]);
                h[i] = w[i] * (p * (1.0 - p)).max(1e-12);
            }
        }
        let nodes = grow_tree(&thresholds, &binned, &g, &h, n, cfg);
        // Update the margins with the new tree.
        for (k, &i) in kept.iter().enumerate() {
            z[k] += walk(&nodes, rows[i].0.as_ref()) as f64;
        }
        progress(t + 1, &nodes);
        trees.push(nodes);
    }
    Forest {
        base: base as f32,
        linear: init.to_vec(),
        trees,
    }
}

/// The leaf value one tree gives a row.
pub fn walk(nodes: &[Node], x: &[f32]) -> f32 {
    let mut n = 0usize;
    loop {
        let node = &nodes[n];
        if node.f == u16::MAX {
            return node.v;
        }
        n = if x[node.f as usize] < node.t {
            node.l as usize
        } else {
            node.r as usize
        };
    }
}

/// LambdaMART gradients of one household (binary gains): for each pair of
/// a bought and a not-bought candidate with the better-ranked of the two in
/// the top `truncation`, the logistic pair loss weighted by |delta NDCG| of
/// swapping them.
#[allow(clippy::too_many_arguments)]
fn lambda_gradients(
    gr: &Group,
    z: &[f64],
    y: &[f64],
    truncation: usize,
    order: &mut Vec<u32>,
    g: &mut [f64],
    h: &mut [f64],
) {
    let (s, e) = (gr.start as usize, gr.end as usize);
    let k = truncation.max(1);
    let ideal: f64 = (0..(gr.targets as usize).min(k))
        .map(|p| 1.0 / ((p + 2) as f64).log2())
        .sum();
    if ideal <= 0.0 || !(s..e).any(|i| y[i] > 0.5) {
        return;
    }
    order.clear();
    order.extend(s as u32..e as u32);
    order.sort_unstable_by(|a, b| z[*b as usize].total_cmp(&z[*a as usize]).then(a.cmp(b)));
    let disc = |r: usize| {
        if r < k {
            1.0 / ((r + 2) as f64).log2()
        } else {
            0.0
        }
    };
    for (ri, &i) in order.iter().enumerate() {
        let i = i as usize;
        if ri >= k {
            break;
        }
        for (rj, &j) in order.iter().enumerate().skip(ri + 1) {
            let j = j as usize;
            if (y[i] > 0.5) == (y[j] > 0.5) {
                continue;
            }
            // hi = the bought one, lo = the other.
            let (hi, lo) = if y[i] > 0.5 { (i, j) } else { (j, i) };
            let delta = (disc(ri) - disc(rj)).abs() / ideal;
            let rho = 1.0 / (1.0 + (z[hi] - z[lo]).exp());
            // Every household counts the same (NDCG is per household).
            let wt = delta;
            g[hi] -= wt * rho;
            g[lo] += wt * rho;
            let hh = (wt * rho * (1.0 - rho)).max(1e-12);
            h[hi] += hh;
            h[lo] += hh;
        }
    }
}

/// One tree by histogram splits on the gradients (depth-first, Newton leaves
/// shrunk by the learning rate).
#[allow(clippy::needless_range_loop)]
fn grow_tree(
    thresholds: &[Vec<f32>],
    binned: &[Vec<u8>],
    g: &[f64],
    h: &[f64],
    n: usize,
    cfg: &FitConfig,
) -> Vec<Node> {
    let nf = thresholds.len();
    let mut nodes: Vec<Node> = Vec::new();
    // Depth-first over (node index, its rows, depth).
    let mut stack: Vec<(usize, Vec<u32>, usize)> = vec![(0, (0..n as u32).collect(), 0)];
    nodes.push(leaf(0.0));
    let mut hg = vec![0.0f64; 256];
    let mut hh = vec![0.0f64; 256];
    while let Some((id, idx, depth)) = stack.pop() {
        let (sg, sh) = idx.iter().fold((0.0, 0.0), |a, &i| {
            (a.0 + g[i as usize], a.1 + h[i as usize])
        });
        let value = -sg / (sh + cfg.lambda);
        nodes[id] = leaf((value * cfg.learning_rate as f64) as f32);
        if depth >= cfg.depth || sh < 2.0 * cfg.min_hessian {
            continue;
        }
        let parent_gain = sg * sg / (sh + cfg.lambda);
        let mut best: Option<(f64, usize, usize)> = None;
        for f in 0..nf {
            let nb = thresholds[f].len() + 1;
            if nb < 2 {
                continue;
            }
            hg[..nb].fill(0.0);
            hh[..nb].fill(0.0);
            let col = &binned[f];
            for &i in &idx {
                let b = col[i as usize] as usize;
                hg[b] += g[i as usize];
                hh[b] += h[i as usize];
            }
            let (mut lg, mut lh) = (0.0, 0.0);
            for b in 0..nb - 1 {
                lg += hg[b];
                lh += hh[b];
                let (rg, rh) = (sg - lg, sh - lh);
                if lh < cfg.min_hessian || rh < cfg.min_hessian {
                    continue;
                }
                let gain = lg * lg / (lh + cfg.lambda) + rg * rg / (rh + cfg.lambda) - parent_gain;
                if gain > 1e-9 && best.is_none_or(|bb| gain > bb.0) {
                    best = Some((gain, f, b));
                }
            }
        }
        let Some((_, f, b)) = best else {
            continue;
        };
        let col = &binned[f];
        let (left, right): (Vec<u32>, Vec<u32>) = idx
            .into_iter()
            .partition(|&i| col[i as usize] as usize <= b);
        let (l, r) = (nodes.len(), nodes.len() + 1);
        nodes.push(leaf(0.0));
        nodes.push(leaf(0.0));
        nodes[id] = Node {
            f: f as u16,
            t: thresholds[f][b],
            l: l as u32,
            r: r as u32,
            v: 0.0,
        };
        stack.push((r, right, depth + 1));
        stack.push((l, left, depth + 1));
    }
    nodes
}

fn leaf(v: f32) -> Node {
    Node {
        f: u16::MAX,
        t: 0.0,
        l: 0,
        r: 0,
        v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_sharp_interaction() {
        // y = 1 exactly when both x0 and x1 are below 0.5 (AND).
        let mut rows = Vec::new();
        for i in 0..40 {
            for j in 0..40 {
                let (a, b) = (i as f32 / 40.0, j as f32 / 40.0);
                let y = f32::from(a < 0.5 && b < 0.5);
                rows.push((vec![a, b], y, 1.0));
            }
        }
        let cfg = FitConfig {
            trees: 30,
            depth: 2,
            negative_rate: 1.0,
            learning_rate: 0.3,
            ..FitConfig::default()
        };
        let f = fit(&rows, &cfg, &[]);
        assert!(f.predict(&[0.1, 0.2]) > 1.0);
        assert!(f.predict(&[0.9, 0.8]) < -1.0);
        assert!(f.predict(&[0.1, 0.8]) < -1.0);
        assert!(f.predict(&[0.9, 0.2]) < -1.0);
        // Deterministic: the same rows give the same forest.
        assert_eq!(f, fit(&rows, &cfg, &[]));
    }

    #[test]
    fn lambdarank_puts_each_households_bought_items_first() {
        // 40 households of 12 candidates; bought = x1 high. The linear start
        // ranks by x0, which says nothing; the trees must learn x1.
        let mut rng = Rng(7);
        let (mut rows, mut groups) = (Vec::new(), Vec::new());
        for _ in 0..40 {
            let start = rows.len() as u32;
            for j in 0..12 {
                let x1 = rng.unit() as f32;
                let y = f32::from(x1 > 0.75 || j == 0);
                rows.push((
                    vec![rng.unit() as f32, if j == 0 { 0.9 } else { x1 }],
                    y,
                    1.0,
                ));
            }
            let targets = rows[start as usize..].iter().filter(|r| r.1 > 0.5).count();
            groups.push(Group {
                start,
                end: rows.len() as u32,
                targets: targets as u32,
            });
        }
        let cfg = FitConfig {
            trees: 20,
            depth: 2,
            learning_rate: 0.3,
            min_hessian: 0.01,
            objective: Objective::Lambdarank,
            truncation: 3,
            ..FitConfig::default()
        };
        let init = [1.0, 0.0, 0.0];
        let mut seen = 0;
        let f = fit_groups(&rows, &groups, &cfg, &init, &mut |n, _| seen = n);
        assert_eq!(seen, 20);
        // The best-scored candidate of every household is a bought one.
        for g in &groups {
            let best = (g.start..g.end)
                .max_by(|a, b| {
                    let p = |i: u32| f.predict(&rows[i as usize].0);
                    p(*a).total_cmp(&p(*b))
                })
                .expect("candidates");
            assert_eq!(rows[best as usize].1, 1.0);
        }
        assert_eq!(f, fit_groups(&rows, &groups, &cfg, &init, &mut |_, _| {}));
    }

    #[test]
    fn trees_start_from_the_linear_model() {
        let rows: Vec<(Vec<f32>, f32, f32)> = (0..200)
            .map(|i| (vec![i as f32 / 200.0], f32::from(i >= 100), 1.0))
            .collect();
        let cfg = FitConfig {
            trees: 0,
            ..FitConfig::default()
        };
        let f = fit(&rows, &cfg, &[2.0, -1.0]);
        assert_eq!(f.base, 0.0);
        assert!((f.predict(&[0.5]) - 0.0).abs() < 1e-6);
        assert!((f.predict(&[1.0]) - 1.0).abs() < 1e-6);
    }
}
