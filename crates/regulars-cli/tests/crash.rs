//! Crash safety: `regulars stress` drives the same `Regulars` methods the
//! app's commands call (complete a sale, add a note, import files) and
//! prints each committed id; this test SIGKILLs it at seeded random moments,
//! over 100 times across the three kinds of write, and after every kill
//! opens the file and checks:
//! - `PRAGMA integrity_check` is ok;
//! - every acknowledged sale and note is there, as acknowledged;
//! - no sale is half written (lines missing, or not summing to the total),
//!   every sale has its outbox row, and the points ledger matches the sales;
//! - an interrupted import applied whole batches only, and running it again
//!   (`regulars import csv`) completes it without duplicates;
//! - and at the end, that the log survived the kills and holds no names or
//!   note text.
//!
//! One store file is reused across iterations: spawning dominates the cost.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rusqlite::Connection;

/// Must match `stress.rs`.
const IMPORT_CUSTOMERS: i64 = 300;
const IMPORT_SALES: i64 = 400;
const BATCH_ROWS: i64 = 100;

struct Rng(u64);

impl Rng {
    /// splitmix64: deterministic, so a failing run can be replayed.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// Runs `regulars stress <mode>` and kills it after `delay`; returns what it
/// acknowledged on stdout before dying.
fn run_and_kill(db: &Path, mode: &str, seed: u64, delay: Duration) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_regulars"))
        .arg("--db")
        .arg(db)
        .args(["stress", mode, "--seed", &seed.to_string()])
        .args(["--batch-rows", &BATCH_ROWS.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // A reader thread keeps the pipe drained so the child never blocks on it.
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    std::thread::sleep(delay);
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().ok(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut err).ok();
    }
    assert!(
        still_running,
        "stress {mode} ended on its own ({status}): {err}"
    );
    reader.join().unwrap()
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The checks that hold after any crash, whatever was running.
fn check_store(conn: &Connection) {
    let ic: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ic, "ok");
    assert_eq!(
        count(conn, "SELECT count(*) FROM pragma_foreign_key_check"),
        0
    );
    let zero = |what: &str, sql: &str| {
        let n = count(conn, sql);
        assert_eq!(n, 0, "{n} {what}");
    };
    zero(
        "sales without lines",
        "SELECT count(*) FROM sales s WHERE NOT EXISTS
           (SELECT 1 FROM sale_lines l WHERE l.sale_id = s.id)",
    );
    zero(
        "sales whose lines do not sum to the total",
        "SELECT count(*) FROM sales s WHERE total_cents !=
           (SELECT sum(amount_cents) FROM sale_lines l WHERE l.sale_id = s.id)",
    );
    zero(
        "sales with a gap in their line positions",
        "SELECT count(*) FROM sales s WHERE
           (SELECT count(*) FROM sale_lines l WHERE l.sale_id = s.id) !=
           (SELECT max(position) + 1 FROM sale_lines l WHERE l.sale_id = s.id)",
    );
    zero(
        "sales without exactly one outbox row",
        "SELECT count(*) FROM sales s LEFT JOIN (SELECT entity_id, count(*) AS n FROM outbox
           WHERE entity = 'sale' GROUP BY entity_id) o ON o.entity_id = s.id WHERE o.n IS NOT 1",
    );
    zero(
        "notes without exactly one outbox row",
        "SELECT count(*) FROM notes s LEFT JOIN (SELECT entity_id, count(*) AS n FROM outbox
           WHERE entity = 'note' GROUP BY entity_id) o ON o.entity_id = s.id WHERE o.n IS NOT 1",
    );
    zero(
        "points entries for a sale of another customer, or several per sale",
        "SELECT count(*) FROM points_ledger p JOIN sales s ON s.id = p.sale_id
         JOIN (SELECT sale_id, count(*) AS n FROM points_ledger GROUP BY sale_id) q
           ON q.sale_id = p.sale_id
         WHERE p.customer_id IS NOT s.customer_id OR q.n != 1",
    );
    zero(
        "points for a sale without a customer",
        "SELECT count(*) FROM points_ledger p JOIN sales s ON s.id = p.sale_id
         WHERE s.customer_id IS NULL",
    );
    // Imported sales: every one whole (sale j of a stress file has j % 4 + 1
    // lines), never half a sale from a batch cut.
    zero(
        "imported sales with missing lines",
        "SELECT count(*) FROM sales s WHERE external_ref LIKE 'S%I%S%' AND
           (SELECT count(*) FROM sale_lines l WHERE l.sale_id = s.id) !=
           CAST(substr(external_ref, instr(substr(external_ref, 2), 'S') + 2) AS INTEGER) % 4 + 1",
    );
    zero(
        "customers without exactly one insert in the outbox",
        "SELECT count(*) FROM customers c LEFT JOIN (SELECT entity_id, count(*) AS n FROM outbox
           WHERE entity = 'customer' AND op = 'insert' GROUP BY entity_id) o
           ON o.entity_id = c.id WHERE o.n IS NOT 1",
    );
}

fn check_acks(conn: &Connection, acks: &[String], points_of: &mut HashMap<String, i64>) {
    for a in acks {
        let f: Vec<&str> = a.split_whitespace().collect();
        match f.first().copied() {
            Some("sale") => {
                let (id, total, lines, points) = (f[1], f[2], f[3], f[4]);
                let (t, n): (i64, i64) = conn
                    .query_row(
                        "SELECT total_cents, (SELECT count(*) FROM sale_lines WHERE sale_id = id)
                         FROM sales WHERE id = ?1",
                        [id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap_or_else(|e| panic!("acknowledged sale {id} is lost: {e}"));
                assert_eq!(t.to_string(), total, "sale {id}");
                assert_eq!(n.to_string(), lines, "sale {id}");
                points_of.insert(id.to_string(), points.parse().unwrap());
            }
            Some("note") => {
                let n = count(
                    conn,
                    &format!("SELECT count(*) FROM notes WHERE id = '{}'", f[1]),
                );
                assert_eq!(n, 1, "acknowledged note {} is lost", f[1]);
            }
            Some("import-start" | "import-done") => {}
            _ => panic!("unexpected output {a:?}"),
        }
    }
    // Points earned on every acknowledged sale are in the ledger, exactly.
    let ledger: HashMap<String, i64> = conn
        .prepare("SELECT sale_id, sum(points) FROM points_ledger WHERE sale_id IS NOT NULL GROUP BY sale_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (id, points) in points_of.iter() {
        let got = ledger.get(id).copied().unwrap_or(0);
        assert_eq!(got, *points, "points of sale {id}");
    }
}

/// An interrupted import: whole batches only; importing again completes it
/// and duplicates nothing.
fn check_import(db: &Path, conn: &Connection, acks: &[String]) -> bool {
    let Some(start) = acks.iter().rev().find(|a| a.starts_with("import-start")) else {
        return false;
    };
    let f: Vec<&str> = start.split_whitespace().collect();
    let i = f[1];
    if acks.iter().any(|a| a == &format!("import-done {i}")) {
        return false;
    }
    let files: Vec<PathBuf> = f[4..].iter().map(PathBuf::from).collect();
    let tag = Path::new(f[4])
        .file_name()
        .unwrap()
        .to_string_lossy()
        .split('-')
        .next()
        .unwrap()
        .to_string();
    let customers = |c: &Connection| {
        count(
            c,
            &format!("SELECT count(*) FROM customers WHERE external_ref LIKE '{tag}C%'"),
        )
    };
    let sales = |c: &Connection| {
        count(
            c,
            &format!("SELECT count(*) FROM sales WHERE external_ref LIKE '{tag}S%'"),
        )
    };
    let n = customers(conn);
    assert!(
        n % BATCH_ROWS == 0 || n == IMPORT_CUSTOMERS,
        "a customer batch was half imported: {n}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_regulars"))
        .arg("--db")
        .arg(db)
        .args(["import", "csv", "--mapping", "generic"])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "re-import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = Connection::open(db).unwrap();
    assert_eq!(customers(&conn), IMPORT_CUSTOMERS);
    assert_eq!(sales(&conn), IMPORT_SALES);
    // check_store: one outbox row per sale and customer, so no duplicates.
    check_store(&conn);
    true
}

#[test]
fn kill_9_at_random_moments_loses_nothing_acknowledged_and_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let mut rng = Rng(seed);
    let mut points_of = HashMap::new();
    let (mut kills, mut acked, mut imports_cut) = (0, 0, 0);
    // (mode, kills, delay range in ms): the delay covers start-up, so some
    // kills land while opening the store, most while writing.
    for (mode, n, lo, hi) in [
        ("checkout", 40, 20, 400),
        ("notes", 30, 20, 300),
        ("import", 35, 30, 700),
    ] {
        for _ in 0..n {
            let it_seed = rng.next() % 1_000_000;
            let delay = Duration::from_millis(rng.range(lo, hi));
            let acks = run_and_kill(&db, mode, it_seed, delay);
            kills += 1;
            acked += acks.len();
            let conn = Connection::open(&db).unwrap();
            check_store(&conn);
            check_acks(&conn, &acks, &mut points_of);
            if mode == "import" && check_import(&db, &conn, &acks) {
                imports_cut += 1;
            }
        }
    }
    eprintln!("{kills} kills, {acked} acknowledged writes, {imports_cut} imports cut and re-run");
    assert!(kills >= 100);
    assert!(
        points_of.len() >= 50,
        "too few sales acknowledged ({}) for the test to mean much",
        points_of.len()
    );
    assert!(imports_cut >= 5, "only {imports_cut} imports were cut");
    // The log lived through the kills too (unbuffered writes), and holds
    // ids and counts, not the names and note texts written above.
    let mut log = String::new();
    for e in std::fs::read_dir(dir.path().join("logs")).unwrap() {
        log.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    let opened = log.matches("store opened").count();
    assert!(opened >= 50, "only {opened} starts logged");
    assert!(log.contains("sale completed") && log.contains("note added"));
    for s in [
        "Stress",
        "Customer1",
        "Imported",
        "Person1",
        "stress note",
        "delivery days",
    ] {
        assert!(!log.contains(s), "{s:?} is in the log");
    }
}
