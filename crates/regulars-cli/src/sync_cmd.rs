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
