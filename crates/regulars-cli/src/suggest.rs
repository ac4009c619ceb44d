//! `regulars eval offers`, `regulars suggest` and `regulars bench suggest`:
//! the suggestion engine measured on real data and exercised from a shell.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use regulars_core::suggest::engine::Engine;
use regulars_core::suggest::eval::{self, Evaluation, Report};
use regulars_core::suggest::rank::Params;

fn print_table(title: &str, rows: &[Report]) {
    println!("\n{title}");
    println!(
        "| method | recall@10 | NDCG@10 | hit@10 | explore recall | type recall@10 | type NDCG@10 | type hit@10 | type explore |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        let (p, t) = (&r.product, &r.product_type);
        println!(
            "| {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
            r.method,
            p.recall,
            p.ndcg,
            p.hit_rate,
            p.explore_recall,
            t.recall,
            t.ndcg,
            t.hit_rate,
            t.explore_recall
        );
    }
}

/// The TIFU-KNN style baseline: our model without cycle or popularity.
fn tifu_params() -> Params {
    Params {
        basket_decay: 0.9,
        neighbours: 300,
        alpha: 0.7,
        cycle_weight: 0.0,
        pop_weight: 0.0,
        repeat_power: 0.0,
        weights: Vec::new(),
        forest: false,
        ..Params::default()
    }
}

pub fn eval_offers(
    data: &Path,
    k: usize,
    validation: bool,
    tune: bool,
    params: Option<&str>,
    train: bool,
) -> Result<()> {
    let t = Instant::now();
    let ds = eval::load_completejourney(data)?;
    let load_s = t.elapsed().as_secs_f64();
    let (first, last) = if validation { (41, 44) } else { (45, 48) };
    let sp = eval::split(&ds, first, last, 3);
    println!(
        "{} households, {} products, {} baskets loaded in {load_s:.1} s; target weeks {first}-{last}, {} households with >= 3 history baskets",
        ds.households.len(),
        ds.product_refs.len(),
        ds.baskets.iter().map(Vec::len).sum::<usize>(),
        sp.cases.len()
    );
    if tune {
        return tune_params(&ds);
    }
    if train {
        // Rolling windows just before the evaluated weeks: never sees them.
        let n_windows: u32 = std::env::var("TRAIN_WINDOWS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2);
        let vs = eval::training_windows(&ds, first, n_windows, 4);
        let base: Params = match params {
            Some(j) => serde_json::from_str(j)?,
            None => Params::default(),
        };
        let t = Instant::now();
        let extra: usize = std::env::var("TRAIN_EXTRA")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(100);
        let epochs: usize = std::env::var("TRAIN_EPOCHS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3);
        if std::env::var("TRAIN_MODEL").as_deref() == Ok("gbdt") {
            // Boosted trees: `GBDT='{"trees":120,"depth":5}'` sets the fit,
            // `FOREST_OUT=path` keeps the forest (JSON, for rank's forest.json).
            // A JSON array of fits runs them all over the same rows.
            let cfgs: Vec<regulars_core::suggest::gbdt::FitConfig> = match std::env::var("GBDT") {
                Ok(j) if j.trim_start().starts_with('[') => serde_json::from_str(&j)?,
                Ok(j) => vec![serde_json::from_str(&j)?],
                Err(_) => vec![Default::default()],
            };
            // ROWS_CACHE=prefix keeps the candidate rows (slow to build) in
            // PREFIX.train (the windows) and PREFIX.eval (the evaluated
            // split) for further fits; the cache must be for the same split,
            // windows (at least as many) and TRAIN_EXTRA.
            let cache = std::env::var("ROWS_CACHE").ok();
            let all = cached_rows(cache.as_deref().map(|c| format!("{c}.train")), || {
                eval::candidate_rows(&ds, &vs, &base, extra)
            })?;
            let train_rows = all.filter(|s| s < n_windows);
            let rows = &train_rows.rows;
            println!(
                "{} training rows ({} households) in {:.1} s",
                rows.len(),
                train_rows.groups.len(),
                t.elapsed().as_secs_f64()
            );
            // FAST_EVAL=N: measure the evaluated split on its candidate rows
            // after every N trees instead of through the full scorer.
            let fast_every: usize = std::env::var("FAST_EVAL")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let eval_rows = if fast_every > 0 {
                Some(cached_rows(
                    cache.as_deref().map(|c| format!("{c}.eval")),
                    || eval::candidate_rows(&ds, std::slice::from_ref(&sp), &base, extra),
                )?)
            } else {
                None
            };
            // GBDT_INIT=linear: the trees start from the logistic fit.
            let init = if std::env::var("GBDT_INIT").as_deref() == Ok("linear") {
                eval::fit_logistic(rows)
            } else {
                Vec::new()
            };
            if !init.is_empty() {
                println!("weights json: {}", serde_json::to_string(&init)?);
            }
            // PREFILTER=N: only each household's N best candidates by the
            // logistic model are given to the trees (training and measuring);
            // the scorer does the same with `Params::tree_candidates`
            // (default rank::TREE_CANDIDATES; 0 = all).
            let prefilter: usize = std::env::var("PREFILTER")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(regulars_core::suggest::rank::TREE_CANDIDATES);
            let lin_z = |r: &eval::Rows| -> Vec<f32> {
                let f = regulars_core::suggest::gbdt::Forest {
                    linear: init.clone(),
                    ..Default::default()
                };
                r.rows.iter().map(|x| f.predict(&x.0)).collect()
            };
            let (train_rows, eval_rows) = if prefilter > 0 && !init.is_empty() {
                let tr = train_rows.top(&lin_z(&train_rows), prefilter);
                let er = eval_rows.map(|er| er.top(&lin_z(&er), prefilter));
                println!("prefilter {prefilter}: {} training rows", tr.rows.len());
                (tr, er)
            } else {
                (train_rows, eval_rows)
            };
            let rows = &train_rows.rows;
            for cfg in cfgs {
                let t = Instant::now();
                let mut z: Vec<f32> = eval_rows.as_ref().map_or(Vec::new(), |er| {
                    er.rows
                        .iter()
                        .map(|r| {
                            regulars_core::suggest::gbdt::Forest {
                                linear: init.clone(),
                                ..Default::default()
                            }
                            .predict(&r.0)
                        })
                        .collect()
                });
                if let Some(er) = &eval_rows {
                    let (r, n) = er.measure(&z, k);
                    println!("{cfg:?}\n  trees 0: recall {r:.4} ndcg {n:.4}");
                }
                let mut progress = |nt: usize, tree: &[regulars_core::suggest::gbdt::Node]| {
                    if let Some(er) = &eval_rows {
                        for (zi, r) in z.iter_mut().zip(&er.rows) {
                            *zi += regulars_core::suggest::gbdt::walk(tree, &r.0);
                        }
                        if nt.is_multiple_of(fast_every) {
                            let (r, n) = er.measure(&z, k);
                            println!(
                                "  trees {nt}: recall {r:.4} ndcg {n:.4} ({:.0} s)",
                                t.elapsed().as_secs_f64()
                            );
                        }
                    }
                };
                let f = regulars_core::suggest::gbdt::fit_groups(
                    rows,
                    &train_rows.groups,
                    &cfg,
                    &init,
                    &mut progress,
                );
                println!(
                    "forest: {} trees fitted in {:.1} s",
                    f.trees.len(),
                    t.elapsed().as_secs_f64()
                );
                if let Ok(out) = std::env::var("FOREST_OUT") {
                    std::fs::write(&out, serde_json::to_string(&f)?)?;
                    println!("forest written to {out}");
                }
                if fast_every > 0 {
                    continue;
                }
                let t = Instant::now();
                let r = eval::score_forest(&ds, &sp, k, &base, std::sync::Arc::new(f));
                print_table(
                    &format!(
                        "boosted trees {cfg:?} on weeks {first}-{last} ({:.1} s)",
                        t.elapsed().as_secs_f64()
                    ),
                    &[r],
                );
            }
            return Ok(());
        }
        let base = Params {
            forest: false,
            ..base
        };
        let w = eval::train(&ds, &vs, &base, extra, epochs);
        println!("weights json: {}", serde_json::to_string(&w)?);
        println!("trained in {:.1} s: {w:?}", t.elapsed().as_secs_f64());
        let p = Params { weights: w, ..base };
        let r = eval::score_params(&ds, &sp, k, &p);
        print_table(&format!("learned blend on weeks {first}-{last}"), &[r]);
        return Ok(());
    }
    if let Some(json) = params {
        // One parameter set only (for experiments): `--params '{"alpha":0.6}'`.
        // A JSON array runs several sets in one go.
        let sets: Vec<Params> = if json.trim_start().starts_with('[') {
            serde_json::from_str(json)?
        } else {
            vec![serde_json::from_str(json)?]
        };
        for p in sets {
            let t = Instant::now();
            let r = eval::score_params(&ds, &sp, k, &p);
            print_table(&format!("{p:?} ({:.1} s)", t.elapsed().as_secs_f64()), &[r]);
        }
        return Ok(());
    }
    let ev: Evaluation = eval::compare(&ds, &sp, k, &Params::default(), &tifu_params());
    print_table(
        &format!("Next basket, k = {k}, {} households", ev.households),
        &ev.reports,
    );
    print_table(
        &format!("Discovery: {k} never-bought items (explore recall is the figure)"),
        &ev.discovery,
    );
    println!(
        "\nbacktest over {} households in {:.1} s (plus {load_s:.1} s loading)",
        ev.households, ev.seconds
    );
    Ok(())
}

/// Candidate rows from `path` when it exists, else built and written there.
fn cached_rows(path: Option<String>, build: impl FnOnce() -> eval::Rows) -> Result<eval::Rows> {
    use regulars_core::suggest::gbdt::Group;
    use regulars_core::suggest::rank::NF;
    if let Some(p) = path.as_deref().filter(|p| Path::new(p).exists()) {
        let b = std::fs::read(p)?;
        let mut at = 0usize;
        let mut u32_ = || {
            let v = u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"));
            at += 4;
            v
        };
        let n_rows = u32_() as usize;
        let n_groups = u32_() as usize;
        let mut out = eval::Rows::default();
        for _ in 0..n_rows {
            let mut x = [0.0f32; NF];
            for v in &mut x {
                *v = f32::from_bits(u32_());
            }
            let y = f32::from_bits(u32_());
            let w = f32::from_bits(u32_());
            out.rows.push((x, y, w));
        }
        for _ in 0..n_groups {
            let (start, end, targets, split) = (u32_(), u32_(), u32_(), u32_());
            out.groups.push(Group {
                start,
                end,
                targets,
            });
            out.split.push(split);
        }
        return Ok(out);
    }
    let rows = build();
    if let Some(p) = path {
        let mut b: Vec<u8> = Vec::with_capacity(rows.rows.len() * (NF + 2) * 4 + 64);
        b.extend((rows.rows.len() as u32).to_le_bytes());
        b.extend((rows.groups.len() as u32).to_le_bytes());
        for (x, y, w) in &rows.rows {
            for v in x {
                b.extend(v.to_bits().to_le_bytes());
            }
            b.extend(y.to_bits().to_le_bytes());
            b.extend(w.to_bits().to_le_bytes());
        }
        for (g, s) in rows.groups.iter().zip(&rows.split) {
            for v in [g.start, g.end, g.targets, *s] {
                b.extend(v.to_le_bytes());
            }
        }
        std::fs::write(&p, b)?;
    }
    Ok(rows)
}

/// Coordinate search on the validation split (weeks 41-44 as target, history
/// before week 41): never looks at the test weeks.
fn tune_params(ds: &eval::Dataset) -> Result<()> {
    let sp = eval::split(ds, 41, 44, 3);
    let mut best = Params::default();
    let score = |p: &Params| {
        let r = eval::score_params(ds, &sp, 10, p).product;
        r.recall + r.ndcg
    };
    let mut best_s = score(&best);
    println!("start {best_s:.4} {best:?}");
    type Knob = (&'static str, fn(&mut Params, f32), &'static [f32]);
    let knobs: &[Knob] = &[
        (
            "basket_decay",
            |p, v| p.basket_decay = v,
            &[0.85, 0.9, 0.93, 0.95, 0.97, 0.99],
        ),
        ("alpha", |p, v| p.alpha = v, &[0.5, 0.6, 0.7, 0.8, 0.9]),
        (
            "neighbours",
            |p, v| p.neighbours = v as usize,
            &[50.0, 100.0, 300.0, 600.0],
        ),
        (
            "cycle_weight",
            |p, v| p.cycle_weight = v,
            &[0.0, 0.3, 0.6, 1.0, 1.5],
        ),
        (
            "cycle_width",
            |p, v| p.cycle_width = v,
            &[0.5, 0.8, 1.2, 2.0],
        ),
        (
            "single_weight",
            |p, v| p.single_weight = v,
            &[0.6, 0.8, 1.0],
        ),
        (
            "half_life_days",
            |p, v| p.half_life_days = v,
            &[0.0, 30.0, 90.0, 180.0],
        ),
        (
            "pop_weight",
            |p, v| p.pop_weight = v,
            &[0.0, 0.01, 0.03, 0.1],
        ),
        ("sim_power", |p, v| p.sim_power = v, &[1.0, 2.0, 4.0]),
    ];
    for round in 0..2 {
        for (name, set, vals) in knobs {
            for &v in *vals {
                let mut p = best.clone();
                set(&mut p, v);
                if p == best {
                    continue;
                }
                let s = score(&p);
                if s > best_s + 1e-5 {
                    println!("round {round}: {name} = {v}: {s:.4} (was {best_s:.4})");
                    best_s = s;
                    best = p;
                }
            }
        }
    }
    println!("best {best_s:.4} {best:?}");
    Ok(())
}

fn parse_at(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    let s = s.trim();
    if let Some(t) = regulars_core::store::parse_iso(s) {
        return Ok(t);
    }
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    }
    anyhow::bail!("'{s}' is not a time like 2017-11-01T10:00:00Z or 2017-11-01")
}

fn one(
    r: &regulars_core::Regulars,
    e: &Engine,
    who: &str,
    at: chrono::DateTime<chrono::Utc>,
    limit: usize,
) -> Result<serde_json::Value> {
    let id = r.resolve(who)?;
    let s = e.suggestions(r.store(), id, &[], at)?;
    let next: Vec<serde_json::Value> = e
        .ranked(id, at.timestamp(), limit)
        .into_iter()
        .map(|(p, score)| {
            let prod = r.store().product(p).ok();
            serde_json::json!({
                "product_id": p,
                "external_ref": prod.as_ref().and_then(|p| p.external_ref.clone()),
                "name": prod.map(|p| p.name),
                "score": score,
            })
        })
        .collect();
    let mut v = serde_json::to_value(&s)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("customer".into(), serde_json::json!(who));
        o.insert("next".into(), serde_json::json!(next));
    }
    Ok(v)
}

/// `regulars suggest`: what the till would have shown at `as_of`, using only
/// history strictly before it; `--batch FILE` reads `external_ref,as_of`
/// lines and writes one JSON line each (the neighbour model then uses only
/// sales before the earliest as_of).
pub fn suggest_cmd(
    db: &Path,
    customer: Option<&str>,
    as_of: Option<&str>,
    limit: usize,
    json: bool,
    batch: Option<&Path>,
) -> Result<()> {
    let r = regulars_core::Regulars::open(db)?;
    let mut jobs: Vec<(String, chrono::DateTime<chrono::Utc>)> = Vec::new();
    if let Some(file) = batch {
        let text = std::fs::read_to_string(file)?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || (n == 0 && line.starts_with("external_ref")) {
                continue;
            }
            let (who, at) = line.split_once(',').ok_or_else(|| {
                anyhow::anyhow!(
                    "{}, line {}: expected external_ref,as_of",
                    file.display(),
                    n + 1
                )
            })?;
            jobs.push((who.trim().to_string(), parse_at(at)?));
        }
    } else {
        let who =
            customer.ok_or_else(|| anyhow::anyhow!("give --customer ID_OR_REF or --batch FILE"))?;
        let at = match as_of {
            Some(a) => parse_at(a)?,
            None => chrono::Utc::now(),
        };
        jobs.push((who.to_string(), at));
    }
    let cutoff = jobs.iter().map(|j| j.1.timestamp()).min();
    let as_of_given = as_of.is_some() || batch.is_some();
    let e = Engine::build(r.store(), Params::default(), cutoff.filter(|_| as_of_given))?;
    for (who, at) in &jobs {
        let v = match one(&r, &e, who, *at, limit) {
            Ok(v) => v,
            Err(err) => serde_json::json!({"customer": who, "error": err.to_string()}),
        };
        if json || batch.is_some() {
            println!("{v}");
        } else {
            print_human(&v);
        }
    }
    Ok(())
}

fn print_human(v: &serde_json::Value) {
    let s = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or("").to_string();
    if let Some(e) = v.get("error") {
        println!("{}: {}", s(v, "customer"), e.as_str().unwrap_or(""));
        return;
    }
    println!(
        "{} at {} ({} points)",
        s(v, "customer"),
        s(v, "as_of"),
        v["points_balance"]
    );
    for p in v["prompts"].as_array().into_iter().flatten() {
        println!(
            "  say   [{:>3}] {}  ({})",
            p["priority"],
            s(p, "text"),
            s(p, "reason")
        );
    }
    for o in v["offers"].as_array().into_iter().flatten() {
        println!(
            "  offer [{:.2}] {}  ({})",
            o["score"].as_f64().unwrap_or(0.0),
            s(o, "text"),
            s(o, "reason")
        );
    }
    let next: Vec<String> = v["next"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| s(n, "name"))
        .collect();
    if !next.is_empty() {
        println!("  next basket: {}", next.join("; "));
    }
}

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

/// This process's resident and proportional set sizes in MB (0 where
/// /proc is unavailable): RSS from /proc/self/status, PSS from
/// /proc/self/smaps_rollup, the figure the start-up benchmark sums.
fn memory() -> (f64, f64) {
    let field = |path: &str, key: &str| -> f64 {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(key))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (
        field("/proc/self/status", "VmRSS:"),
        field("/proc/self/smaps_rollup", "Pss:"),
    )
}

/// `regulars bench suggest`: engine build time, then per-customer latency
/// of prompts + offers (the till's call) and of keeping the model current
/// after a sale, on an existing store (for example the imported Complete
/// Journey).
pub fn bench_suggest(db: &Path, customers: usize) -> Result<()> {
    let mut r = regulars_core::Regulars::open(db)?;
    let info = r.info()?;
    let before = memory();
    let t = Instant::now();
    r.warm_suggestions()?;
    let build = t.elapsed().as_secs_f64();
    let after = memory();
    let (n_cust, n_baskets, parts) = {
        let e = r.warm_suggestions()?;
        (e.customers(), e.baskets(), e.heap_estimate())
    };
    println!(
        "{}: {} customers, {} sales; engine built in {build:.2} s ({n_cust} customers with history, {n_baskets} baskets)",
        db.display(),
        info.customers,
        info.sales
    );
    println!(
        "process memory: before the build RSS {:.1} MB PSS {:.1} MB; after RSS {:.1} MB PSS {:.1} MB (engine +{:.1} MB RSS)",
        before.0,
        before.1,
        after.0,
        after.1,
        after.0 - before.0
    );
    let total: usize = parts.iter().map(|p| p.1).sum();
    println!(
        "engine heap estimate (capacity x element size, excluding allocator overhead): {:.1} MB",
        total as f64 / 1e6
    );
    for (name, bytes) in &parts {
        println!("  {name:<28} {:>7.1} MB", *bytes as f64 / 1e6);
    }
    let ids: Vec<regulars_core::ids::CustomerId> = r
        .store()
        .conn()
        .prepare("SELECT DISTINCT customer_id FROM sales WHERE customer_id IS NOT NULL ORDER BY customer_id LIMIT ?1")?
        .query_map([customers as i64], |x| x.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    anyhow::ensure!(
        !ids.is_empty(),
        "the store has no sales with customers; import or generate some first"
    );
    // Imported customers usually have no marketing consent, which skips the
    // scoring behind replenishment and discovery; measure both ways. The
    // consenting run changes the flag inside a transaction that is rolled
    // back, so the store is left as it was.
    for consent in [false, true] {
        if consent {
            r.store()
                .conn()
                .execute_batch("BEGIN; UPDATE customers SET marketing_consent = 1;")?;
        }
        let mut times = Vec::with_capacity(ids.len());
        let (mut prompts, mut offers) = (0usize, 0usize);
        for id in &ids {
            let t = Instant::now();
            let s = r.suggestions(*id, &[], None)?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            prompts += s.prompts.len();
            offers += s.offers.len();
        }
        println!(
            "suggestions, {} customers, consent {}: p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  target p99 <= 10 ms  ({:.1} prompts, {:.1} offers each)",
            times.len(),
            if consent { "yes" } else { "as stored" },
            pct(times.clone(), 0.5),
            pct(times.clone(), 0.99),
            pct(times, 1.0),
            prompts as f64 / ids.len() as f64,
            offers as f64 / ids.len() as f64
        );
        if consent {
            r.store().conn().execute_batch("ROLLBACK;")?;
        }
    }
    let idle = memory();
    println!(
        "process memory after the suggestions: RSS {:.1} MB PSS {:.1} MB",
        idle.0, idle.1
    );
    Ok(())
}
