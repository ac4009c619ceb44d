//! Test helpers: a throwaway PostgreSQL cluster (initdb + pg_ctl, listening
//! only on a unix socket in a temp dir: no network, no port clash), and
//! enrolling a device through the real service path.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use regulars_server::backend::{Backend, Device};
use regulars_server::service;
use regulars_sync::protocol::EnrollRequest;
use uuid::Uuid;

/// A PostgreSQL cluster of its own, stopped when dropped.
pub struct PgCluster {
    _dir: tempfile::TempDir,
    data: PathBuf,
    sock: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    next_db: AtomicUsize,
}

/// Where initdb and pg_ctl are: $REGULARS_PG_BIN, the newest
/// /usr/lib/postgresql/N/bin (Debian's layout), or the PATH.
fn pg_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("REGULARS_PG_BIN") {
        let dir = PathBuf::from(dir);
        return dir.join("initdb").exists().then_some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let out = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    p.parent()
        .filter(|_| out.status.success())
        .map(Path::to_path_buf)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl PgCluster {
    /// Starts a cluster, or returns `None` after saying so on stderr (not
    /// captured by the test harness) when PostgreSQL is not installed. With
    /// `REGULARS_REQUIRE_PG=1` (CI, once its setup installs PostgreSQL) a
    /// missing PostgreSQL is a failure, not a skip.
    pub fn start() -> Option<PgCluster> {
        let Some(bin) = pg_bin() else {
            let msg = "SKIPPED the PostgreSQL backend suite: initdb/pg_ctl not found (install Debian's `postgresql` package, or set REGULARS_PG_BIN)";
            assert!(
                std::env::var_os("REGULARS_REQUIRE_PG").is_none_or(|v| v != "1"),
                "{msg}"
            );
            let _ = writeln!(std::io::stderr(), "{msg}");
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let sock = dir.path().join("sock");
        std::fs::create_dir(&sock).unwrap();
        // initdb refuses to run as root: run the server as `postgres`.
        let as_postgres = is_root();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:", dir.path().to_str().unwrap()])
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown of the cluster dir to postgres failed");
        }
        let c = PgCluster {
            _dir: dir,
            data,
            sock,
            bin,
            as_postgres,
            next_db: AtomicUsize::new(0),
        };
        c.run(
            "initdb",
            &[
                "-D",
                c.data.to_str().unwrap(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        let opts = format!(
            "-k {} -p 5432 -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            c.sock.display()
        );
        let log = c.data.join("server.log");
        c.run(
            "pg_ctl",
            &[
                "-D",
                c.data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-o",
                &opts,
                "start",
            ],
        );
        Some(c)
    }

    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .command(tool)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Connection string for a new, empty database of this cluster.
    pub fn fresh_db(&self) -> String {
        let n = self.next_db.fetch_add(1, Ordering::SeqCst);
        let admin = format!(
            "host={} port=5432 user=postgres dbname=postgres",
            self.sock.display()
        );
        let mut c = postgres::Client::connect(&admin, postgres::NoTls)
            .expect("connecting to the test cluster");
        c.batch_execute(&format!("CREATE DATABASE t{n}")).unwrap();
        format!(
            "host={} port=5432 user=postgres dbname=t{n}",
            self.sock.display()
        )
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D", self.data.to_str().unwrap(), "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Enrolls a new device through the service (code made, typed, consumed):
/// returns it and its bearer token.
pub fn enroll<B: Backend>(b: &B, name: &str) -> (Device, String) {
    let code = service::create_enroll_code(
        b,
        "Main St",
        chrono::Duration::hours(24),
        chrono::Utc::now(),
    )
    .unwrap();
    let res = service::enroll(
        b,
        &EnrollRequest {
            code,
            device_name: name.into(),
            device_id: Uuid::now_v7(),
        },
        chrono::Utc::now(),
    )
    .unwrap();
    let device = service::authenticate(b, Some(&format!("Bearer {}", res.token))).unwrap();
    assert_eq!(device.id, res.device_id);
    (device, res.token)
}
