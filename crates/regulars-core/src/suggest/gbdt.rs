//! A small gradient-boosted tree ensemble (logistic loss, Newton leaves,
//! histogram splits): the non-linear ranker over the repeat features of
//! [`super::rank`]. Owns fitting and prediction over plain rows; it does not
//! know what the features mean, nor where the rows come from (training
//! windows are built by [`super::eval`]).
//!
//! Deterministic: fixed-seed negative sampling, ties broken by feature and
//! bin order. Prediction walks ~100 shallow trees per candidate, so serving
//! stays cheap.

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
        let mut z = self.base + linear(&self.linear, x);
        for t in &self.trees {
            let mut n = 0usize;
            loop {
                let node = &t[n];
                if node.f == u16::MAX {
                    z += node.v;
                    break;
                }
                n = if x[node.f as usize] < node.t {
                    node.l as usize
                } else {
                    node.r as usize
                };
            }
        }
        z
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

/// Fits a forest to rows of (features, label 0/1, weight).
#[allow(clippy::needless_range_loop)]
pub fn fit<X: AsRef<[f32]>>(rows: &[(X, f32, f32)], cfg: &FitConfig, init: &[f32]) -> Forest {
    let nf = rows.first().map_or(0, |r| r.0.as_ref().len());
    // Keep every positive, a fixed-seed sample of negatives (reweighted).
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let kept: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].1 > 0.5 || rng.unit() < cfg.negative_rate)
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
                * if r.1 > 0.5 {
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
    let base = if init.is_empty() {
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
    for _ in 0..cfg.trees {
        for i in 0..n {
            let p = 1.0 / (1.0 + (-z[i]).exp());
            g[i] = w[i] * (p - y[i]);
            h[i] = w[i] * (p * (1.0 - p)).max(1e-12);
        }
        let mut nodes: Vec<Node> = Vec::new();
        // Depth-first over (node index, its rows, depth).
        let mut stack: Vec<(usize, Vec<u32>, usize)> = vec![(0, (0..n as u32).collect(), 0)];
        nodes.push(leaf(0.0));
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
            let mut hg = vec![0.0f64; 256];
            let mut hh = vec![0.0f64; 256];
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
                    let gain =
                        lg * lg / (lh + cfg.lambda) + rg * rg / (rh + cfg.lambda) - parent_gain;
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
        // Update the margins with the new tree.
        for (k, &i) in kept.iter().enumerate() {
            let x = rows[i].0.as_ref();
            let mut nidx = 0usize;
            loop {
                let node = &nodes[nidx];
                if node.f == u16::MAX {
                    z[k] += node.v as f64;
                    break;
                }
                nidx = if x[node.f as usize] < node.t {
                    node.l as usize
                } else {
                    node.r as usize
                };
            }
        }
        trees.push(nodes);
    }
    Forest {
        base: base as f32,
        linear: init.to_vec(),
        trees,
    }
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
