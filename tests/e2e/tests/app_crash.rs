//! `kill -9` of the real app window while a cashier rings up sales. The
//! app is started directly (no WebDriver, which would not survive the
//! kill); xdotool types like the scanner (product barcodes, each a fast
//! burst + Enter) and presses F9, again and again, until the app is killed
//! at a random moment. After every kill the store must pass
//! `PRAGMA integrity_check`, keep every sale it had (a completed sale is
//! never lost), and hold no half-written sale: each has its lines, the
//! lines add up to its total, and its change is queued for sync.
//! (The 105-kill loop over checkout, notes and import through the same
//! write paths, without a window, is `crates/regulars-cli/tests/crash.rs`.)

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use regulars_core::rng::Rng;
use regulars_e2e::{e2e_or_skip, Env, Fixture};
use rusqlite::{Connection, OpenFlags};

/// Kills of the window; each costs an app start (~1-2 s).
const KILLS: usize = 12;

fn xdotool(args: &[&str]) -> Result<String> {
    let out = Command::new("xdotool")
        .args(args)
        .output()
        .context("running xdotool (`make test` installs it through scripts/setup.sh)")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The app's window once it is mapped, within 20 s.
fn wait_window(app: &mut Child) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let w = xdotool(&["search", "--onlyvisible", "--name", "^Regulars$"])?;
        if let Some(id) = w.lines().last().filter(|l| !l.is_empty()) {
            return Ok(id.to_string());
        }
        if let Some(status) = app.try_wait()? {
            bail!("the app exited before showing its window ({status})");
        }
        if Instant::now() > deadline {
            bail!("the app's window did not appear within 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Books {
    sales: i64,
    /// Sales made before the test (the fixture's history) have rowids up
    /// to this; only the till's own sales are checked for queued changes.
    fixture_rowid: i64,
}

/// Everything the kill must not have broken.
fn check(db: &std::path::Path, before: &Books, round: usize) -> Result<Books> {
    let c = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    ensure!(ok == "ok", "round {round}: integrity_check says {ok}");
    let sales: i64 = c.query_row("SELECT count(*) FROM sales", [], |r| r.get(0))?;
    ensure!(
        sales >= before.sales,
        "round {round}: {} completed sale(s) lost",
        before.sales - sales
    );
    let half: i64 = c.query_row(
        "SELECT count(*) FROM sales s WHERE NOT EXISTS (SELECT 1 FROM sale_lines l WHERE l.sale_id = s.id)
            OR s.total_cents != (SELECT coalesce(sum(amount_cents), 0) FROM sale_lines l WHERE l.sale_id = s.id)",
        [],
        |r| r.get(0),
    )?;
    ensure!(
        half == 0,
        "round {round}: {half} sale(s) without their lines or not adding up"
    );
    let unqueued: i64 = c.query_row(
        "SELECT count(*) FROM sales s WHERE s.rowid > ?1
            AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.entity = 'sale' AND o.entity_id = s.id)",
        [before.fixture_rowid],
        |r| r.get(0),
    )?;
    ensure!(
        unqueued == 0,
        "round {round}: {unqueued} sale(s) with no queued change"
    );
    Ok(Books {
        sales,
        fixture_rowid: before.fixture_rowid,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_app_mid_checkout_loses_nothing() -> Result<()> {
    e2e_or_skip!();
    let env = Env::get()?;
    let f = Fixture::build()?;
    let barcodes: Vec<String> = {
        let c = Connection::open_with_flags(&f.db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let mut st = c.prepare(
            "SELECT barcode FROM products WHERE barcode IS NOT NULL ORDER BY barcode LIMIT 8",
        )?;
        let v = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        v
    };
    ensure!(
        barcodes.len() >= 3,
        "the fixture shop has no products with barcodes"
    );
    let fixture_rowid: i64 = Connection::open_with_flags(&f.db, OpenFlags::SQLITE_OPEN_READ_ONLY)?
        .query_row("SELECT coalesce(max(rowid), 0) FROM sales", [], |r| {
            r.get(0)
        })?;
    let first = check(
        &f.db,
        &Books {
            sales: 0,
            fixture_rowid,
        },
        0,
    )?;
    let mut books = Books {
        sales: first.sales,
        fixture_rowid,
    };
    let mut rng = Rng::new(0x0006_b119);
    let started = Instant::now();
    for round in 1..=KILLS {
        let mut app = Command::new(&env.app)
            .arg("--db")
            .arg(&f.db)
            .env("XDG_DATA_HOME", f.dir.path().join("webview-data"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", env.app.display()))?;
        let window = wait_window(&mut app)?;
        // The page loads after the window maps; keys before that are lost,
        // which only means fewer sales this round.
        std::thread::sleep(Duration::from_millis(600));
        xdotool(&["windowfocus", "--sync", &window])?;
        let kill_at = Instant::now() + Duration::from_millis(rng.range(200, 2_500));
        while Instant::now() < kill_at {
            for _ in 0..rng.range(1, 4) {
                let code = &barcodes[rng.range(0, barcodes.len() as u64 - 1) as usize];
                xdotool(&["type", "--delay", "4", code])?;
                xdotool(&["key", "Return"])?;
            }
            xdotool(&["key", "F9"])?;
            std::thread::sleep(Duration::from_millis(rng.range(0, 150)));
        }
        app.kill()?; // SIGKILL
        app.wait()?;
        // WebKit's helper processes go with their parent; give them a moment.
        std::thread::sleep(Duration::from_millis(300));
        books = check(&f.db, &books, round)?;
    }
    let made = books.sales - first.sales;
    println!(
        "{KILLS} kills of the app window in {:.0?}: {made} sales completed through the window, none lost or half-written",
        started.elapsed()
    );
    ensure!(
        made > 0,
        "no sale was ever completed: the keys never reached the till"
    );
    Ok(())
}
