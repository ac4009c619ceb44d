//! Sync between real processes (issue 6, "Process-level tests"): a real
//! `regulars-server` on 127.0.0.1 and two tills driven through the real
//! `regulars` CLI, each with its own SQLite file.
//!
//! - Two tills trade and exchange sales, points and notes.
//! - `kill -9` of a till in the middle of pushing a large backlog, over and
//!   over, then of the server in the middle of a pull: after recovery both
//!   tills hold exactly the same sales, lines, points and notes (nothing
//!   lost, nothing doubled).
//! - A till store from the previous schema (7) upgrades, enrols and syncs.
//!
//! The server binary is found beside the CLI's (both are workspace binaries
//! that `cargo test --workspace` builds).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn cli_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_regulars"))
}

fn server_bin() -> PathBuf {
    let p = cli_bin().with_file_name("regulars-server");
    assert!(
        p.exists(),
        "{} is missing: build it with `cargo build -p regulars-server` (cargo test --workspace does)",
        p.display()
    );
    p
}

struct Server {
    child: Child,
    url: String,
    data: PathBuf,
}

impl Server {
    fn start(data: &Path, listen: &str) -> Server {
        let mut child = Command::new(server_bin())
            .args(["--data"])
            .arg(data)
            .args(["--listen", listen])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start regulars-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the server: {line:?}"))
            .to_string();
        Server {
            child,
            url,
            data: data.to_path_buf(),
        }
    }

    fn code(&self) -> String {
        let out = Command::new(server_bin())
            .arg("--data")
            .arg(&self.data)
            .args(["enroll", "--store", "Corner shop"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "enroll: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .trim()
            .to_string()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// host:port, for restarting on the same address.
    fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn till(db: &Path, args: &[&str]) -> Output {
    Command::new(cli_bin())
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = till(db, args);
    assert!(
        out.status.success(),
        "regulars {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn enroll(db: &Path, s: &Server, name: &str) {
    let code = s.code();
    ok(
        db,
        &[
            "enroll", "--server", &s.url, "--code", &code, "--name", name,
        ],
    );
}

/// What must agree between tills: counts and sums over synced tables.
fn figures(db: &Path) -> Vec<(String, i64)> {
    let c = rusqlite::Connection::open(db).unwrap();
    [
        ("customers", "SELECT count(*) FROM customers"),
        ("sales", "SELECT count(*) FROM sales"),
        (
            "sales total",
            "SELECT coalesce(sum(total_cents), 0) FROM sales",
        ),
        ("lines", "SELECT count(*) FROM sale_lines"),
        ("points entries", "SELECT count(*) FROM points_ledger"),
        (
            "points",
            "SELECT coalesce(sum(points), 0) FROM points_ledger",
        ),
        ("notes", "SELECT count(*) FROM notes"),
        ("cards", "SELECT count(*) FROM cards"),
        ("products", "SELECT count(*) FROM products"),
    ]
    .iter()
    .map(|(k, sql)| (k.to_string(), c.query_row(sql, [], |r| r.get(0)).unwrap()))
    .collect()
}

fn pending(db: &Path) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(
        "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND rejected IS NULL",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn two_tills_share_sales_points_and_notes_through_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"), "127.0.0.1:0");
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    enroll(&a, &server, "Till A");
    enroll(&b, &server, "Till B");
    ok(
        &a,
        &["stress", "checkout", "--iterations", "30", "--seed", "1"],
    );
    ok(
        &a,
        &["stress", "notes", "--iterations", "10", "--seed", "2"],
    );
    ok(&a, &["sync"]);
    ok(&b, &["sync"]);
    assert_eq!(figures(&a), figures(&b), "B holds what A rang up");
    assert!(figures(&b)[1].1 >= 30, "B has A's sales");
    // Now B trades on the same customers; A catches up.
    ok(
        &b,
        &["stress", "checkout", "--iterations", "20", "--seed", "3"],
    );
    ok(&b, &["sync"]);
    ok(&a, &["sync"]);
    assert_eq!(figures(&a), figures(&b));
    assert_eq!((pending(&a), pending(&b)), (0, 0));
    // A second round with nothing new changes nothing.
    let before = figures(&a);
    ok(&a, &["sync"]);
    ok(&b, &["sync"]);
    assert_eq!(figures(&a), before);
    let status = ok(&a, &["sync-status", "--json"]);
    let s: serde_json::Value = serde_json::from_str(status.trim()).unwrap();
    assert_eq!(s["enrolled"], true);
    assert_eq!(s["pending"], 0);
}

#[test]
fn kill_9_of_a_till_mid_push_and_of_the_server_mid_pull_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let mut server = Server::start(&data, "127.0.0.1:0");
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    enroll(&a, &server, "Till A");
    enroll(&b, &server, "Till B");
    // A big backlog: two imported histories (hundreds of customers, sales
    // with lines, products) plus trade at the till.
    ok(
        &a,
        &["stress", "import", "--iterations", "2", "--seed", "4"],
    );
    ok(
        &a,
        &["stress", "checkout", "--iterations", "20", "--seed", "5"],
    );
    let backlog = pending(&a);
    assert!(backlog > 1_000, "backlog {backlog}");

    // Kill the pushing till at varied moments until a push completes.
    let mut kills = 0;
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "push never finished"
        );
        let mut child = Command::new(cli_bin())
            .arg("--db")
            .arg(&a)
            .arg("sync")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(40 + 37 * kills as u64 % 400));
        if child.try_wait().unwrap().is_some() {
            if pending(&a) == 0 {
                break;
            }
            continue;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        if kills >= 8 {
            ok(&a, &["sync"]);
            break;
        }
    }
    assert!(
        kills >= 1,
        "no push was interrupted: the backlog is too small to test this"
    );
    assert_eq!(pending(&a), 0, "everything pushed after {kills} kills");

    // Kill the server while B pulls, restart it on the same address, retry.
    let addr = server.addr();
    let mut pull = Command::new(cli_bin())
        .arg("--db")
        .arg(&b)
        .arg("sync")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.kill();
    let _ = pull.wait();
    let b_before = figures(&b);
    server = Server::start(&data, &addr);
    ok(&b, &["sync"]);
    ok(&a, &["sync"]);
    assert_eq!(
        figures(&a),
        figures(&b),
        "after kills: A and B agree exactly"
    );
    assert!(
        b_before[1].1 <= figures(&b)[1].1,
        "the interrupted pull kept what it committed"
    );
    eprintln!("{kills} kills of the pushing till; server killed once mid-pull");
    drop(server);
}

#[test]
fn a_till_store_from_the_previous_schema_upgrades_and_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"), "127.0.0.1:0");
    let old = dir.path().join("old.db");
    // Schema 7, as the previous release left it: migrations 1-7, a customer
    // with a card and a note, and their queued changes (no clock stamps).
    {
        let c = rusqlite::Connection::open(&old).unwrap();
        let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("../regulars-core/migrations");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&migrations)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        for f in files.iter().take(7) {
            c.execute_batch(&std::fs::read_to_string(f).unwrap())
                .unwrap();
        }
        c.execute_batch(
            "PRAGMA user_version = 7; PRAGMA application_id = 1380271957;
             INSERT INTO settings(key, value) VALUES ('device_id', '01900000-0000-7000-8000-000000000001');
             INSERT INTO customers(id, given_name, family_name, created_at, updated_at)
               VALUES ('01900000-0000-7000-8000-0000000000c1', 'Olde', 'Schema', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
             INSERT INTO cards(code, customer_id, kind, issued_at)
               VALUES ('OLD-1', '01900000-0000-7000-8000-0000000000c1', 'legacy', '2026-01-01T00:00:00Z');
             INSERT INTO notes(id, customer_id, body, author, visibility, created_at)
               VALUES ('01900000-0000-7000-8000-0000000000a1', '01900000-0000-7000-8000-0000000000c1', 'asked about seeds', 'till', 'staff', '2026-01-01T00:00:00Z');
             INSERT INTO outbox(change_id, entity, entity_id, op, payload, created_at) VALUES
               ('01900000-0000-7000-8000-0000000000e1', 'customer', '01900000-0000-7000-8000-0000000000c1', 'insert',
                '{\"id\":\"01900000-0000-7000-8000-0000000000c1\",\"given_name\":\"Olde\",\"family_name\":\"Schema\",\"phones\":[],\"marketing_consent\":false,\"created_at\":\"2026-01-01T00:00:00Z\"}', '2026-01-01T00:00:00Z'),
               ('01900000-0000-7000-8000-0000000000e2', 'card', 'OLD-1', 'insert',
                '{\"code\":\"OLD-1\",\"customer_id\":\"01900000-0000-7000-8000-0000000000c1\",\"kind\":\"legacy\",\"issued_at\":\"2026-01-01T00:00:00Z\"}', '2026-01-01T00:00:00Z'),
               ('01900000-0000-7000-8000-0000000000e3', 'note', '01900000-0000-7000-8000-0000000000a1', 'insert',
                '{\"customer_id\":\"01900000-0000-7000-8000-0000000000c1\",\"id\":\"01900000-0000-7000-8000-0000000000a1\",\"body\":\"asked about seeds\",\"author\":\"till\",\"visibility\":\"staff\",\"follow_up_on\":null,\"created_at\":\"2026-01-01T00:00:00Z\"}', '2026-01-01T00:00:00Z');",
        )
        .unwrap();
    }
    let b = dir.path().join("b.db");
    enroll(&old, &server, "Old till");
    enroll(&b, &server, "New till");
    ok(&old, &["sync"]);
    ok(&b, &["sync"]);
    let found = ok(&b, &["card", "OLD-1", "--json"]);
    assert!(
        found.contains("Olde"),
        "the old till's customer reached B: {found}"
    );
    assert!(found.contains("asked about seeds"));
    assert_eq!(pending(&old), 0);
}
