//! `regulars eval offers`, `regulars suggest` and `regulars bench suggest`:
//! the suggestion engine measured on real data and exercised from a shell.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
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
            "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
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
        // Always on the validation split: never sees the test weeks.
        let vs = eval::split(&ds, 41, 44, 3);
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
        let w = eval::train(&ds, &vs, &base, extra, epochs);
        println!("trained in {:.1} s: {w:?}", t.elapsed().as_secs_f64());
        let p = Params { weights: w, ..base };
        let r = eval::score_params(&ds, &sp, k, &p);
        print_table(&format!("learned blend on weeks {first}-{last}"), &[r]);
        return Ok(());
    }
    if let Some(json) = params {
        // One parameter set only (for experiments): `--params '{"alpha":0.6}'`.
        let p: Params = serde_json::from_str(json)?;
        let t = Instant::now();
        let r = eval::score_params(&ds, &sp, k, &p);
        print_table(&format!("{p:?} ({:.1} s)", t.elapsed().as_secs_f64()), &[r]);
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
