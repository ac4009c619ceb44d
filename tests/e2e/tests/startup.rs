//! Startup and footprint benchmark (ignored; `make bench-startup` runs it on
//! the release app and a copy of the Complete Journey store):
//! - cold start: N fresh app processes, each timed from the app process's
//!   spawn (its start time in /proc) to the till being interactive: the
//!   search box exists and has focus, and the status bar shows the store's
//!   customer count (the first data has rendered). Target p50/max <= 1.5 s.
//! - idle memory: 5 s after ready, the proportional set size (PSS) summed
//!   over the app process and every process below it (WebKitWebProcess,
//!   WebKitNetworkProcess). Target <= 250 MB. Measured on the WebDriver
//!   launches and, without any automation attached, on a plain launch.
//!
//! Readiness is polled through WebDriver (every ~10 ms); the page's own
//! clock (`Date.now()`) stamps the poll that first sees it, so the figure is
//! at most one poll late. The UI has no ready marker of its own yet.
//! The spawn instant comes from /proc/PID/stat (10 ms clock ticks).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use regulars_e2e::{e2e_or_skip, Env, WebDriver};
use serde_json::{json, Value};

const RUNS: usize = 10;
const TARGET_START_MS: f64 = 1_500.0;
const TARGET_PSS_MB: f64 = 250.0;
const IDLE: Duration = Duration::from_secs(5);

// ----- processes (/proc)

fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn descendants(pid: u32) -> Vec<u32> {
    let mut all: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(ppid) = stat_fields(p).and_then(|f| f.get(1)?.parse::<u32>().ok()) {
                all.push((p, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for &(c, pp) in &all {
            if pp == p && !out.contains(&c) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    stat_fields(pid)
        .and_then(|f| f.first().cloned())
        .is_some_and(|s| s != "Z" && s != "X")
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn wait_exit(pids: &[u32], within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !pids.iter().any(|&p| alive(p)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Ends `child` and everything below it: SIGTERM first (tauri-driver then
/// stops WebKitWebDriver), stragglers by their ids.
fn stop_tree(child: &mut Child) {
    let tree = descendants(child.id());
    signal(child.id(), "TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !matches!(child.try_wait(), Ok(Some(_))) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if !matches!(child.try_wait(), Ok(Some(_))) {
        let _ = child.kill();
        let _ = child.wait();
    }
    if !wait_exit(&tree, Duration::from_secs(8)) {
        for &p in &tree {
            if alive(p) {
                signal(p, "TERM");
            }
        }
        if !wait_exit(&tree, Duration::from_secs(5)) {
            for &p in &tree {
                if alive(p) {
                    signal(p, "KILL");
                }
            }
        }
    }
}

fn exe_of(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// Clock ticks per second for /proc/PID/stat times.
fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0)
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// When `pid` was spawned, in Unix epoch milliseconds (10 ms resolution).
fn spawned_at_ms(pid: u32, tck: f64) -> Result<f64> {
    let ticks: f64 = stat_fields(pid)
        .and_then(|f| f.get(19)?.parse().ok())
        .context("reading the app's start time from /proc")?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")?
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .context("reading /proc/uptime")?;
    let now = now_ms();
    Ok(now - (uptime - ticks / tck) * 1000.0)
}

/// PSS in kB of one process, from /proc/PID/smaps_rollup.
fn pss_kb(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    text.lines()
        .find(|l| l.starts_with("Pss:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Summed PSS (MB) of `pid` and its descendants, with a per-process line.
fn tree_pss_mb(pid: u32) -> (f64, String) {
    let mut pids = vec![pid];
    pids.extend(descendants(pid));
    let mut total = 0u64;
    let mut parts = Vec::new();
    for p in pids {
        if let Some(kb) = pss_kb(p) {
            total += kb;
            parts.push(format!("{} {:.0}", comm(p), kb as f64 / 1024.0));
        }
    }
    (total as f64 / 1024.0, parts.join(", "))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

// ----- one measured launch

struct Launch {
    /// Spawn to the search box focused and the customer count shown.
    ready_ms: f64,
    /// Spawn to the search box focused (the till screen is up, before the
    /// store's first answer has rendered).
    focused_ms: f64,
    /// Spawn to the page's navigation start (native start-up: GTK, the
    /// webview, opening the store).
    navigation_ms: f64,
    pss_mb: f64,
    pss_parts: String,
}

async fn launch_once(env: &Env, db: &Path, tck: f64) -> Result<Launch> {
    let port = free_port()?;
    let native_port = free_port()?;
    let mut driver_proc = Command::new(&env.tauri_driver)
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting tauri-driver")?;
    let r = measure(env, db, tck, port, native_port, &driver_proc).await;
    stop_tree(&mut driver_proc);
    r
}

async fn measure(
    env: &Env,
    db: &Path,
    tck: f64,
    port: u16,
    native_port: u16,
    driver_proc: &Child,
) -> Result<Launch> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let listening = |p: u16| {
        TcpStream::connect_timeout(&([127, 0, 0, 1], p).into(), Duration::from_millis(200)).is_ok()
    };
    while !(listening(port) && listening(native_port)) {
        ensure!(
            Instant::now() < deadline,
            "tauri-driver did not listen within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let caps: serde_json::Map<String, Value> = match json!({
        "browserName": "wry",
        "tauri:options": { "application": env.app, "args": ["--db", db] }
    }) {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    let driver = WebDriver::builder(format!("http://127.0.0.1:{port}"), caps)
        .request_timeout(Duration::from_secs(60))
        .await
        .context("opening a WebDriver session on the app")?;
    let r = async {
        // The app: the process below the driver running the app binary.
        let app_pid = descendants(driver_proc.id())
            .into_iter()
            .find(|&p| exe_of(p).as_deref() == Some(env.app.as_path()))
            .context("the app process is not below tauri-driver")?;
        let spawned = spawned_at_ms(app_pid, tck)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut focused_at = None;
        let (ready_at, nav_at) = loop {
            let v = driver
                .execute(
                    "const s = document.getElementById('search'); \
                     const focused = !!s && document.activeElement === s; \
                     return [Date.now(), performance.timeOrigin, focused, \
                             focused && !!document.querySelector('[data-testid=customer-count]')];",
                    Vec::<Value>::new(),
                )
                .await
                .map(|r| r.json().clone())
                .unwrap_or(Value::Null);
            if let Some(a) = v.as_array() {
                let f = |i: usize| a.get(i).and_then(Value::as_f64).unwrap_or(f64::NAN);
                let b = |i: usize| a.get(i).and_then(Value::as_bool).unwrap_or(false);
                if b(2) && focused_at.is_none() {
                    focused_at = Some(f(0));
                }
                if b(3) {
                    break (f(0), f(1));
                }
            }
            ensure!(
                Instant::now() < deadline,
                "the till was not interactive within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        tokio::time::sleep(IDLE).await;
        let (pss_mb, pss_parts) = tree_pss_mb(app_pid);
        Ok(Launch {
            ready_ms: ready_at - spawned,
            focused_ms: focused_at.unwrap_or(ready_at) - spawned,
            navigation_ms: nav_at - spawned,
            pss_mb,
            pss_parts,
        })
    }
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(15), driver.quit()).await;
    r
}

/// The app started directly (no WebDriver, as a cashier starts it), left
/// idle, then its summed PSS.
fn plain_launch_pss(app: &Path, db: &Path, settle: Duration) -> Result<(f64, String)> {
    let mut child = Command::new(app)
        .arg("--db")
        .arg(db)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", app.display()))?;
    std::thread::sleep(settle);
    let alive_then = matches!(child.try_wait(), Ok(None));
    let m = tree_pss_mb(child.id());
    stop_tree(&mut child);
    ensure!(alive_then, "the app exited during the idle wait");
    Ok(m)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run by `make bench-startup` on the release app and the Complete Journey store"]
async fn startup() -> Result<()> {
    e2e_or_skip!();
    let env = Env::get()?;
    let db = PathBuf::from(std::env::var_os("REGULARS_BENCH_DB").context(
        "set REGULARS_BENCH_DB to a copy of a big store (`make bench-startup` copies the Complete Journey one)",
    )?);
    ensure!(
        db.is_file(),
        "REGULARS_BENCH_DB={} does not exist",
        db.display()
    );
    if std::env::var_os("REGULARS_APP").is_none() {
        eprintln!("WARNING: REGULARS_APP not set: measuring the DEBUG app; figures are not the release figures");
    }
    let tck = clk_tck();
    let app_bytes = std::fs::metadata(&env.app)?.len();
    eprintln!(
        "app {} ({:.1} MB), store {} ({:.0} MB), load average {}",
        env.app.display(),
        app_bytes as f64 / 1e6,
        db.display(),
        std::fs::metadata(&db)?.len() as f64 / 1e6,
        loadavg()
    );

    // One unmeasured launch: migrates the store if needed and warms the
    // page cache (so "cold" here is a fresh process on a warm page cache).
    launch_once(&env, &db, tck)
        .await
        .context("warm-up launch")?;

    let mut ready = Vec::new();
    let mut nav = Vec::new();
    let mut focused = Vec::new();
    let mut pss = Vec::new();
    for i in 0..RUNS {
        let l = launch_once(&env, &db, tck)
            .await
            .with_context(|| format!("launch {} of {RUNS}", i + 1))?;
        eprintln!(
            "run {:2}: ready {:6.0} ms (navigation start {:5.0} ms, search focused {:5.0} ms), idle PSS {:5.1} MB [{}], load {}",
            i + 1,
            l.ready_ms,
            l.navigation_ms,
            l.focused_ms,
            l.pss_mb,
            l.pss_parts,
            loadavg()
        );
        ready.push(l.ready_ms);
        nav.push(l.navigation_ms);
        focused.push(l.focused_ms);
        pss.push(l.pss_mb);
    }
    for v in [&mut ready, &mut nav, &mut focused, &mut pss] {
        v.sort_by(f64::total_cmp);
    }
    let (plain_pss, plain_parts) = plain_launch_pss(&env.app, &db, IDLE + Duration::from_secs(5))?;

    eprintln!(
        "\nstartup on {} ({RUNS} fresh processes, warm page cache):",
        db.display()
    );
    eprintln!(
        "  spawn -> interactive till: p50 {:.0} ms, max {:.0} ms (target <= {TARGET_START_MS:.0} ms)",
        percentile(&ready, 50.0),
        ready[ready.len() - 1]
    );
    eprintln!(
        "  spawn -> page navigation start: p50 {:.0} ms, max {:.0} ms",
        percentile(&nav, 50.0),
        nav[nav.len() - 1]
    );
    eprintln!(
        "  spawn -> search box focused (store not yet shown): p50 {:.0} ms, max {:.0} ms",
        percentile(&focused, 50.0),
        focused[focused.len() - 1]
    );
    eprintln!(
        "  idle PSS, all processes, under WebDriver: p50 {:.1} MB, max {:.1} MB",
        percentile(&pss, 50.0),
        pss[pss.len() - 1]
    );
    eprintln!(
        "  idle PSS, all processes, plain launch (10 s idle): {plain_pss:.1} MB [{plain_parts}] (target <= {TARGET_PSS_MB:.0} MB)"
    );
    eprintln!(
        "  app binary {:.1} MB (target <= 15 MB)",
        app_bytes as f64 / (1024.0 * 1024.0)
    );
    if percentile(&ready, 50.0) > TARGET_START_MS || plain_pss > TARGET_PSS_MB {
        bail!("a target was missed (figures above)");
    }
    Ok(())
}
