//! `regulars-server bench push`: many tills pushing at once against one
//! server (SQLite in a temp dir, or an empty PostgreSQL database given with
//! --database; on 127.0.0.1 with a free port), then one
//! new till pulling the whole log from cursor 0. Part of the binary (it
//! uses anyhow and reqwest as a till would); run a release build.
//!
//! Each till is a tokio task with its own HTTP client, enrolled through the
//! real `/v1/enroll`, pushing back to back (no think time: the worst case)
//! batches of realistic changes: sales of 10 lines and notes, alternating,
//! about a pool of customers shared by all tills.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use regulars_server::backend::Backend;
use regulars_server::{serve, service};
use regulars_sync::protocol::{
    Change, ChangeStatus, EnrollRequest, EnrollResponse, PullResponse, PushRequest, PushResponse,
    MAX_BATCH, MAX_PAGE, SCHEMA_VERSION,
};
use regulars_sync::Hlc;
use serde_json::json;
use uuid::Uuid;

pub struct Report {
    backend: &'static str,
    tills: usize,
    changes: usize,
    batch: usize,
    latencies: Vec<Duration>,
    push_wall: Duration,
    pulled: usize,
    pull_pages: usize,
    pull_wall: Duration,
}

fn pct(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = self.latencies.clone();
        l.sort();
        let total = self.tills * self.changes;
        writeln!(
            f,
            "push: {} tills x {} changes in batches of {} ({} pushes, {} changes), {} backend, 127.0.0.1",
            self.tills,
            self.changes,
            self.batch,
            l.len(),
            total,
            self.backend
        )?;
        writeln!(
            f,
            "  latency ms: p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}",
            pct(&l, 0.50),
            pct(&l, 0.95),
            pct(&l, 0.99),
            pct(&l, 1.0)
        )?;
        writeln!(
            f,
            "  throughput: {:.0} changes/s, {:.0} pushes/s over {:.2} s",
            total as f64 / self.push_wall.as_secs_f64(),
            l.len() as f64 / self.push_wall.as_secs_f64(),
            self.push_wall.as_secs_f64()
        )?;
        write!(
            f,
            "pull: a new till from cursor 0: {} changes in {} pages of up to {} in {:.2} s = {:.0} changes/s",
            self.pulled,
            self.pull_pages,
            MAX_PAGE,
            self.pull_wall.as_secs_f64(),
            self.pulled as f64 / self.pull_wall.as_secs_f64()
        )
    }
}

/// Runs the benchmark against `backend`, which must hold no changes yet.
pub async fn push<B: Backend>(
    backend: Arc<B>,
    label: &'static str,
    tills: usize,
    changes: usize,
    batch: usize,
) -> Result<Report> {
    ensure!(
        tills >= 1 && changes >= 1,
        "give at least one till and one change"
    );
    ensure!(
        (1..=MAX_BATCH).contains(&batch),
        "--batch must be 1 to {MAX_BATCH}"
    );
    let url = serve::spawn_loopback(Arc::clone(&backend)).await?;
    let customers: Arc<Vec<String>> =
        Arc::new((0..500).map(|_| Uuid::now_v7().to_string()).collect());

    let mut enrolled = Vec::with_capacity(tills + 1);
    for i in 0..=tills {
        enrolled.push(enroll(&backend, &url, i).await?);
    }
    let reader = enrolled.pop().context("no reader till")?;

    let started = Instant::now();
    let mut tasks = Vec::with_capacity(tills);
    for (i, (device, token)) in enrolled.into_iter().enumerate() {
        let url = url.clone();
        let customers = Arc::clone(&customers);
        tasks.push(tokio::spawn(async move {
            till(i, device, token, &url, &customers, changes, batch).await
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let push_wall = started.elapsed();

    let client = http_client();
    let started = Instant::now();
    let (mut after, mut pulled, mut pages) = (0i64, 0usize, 0usize);
    loop {
        let res: PullResponse = client
            .get(format!("{url}/v1/pull?after={after}&limit={MAX_PAGE}"))
            .bearer_auth(&reader.1)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        pulled += res.changes.len();
        pages += 1;
        after = res.next_cursor;
        if !res.more {
            break;
        }
    }
    let pull_wall = started.elapsed();
    ensure!(
        pulled == tills * changes,
        "pulled {pulled} changes, pushed {}",
        tills * changes
    );
    Ok(Report {
        backend: label,
        tills,
        changes,
        batch,
        latencies,
        push_wall,
        pulled,
        pull_pages: pages,
        pull_wall,
    })
}

async fn enroll<B: Backend>(backend: &Arc<B>, url: &str, i: usize) -> Result<(Uuid, String)> {
    let b = Arc::clone(backend);
    let code = tokio::task::spawn_blocking(move || {
        service::create_enroll_code(
            &*b,
            "Bench St",
            chrono::Duration::hours(1),
            chrono::Utc::now(),
        )
    })
    .await??;
    let device = Uuid::now_v7();
    let res: EnrollResponse = http_client()
        .post(format!("{url}/v1/enroll"))
        .json(&EnrollRequest {
            code,
            device_name: format!("Till {}", i + 1),
            device_id: device,
        })
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok((device, res.token))
}

async fn till(
    i: usize,
    device: Uuid,
    token: String,
    url: &str,
    customers: &[String],
    changes: usize,
    batch: usize,
) -> Result<Vec<Duration>> {
    let client = http_client();
    let mut latencies = Vec::new();
    let mut hlc = Hlc::new(service::now_ms(), 0);
    let mut made = 0usize;
    while made < changes {
        let n = batch.min(changes - made);
        let batch: Vec<Change> = (0..n)
            .map(|k| {
                hlc = hlc.tick(service::now_ms());
                let customer = &customers[(i * 7919 + made + k) % customers.len()];
                change(device, hlc, made + k, customer)
            })
            .collect();
        made += n;
        let started = Instant::now();
        let res: PushResponse = client
            .post(format!("{url}/v1/push"))
            .bearer_auth(&token)
            .json(&PushRequest {
                changes: batch,
                sent_ms: service::now_ms(),
            })
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        latencies.push(started.elapsed());
        if let Some(bad) = res
            .results
            .iter()
            .find(|r| r.status != ChangeStatus::Applied)
        {
            bail!("till {i}: a change was {:?}: {:?}", bad.status, bad.reason);
        }
    }
    Ok(latencies)
}

/// Even k: a sale of 10 lines; odd k: a note.
fn change(device: Uuid, hlc: Hlc, k: usize, customer: &str) -> Change {
    let id = Uuid::now_v7();
    let (entity, payload) = if k % 2 == 0 {
        let lines: Vec<_> = (0..10)
            .map(|p| {
                json!({
                    "position": p,
                    "product_id": Uuid::from_u128(1000 + p as u128).to_string(),
                    "description": format!("Sourdough loaf {p}"),
                    "quantity": 1.0,
                    "unit_price_cents": 450 + p * 25,
                    "discount_cents": 0,
                    "amount_cents": 450 + p * 25,
                })
            })
            .collect();
        (
            "sale",
            json!({
                "id": id.to_string(),
                "customer_id": customer,
                "customer_name": "Margaret Smith",
                "completed_at": "2026-11-25T10:15:00.000Z",
                "lines": lines,
                "total_cents": 5625,
                "payment_method": "card",
                "refund_of": null,
                "points_earned": 56,
                "device_id": device.to_string(),
            }),
        )
    } else {
        (
            "note",
            json!({
                "customer_id": customer,
                "body": "Asked about the rye again; keep one back on Fridays.",
                "author": "Sam",
                "created_at": "2026-11-25T10:16:00.000Z",
            }),
        )
    };
    Change {
        id: Uuid::now_v7(),
        device,
        hlc,
        schema: SCHEMA_VERSION,
        entity: entity.into(),
        entity_id: id.to_string(),
        op: "insert".into(),
        payload,
    }
}

/// A plain HTTP client. The workspace builds reqwest without a built-in TLS
/// provider (the till installs ring once); install it here too.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
