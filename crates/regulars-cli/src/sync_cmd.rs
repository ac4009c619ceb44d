//! `regulars enroll`, `regulars sync` and `regulars sync-status`: the till's
//! side of sync from the command line, for a till without a window, support
//! and the process-level tests. The same core and client as the app.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use regulars_core::Regulars;
use regulars_sync::client::{self, Client};
use regulars_sync::protocol::EnrollRequest;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the network runtime")
}

pub fn enroll(db: &Path, server: &str, code: &str, name: &str, json: bool) -> Result<()> {
    let mut r = super::open(db)?;
    let client = Client::new(server, None)?;
    let req = EnrollRequest {
        code: code.trim().to_string(),
        device_name: name.to_string(),
        device_id: r.store().device().as_uuid(),
    };
    let resp = runtime()?.block_on(client.enroll(&req))?;
    r.save_enrolment(client.base(), &resp)?;
    let s = r.sync_status()?;
    if json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!(
            "enrolled with {} as device {} of {}",
            client.base(),
            resp.device_number,
            resp.store_name
        );
    }
    Ok(())
}

fn round(r: &mut Regulars, rt: &tokio::runtime::Runtime) -> Result<client::SyncReport> {
    let (url, token) = r.sync_credentials()?;
    let client = Client::new(&url, Some(token))?;
    match rt.block_on(client::sync_once(&client, r)) {
        Ok(rep) => Ok(rep),
        Err(e) => {
            let _ = r.record_sync_error(&e.to_string());
            Err(e.into())
        }
    }
}

/// One round, or with `every` a round every so often (`rounds` of them, 0 =
/// until interrupted), backing off after failures.
pub fn sync(db: &Path, every: Option<u64>, rounds: u64, json: bool) -> Result<()> {
    let mut r = super::open(db)?;
    let rt = runtime()?;
    let Some(every) = every else {
        let rep = round(&mut r, &rt)?;
        print_report(&rep, &r, json)?;
        return Ok(());
    };
    let mut failures = 0u32;
    let mut n = 0u64;
    loop {
        n += 1;
        let wait = match round(&mut r, &rt) {
            Ok(rep) => {
                failures = 0;
                print_report(&rep, &r, json)?;
                Duration::from_secs(every)
            }
            Err(e) => {
                eprintln!("sync failed: {e:#}");
                failures += 1;
                client::backoff(failures - 1, client::now_ms())
                    .min(Duration::from_secs(every.max(1) * 10))
            }
        };
        if rounds != 0 && n >= rounds {
            return Ok(());
        }
        std::thread::sleep(wait);
    }
}

fn print_report(rep: &client::SyncReport, r: &Regulars, json: bool) -> Result<()> {
    let s = r.sync_status()?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "pushed": rep.pushed, "rejected": rep.rejected, "pulled": rep.pulled,
                "pending": s.pending, "cursor": s.cursor,
            })
        );
    } else {
        println!(
            "pushed {}, rejected {}, pulled {}; {} waiting",
            rep.pushed, rep.rejected, rep.pulled, s.pending
        );
    }
    Ok(())
}

pub fn status(db: &Path, json: bool) -> Result<()> {
    let r = super::open(db)?;
    let s = r.sync_status()?;
    if json {
        println!("{}", serde_json::to_string(&s)?);
    } else if !s.enrolled {
        println!("not enrolled; {} changes waiting", s.pending);
    } else {
        println!(
            "server {} ({}), device {}: {} waiting, {} rejected, {} conflicts; last push {}, last pull {}{}",
            s.server.as_deref().unwrap_or("?"),
            s.store_name.as_deref().unwrap_or("?"),
            s.device_number.unwrap_or(0),
            s.pending,
            s.rejected,
            s.conflicts,
            s.last_push_at.as_deref().unwrap_or("never"),
            s.last_pull_at.as_deref().unwrap_or("never"),
            s.last_error
                .as_deref()
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// `regulars bench sync`: on a copy of an existing store (for example the
/// imported Complete Journey), with a real `regulars-server` (the binary
/// beside this one) on 127.0.0.1 and a temporary data folder:
/// 1. the store pushes its whole backlog (throughput);
/// 2. a new, empty till bootstraps from the server (the issue's <= 30 s);
/// 3. `sales` single sales, each timed from completion on this till until
///    the other till holds it, both syncing at once as the app does after a
///    sale (the issue's <= 1 s).
pub fn bench(db: &Path, sales: usize) -> Result<()> {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::Instant;

    let server_bin = std::env::current_exe()?.with_file_name("regulars-server");
    anyhow::ensure!(
        server_bin.exists(),
        "{} is missing: build it (cargo build --release -p regulars-server)",
        server_bin.display()
    );
    let tmp = std::env::temp_dir().join(format!("regulars-bench-sync-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let mut server = Command::new(&server_bin)
        .arg("--data")
        .arg(tmp.join("server"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting regulars-server")?;
    let result = (|| -> Result<()> {
        let mut line = String::new();
        BufReader::new(server.stdout.take().context("server stdout")?).read_line(&mut line)?;
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .context("the server did not say where it listens")?
            .to_string();
        let code = || -> Result<String> {
            let out = Command::new(&server_bin)
                .arg("--data")
                .arg(tmp.join("server"))
                .args(["enroll", "--store", "Bench"])
                .output()?;
            Ok(String::from_utf8(out.stdout)?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string())
        };
        let rt = runtime()?;
        let mut a = super::open(db)?;
        let mut b = Regulars::open(&tmp.join("new-till.db"))?;
        for (r, name) in [(&mut a, "A"), (&mut b, "B")] {
            let c = Client::new(&url, None)?;
            let e = rt.block_on(c.enroll(&EnrollRequest {
                code: code()?,
                device_name: name.into(),
                device_id: r.store().device().as_uuid(),
            }))?;
            r.save_enrolment(&url, &e)?;
        }
        let waiting = a.sync_status()?.pending;
        let t = Instant::now();
        let rep = round(&mut a, &rt)?;
        let push_s = t.elapsed().as_secs_f64();
        println!(
            "push backlog: {} changes in {:.1} s ({:.0} changes/s), {} rejected",
            waiting,
            push_s,
            rep.pushed as f64 / push_s,
            rep.rejected
        );
        let t = Instant::now();
        let rep = round(&mut b, &rt)?;
        let boot_s = t.elapsed().as_secs_f64();
        let lines: i64 =
            b.store()
                .conn()
                .query_row("SELECT count(*) FROM sale_lines", [], |r| r.get(0))?;
        let info = b.info()?;
        println!(
            "bootstrap of a new till: {} changes -> {} customers, {} sales, {} lines in {:.1} s (target 30 s)",
            rep.pulled, info.customers, info.sales, lines, boot_s
        );
        // One sale, completed on A, until B holds it.
        let customers: Vec<regulars_core::ids::CustomerId> = a
            .store()
            .conn()
            .prepare("SELECT id FROM customers ORDER BY id LIMIT 500")?
            .query_map([], |r| r.get::<_, String>(0))?
            .filter_map(|s| s.ok()?.parse().ok())
            .collect();
        let product: Option<regulars_core::ids::ProductId> = a
            .store()
            .conn()
            .query_row("SELECT id FROM products LIMIT 1", [], |r| {
                r.get::<_, String>(0)
            })
            .ok()
            .and_then(|s| s.parse().ok());
        // B listens as the app does (a long poll); A pushes right after
        // each sale, as the app does when a sale completes.
        let (b_url, b_token) = b.sync_credentials()?;
        let (heard_tx, heard) = std::sync::mpsc::channel::<Instant>();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop_b = std::sync::Arc::clone(&stop);
        let listener = std::thread::spawn(move || -> Result<Regulars> {
            let rt = runtime()?;
            let client = Client::new(&b_url, Some(b_token))?;
            while !stop_b.load(std::sync::atomic::Ordering::Relaxed) {
                let n = rt.block_on(client::listen_once(&client, &mut b, 2))?;
                if n > 0 {
                    let _ = heard_tx.send(Instant::now());
                }
            }
            Ok(b)
        });
        let mut times = Vec::with_capacity(sales);
        let mut ids = Vec::with_capacity(sales);
        for i in 0..sales {
            while heard.try_recv().is_ok() {}
            let t = Instant::now();
            let sale = a.complete_sale(&regulars_core::model::SaleDraft {
                customer_id: customers.get(i % customers.len().max(1)).copied(),
                lines: vec![regulars_core::model::DraftLine {
                    product_id: product,
                    description: "bench".into(),
                    quantity: 1.0,
                    unit_price_cents: 199,
                    discount_cents: 0,
                    offer_key: None,
                }],
                payment_method: regulars_core::model::PaymentMethod::Card,
            })?;
            round(&mut a, &rt)?;
            let got = heard
                .recv_timeout(Duration::from_secs(10))
                .context("the other till did not hear of the sale within 10 s")?;
            times.push(got.duration_since(t));
            ids.push(sale.id);
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let b = listener
            .join()
            .map_err(|_| anyhow::anyhow!("the listening till failed"))??;
        for id in ids {
            b.store()
                .sale(id)
                .context("a sale did not reach the other till")?;
        }
        times.sort();
        let pct = |p: f64| {
            times
                .get(((times.len() as f64 * p).ceil() as usize).saturating_sub(1))
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        println!(
            "one sale to the other till ({} sales): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (target 1000 ms)",
            times.len(),
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
        Ok(())
    })();
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}
