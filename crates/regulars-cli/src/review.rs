//! `regulars dashboard | segments | overdue | offer-results | contacts |
//! contact-outcome` and `regulars bench review`: the owner's review and
//! "reach out" from the command line, over the same `Regulars` methods the
//! app calls. JSON output is one object per line.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use regulars_core::model::{ContactOutcome, DashboardChart};
use regulars_core::Regulars;

#[derive(Clone, Copy, ValueEnum)]
pub enum Chart {
    Totals,
    VisitsByHour,
    RevenueTrend,
    RevenueBySegment,
}

impl From<Chart> for DashboardChart {
    fn from(c: Chart) -> Self {
        match c {
            Chart::Totals => DashboardChart::Totals,
            Chart::VisitsByHour => DashboardChart::VisitsByHour,
            Chart::RevenueTrend => DashboardChart::RevenueTrend,
            Chart::RevenueBySegment => DashboardChart::RevenueBySegment,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Outcome {
    Called,
    Messaged,
    NoAnswer,
    NotInterested,
}

impl From<Outcome> for ContactOutcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Called => ContactOutcome::Called,
            Outcome::Messaged => ContactOutcome::Messaged,
            Outcome::NoAnswer => ContactOutcome::NoAnswer,
            Outcome::NotInterested => ContactOutcome::NotInterested,
        }
    }
}

#[derive(Subcommand)]
pub enum ReviewCmd {
    /// The owner's dashboard for a period (dates YYYY-MM-DD, inclusive).
    Dashboard {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// The shop's offset from UTC in minutes (60 for CET, -300 for EST).
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        utc_offset: i32,
        #[arg(long)]
        json: bool,
        /// Print one chart's data as CSV instead.
        #[arg(long, value_enum)]
        chart: Option<Chart>,
    },
    /// Customer segments (RFM) now and at each month's end before.
    Segments {
        /// The day (YYYY-MM-DD); default today.
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long, default_value_t = 12)]
        months: u32,
        #[arg(long)]
        json: bool,
    },
    /// Regulars late against their own rhythm.
    Overdue {
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Prompts and offers: used, shown, accepted, declined, revenue.
    OfferResults {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        json: bool,
    },
    /// Who to contact this week, with reasons and suggested messages.
    Contacts {
        #[arg(long)]
        as_of: Option<String>,
        /// Write the list as CSV (for a mail merge) to this file.
        #[arg(long)]
        csv: Option<std::path::PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Record what came of contacting someone on the list.
    ContactOutcome {
        /// Customer id or external reference.
        #[arg(long)]
        customer: String,
        /// The item's reason key, as `contacts` printed it.
        #[arg(long)]
        key: String,
        #[arg(long, value_enum)]
        outcome: Outcome,
        #[arg(long)]
        staff: Option<String>,
    },
}

fn money(cents: i64) -> String {
    format!("{:.2}", cents as f64 / 100.0)
}

fn change(now: i64, before: i64) -> String {
    if before == 0 {
        return "n/a".into();
    }
    format!("{:+.1} %", (now - before) as f64 * 100.0 / before as f64)
}

pub fn run(db: &Path, cmd: ReviewCmd) -> Result<()> {
    let open = || Regulars::open(db).with_context(|| format!("opening {}", db.display()));
    match cmd {
        ReviewCmd::Dashboard {
            from,
            to,
            utc_offset,
            json,
            chart,
        } => {
            let r = open()?;
            if let Some(c) = chart {
                print!("{}", r.dashboard_csv(&from, &to, utc_offset, c.into())?);
                return Ok(());
            }
            let d = r.dashboard(&from, &to, utc_offset)?;
            if json {
                println!("{}", serde_json::to_string(&d)?);
                return Ok(());
            }
            let (c, p) = (&d.current, &d.previous);
            println!("{} to {} (previous: {} to {})", c.from, c.to, p.from, p.to);
            println!(
                "  visits {} ({}), revenue {} ({}), average basket {} ({})",
                c.visits,
                change(c.visits.into(), p.visits.into()),
                money(c.revenue_cents),
                change(c.revenue_cents, p.revenue_cents),
                money(c.average_basket_cents),
                change(c.average_basket_cents, p.average_basket_cents)
            );
            println!(
                "  customers {}: {} new, {} returning; {} of {} visits by known customers",
                c.customers, c.new_customers, c.returning_customers, c.identified_visits, c.visits
            );
            println!("  revenue by segment (as of {}):", c.to);
            for s in &d.revenue_by_segment {
                println!(
                    "    {:<16} {:>6} customers {:>7} visits {:>12}",
                    s.segment.label(),
                    s.customers,
                    s.visits,
                    money(s.revenue_cents)
                );
            }
            let busiest = d
                .visits_by_hour
                .iter()
                .enumerate()
                .flat_map(|(w, row)| row.iter().enumerate().map(move |(h, n)| (*n, w, h)))
                .max();
            if let Some((n, w, h)) = busiest.filter(|b| b.0 > 0) {
                let day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][w];
                println!("  busiest hour: {day} {h:02}:00 ({n} visits)");
            }
            println!("  revenue by {}:", d.trend_step);
            for t in &d.revenue_trend {
                println!(
                    "    {}  {:>6} visits {:>12}",
                    t.start,
                    t.visits,
                    money(t.revenue_cents)
                );
            }
        }
        ReviewCmd::Segments {
            as_of,
            months,
            json,
        } => {
            let r = open()?;
            let s = r.segments(as_of.as_deref(), months)?;
            if json {
                println!("{}", serde_json::to_string(&s)?);
                return Ok(());
            }
            println!(
                "{} customers with visits; segments as of {}",
                s.customers, s.current.as_of
            );
            print!("{:<12}", "as of");
            for c in &s.current.counts {
                print!(" {:>15}", c.segment.label());
            }
            println!();
            for snap in &s.history {
                print!("{:<12}", snap.as_of);
                for c in &snap.counts {
                    print!(" {:>15}", c.customers);
                }
                println!();
            }
        }
        ReviewCmd::Overdue { as_of, limit, json } => {
            let r = open()?;
            for o in r.overdue(as_of.as_deref(), limit)? {
                if json {
                    println!("{}", serde_json::to_string(&o)?);
                } else {
                    println!(
                        "{:<28} usual basket {:>8}  {}  (id {})",
                        o.display_name,
                        money(o.usual_spend_cents),
                        o.reason,
                        o.customer_id
                    );
                }
            }
        }
        ReviewCmd::OfferResults { from, to, json } => {
            let r = open()?;
            let res = r.offer_results(&from, &to)?;
            if json {
                println!("{}", serde_json::to_string(&res)?);
                return Ok(());
            }
            println!("offers {} to {}:", res.from, res.to);
            for o in &res.offers {
                println!(
                    "  {:<24} shown {:>6}  accepted {:>6}  declined {:>6}  revenue {:>10} ({} sales)",
                    format!(
                        "{:?}{}",
                        o.kind,
                        o.campaign.as_deref().map(|c| format!(": {c}")).unwrap_or_default()
                    ),
                    o.shown,
                    o.accepted,
                    o.declined,
                    money(o.revenue_cents),
                    o.linked_sales
                );
            }
            println!("prompts:");
            for p in &res.prompts {
                println!(
                    "  {:<24} used {:>6}  not relevant {:>6}",
                    format!("{:?}", p.kind),
                    p.used,
                    p.not_relevant
                );
            }
        }
        ReviewCmd::Contacts { as_of, csv, json } => {
            let r = open()?;
            let list = r.contact_list(as_of.as_deref())?;
            if let Some(path) = csv {
                let text = regulars_core::review::contacts::to_csv(&list)?;
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("{} contacts written to {}", list.len(), path.display());
                return Ok(());
            }
            for i in &list {
                if json {
                    println!("{}", serde_json::to_string(i)?);
                } else {
                    println!(
                        "{:<28} {:<16} {}  [{}]\n    say: {}",
                        i.display_name,
                        i.phone.as_deref().or(i.email.as_deref()).unwrap_or(""),
                        i.reason_text,
                        i.reason_key,
                        i.suggested_message
                    );
                }
            }
        }
        ReviewCmd::ContactOutcome {
            customer,
            key,
            outcome,
            staff,
        } => {
            let mut r = open()?;
            let id = r.resolve(&customer)?;
            r.record_contact_outcome(id, &key, outcome.into(), staff.as_deref())?;
            println!("recorded");
        }
    }
    Ok(())
}

/// Milliseconds this thread has run on a CPU (Linux; 0 elsewhere): on a
/// shared, loaded machine wall time includes waiting for a core, and this
/// shows what the computation itself costs.
fn cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e6)
}

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

/// `regulars bench review`: dashboard for a month, segments with a year of
/// monthly history, every overdue regular and the contact list, each timed
/// `runs` times cold and warm on the store as it is (nothing is changed:
/// one setting is rewritten with its own value, the consent run is rolled
/// back).
pub fn bench(db: &Path, as_of: Option<String>, runs: usize) -> Result<()> {
    let r = Regulars::open(db).with_context(|| format!("opening {}", db.display()))?;
    let info = r.info()?;
    let last: Option<String> =
        r.store()
            .conn()
            .query_row("SELECT max(completed_at) FROM sales", [], |x| x.get(0))?;
    let as_of = match as_of {
        Some(d) => d,
        None => last
            .as_deref()
            .and_then(|s| s.get(..10))
            .map(String::from)
            .context("the store has no sales; import or generate some first")?,
    };
    let d = regulars_core::review::parse_date("as_of", &as_of)?;
    // The last whole month before the as-of day.
    use chrono::Datelike;
    let first_this = d.with_day(1).context("date")?;
    let to = first_this.pred_opt().context("date")?;
    let from = to.with_day(1).context("date")?;
    let (from, to) = (from.to_string(), to.to_string());
    let lines: i64 = r
        .store()
        .conn()
        .query_row("SELECT count(*) FROM sale_lines", [], |x| x.get(0))?;
    println!(
        "{}: {} customers, {} sales, {} sale lines; as of {as_of}, month {from} to {to}, {runs} runs each",
        db.display(),
        info.customers,
        info.sales,
        lines
    );
    let runs = runs.max(1);
    // "cold": the first call after a write (a sale was rung up, so every
    // visit is read again); "warm": nothing written since the last call
    // (the owner flipping between periods and lists). A cold run is forced
    // by rewriting one setting with its own value.
    let touch = || {
        r.store().conn().execute(
            "UPDATE settings SET value = value WHERE key = 'device_id'",
            [],
        )
    };
    let time = |what: &str, target: &str, f: &mut dyn FnMut() -> Result<String>| -> Result<()> {
        for cold in [true, false] {
            let mut t = Vec::with_capacity(runs);
            let mut cpu = Vec::with_capacity(runs);
            let mut size = String::new();
            for _ in 0..runs {
                if cold {
                    touch()?;
                }
                let (s, c) = (Instant::now(), cpu_ms());
                size = f()?;
                t.push(s.elapsed().as_secs_f64() * 1e3);
                cpu.push(cpu_ms() - c);
            }
            println!(
                "{:<46} p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms  (on CPU p50 {:>5.1} ms)  target {target}  ({size})",
                format!("{what}, {}", if cold { "cold" } else { "warm" }),
                pct(t.clone(), 0.5),
                pct(t.clone(), 0.99),
                pct(t, 1.0),
                pct(cpu, 0.5)
            );
        }
        Ok(())
    };
    time(
        "dashboard, a month + the one before",
        "< 100 ms",
        &mut || {
            let x = r.dashboard(&from, &to, 0)?;
            Ok(format!(
                "{} visits, {} customers",
                x.current.visits, x.current.customers
            ))
        },
    )?;
    time(
        "segments, all customers, 12 month-ends",
        "<= 1 s",
        &mut || {
            let x = r.segments(Some(&as_of), 12)?;
            Ok(format!("{} customers", x.customers))
        },
    )?;
    time("overdue, all customers", "<= 1 s", &mut || {
        let x = r.overdue(Some(&as_of), usize::MAX)?;
        Ok(format!("{} overdue", x.len()))
    })?;
    time("contact list, as stored", "<= 1 s", &mut || {
        let x = r.contact_list(Some(&as_of))?;
        Ok(format!("{} items", x.len()))
    })?;
    // Imported customers usually have no consent and no phone or email, so
    // the list is empty; measure it with everyone consenting and reachable,
    // inside a transaction that is rolled back (the store is left as it was).
    r.store().conn().execute_batch(
        "BEGIN; UPDATE customers SET marketing_consent = 1,
             email = coalesce(email, 'bench@example.invalid');",
    )?;
    let all = time("contact list, everyone consenting", "<= 1 s", &mut || {
        let x = r.contact_list(Some(&as_of))?;
        Ok(format!("{} items", x.len()))
    });
    r.store().conn().execute_batch("ROLLBACK;")?;
    all
}
