//! End-to-end harness: drives the real Regulars window through WebDriver
//! (tauri-driver in front of WebKitWebDriver) under Xvfb.
//!
//! Every test starts with [`e2e_or_skip!`]: without `REGULARS_E2E=1` it prints
//! a loud SKIPPED line and passes; with it, anything missing (display,
//! tauri-driver, the app binary) is a failure that says how to fix it.
//!
//! One [`App`] is one tauri-driver process (own ports) and one app window on
//! one store file. [`App::close`] ends it cleanly; dropping it (a failing
//! test) still stops the driver with SIGTERM and waits, bounded, for every
//! process it started to exit.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

pub mod axe;
pub mod fixture;

pub use fixture::{Fixture, Person};
pub use thirtyfour::prelude::{By, Key, WebDriver, WebElement};

/// Default wait for something to show on screen.
pub const WAIT: Duration = Duration::from_secs(10);

/// Skips the test (passing, with a loud message) unless `REGULARS_E2E=1`;
/// panics with a how-to-fix message when it is set but something is missing.
#[macro_export]
macro_rules! e2e_or_skip {
    () => {
        fn __here() {}
        let test = std::any::type_name_of_val(&__here)
            .trim_end_matches("::__here")
            .trim_end_matches("::{{closure}}");
        if !$crate::enabled(test) {
            return Ok(());
        }
    };
}

/// See [`e2e_or_skip!`].
pub fn enabled(test: &str) -> bool {
    if std::env::var("REGULARS_E2E").as_deref() != Ok("1") {
        // Straight to stderr, not eprintln!: the test harness captures the
        // latter for passing tests, and a skip must be seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: set REGULARS_E2E=1 to run the end-to-end test {test} \
             (`make test-e2e` builds the app and runs them under xvfb-run)"
        );
        return false;
    }
    if let Err(e) = Env::get() {
        panic!("REGULARS_E2E=1 but the end-to-end tests cannot run: {e:#}");
    }
    true
}

/// Where the pieces are.
#[derive(Clone, Debug)]
pub struct Env {
    pub app: PathBuf,
    pub tauri_driver: PathBuf,
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl Env {
    pub fn get() -> Result<Env> {
        if std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty()) {
            bail!(
                "no DISPLAY: run under Xvfb, e.g. \
                 `REGULARS_E2E=1 xvfb-run -a -s '-screen 0 1280x800x24' cargo test -p regulars-e2e -- --test-threads=1` \
                 (or `make test-e2e`)"
            );
        }
        let tauri_driver = find_on_path("tauri-driver")
            .or_else(|| {
                let p = PathBuf::from(std::env::var_os("HOME")?).join(".cargo/bin/tauri-driver");
                p.is_file().then_some(p)
            })
            .ok_or_else(|| {
                anyhow!(
                    "tauri-driver not found on PATH or in ~/.cargo/bin: \
                     install it with `cargo install tauri-driver --version ^2 --locked`"
                )
            })?;
        if find_on_path("WebKitWebDriver").is_none() {
            bail!("WebKitWebDriver not found on PATH: `apt-get install webkit2gtk-driver` (or `make setup`)");
        }
        let app = match std::env::var_os("REGULARS_APP") {
            Some(p) => {
                let p = PathBuf::from(p);
                if !p.is_absolute() {
                    bail!("REGULARS_APP must be an absolute path, got {}", p.display());
                }
                if !p.is_file() {
                    bail!(
                        "REGULARS_APP={} does not exist: build it first",
                        p.display()
                    );
                }
                p
            }
            None => {
                let p = target_dir().join("debug/regulars-app");
                if !p.is_file() {
                    bail!(
                        "the app binary {} does not exist: build it with \
                         `(cd ui && npm run build) && cargo build -p regulars-app` (or `make app`), \
                         or point REGULARS_APP at one",
                        p.display()
                    );
                }
                p
            }
        };
        Ok(Env { app, tauri_driver })
    }
}

// ---------------------------------------------------------------------------
// Processes

/// Direct children of `pid`, from /proc.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(p);
        }
    }
    out
}

/// Every process below `pid`.
fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for c in children(p) {
            if !out.contains(&c) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    // A zombie has exited; only its parent's wait is missing.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next()),
            Some("Z") | Some("X")
        ),
        Err(_) => false,
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A running tauri-driver (which runs WebKitWebDriver, which runs the app).
/// Dropping it sends SIGTERM and waits, bounded, for the whole tree to exit.
struct DriverProcess {
    child: Option<Child>,
    log: PathBuf,
}

impl DriverProcess {
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let tree = descendants(child.id());
        // SIGTERM, not SIGKILL: tauri-driver then stops WebKitWebDriver too.
        signal(child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut exited = false;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                exited = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !exited {
            eprintln!(
                "e2e: tauri-driver {} ignored SIGTERM for 10 s; killing it",
                child.id()
            );
            let _ = child.kill();
            let _ = child.wait();
        }
        // Then the processes it started (WebKitWebDriver, the app, WebKit's
        // helpers): wait for them, and end stragglers by their ids.
        let wait_tree = |secs: u64| {
            let deadline = Instant::now() + Duration::from_secs(secs);
            while Instant::now() < deadline {
                if !tree.iter().any(|&p| alive(p)) {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            false
        };
        if !wait_tree(8) {
            for &p in &tree {
                if alive(p) {
                    eprintln!(
                        "e2e: process {p} (started by this test) outlived tauri-driver; SIGTERM"
                    );
                    signal(p, "TERM");
                }
            }
            if !wait_tree(5) {
                for &p in &tree {
                    if alive(p) {
                        signal(p, "KILL");
                    }
                }
            }
        }
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

fn port_free(p: u16) -> bool {
    TcpListener::bind(("127.0.0.1", p)).is_ok()
}

static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

/// Two free ports for tauri-driver and its native driver: a per-process
/// range (so concurrent test binaries do not collide) walked by a counter
/// (so an app still exiting from the previous test keeps its ports).
fn pick_ports() -> Result<(u16, u16)> {
    let base = 21_000 + (std::process::id() % 1_000) as u16 * 20;
    for _ in 0..10 {
        let n = NEXT_PORT.fetch_add(1, Ordering::Relaxed) % 10;
        let p = base + n * 2;
        if port_free(p) && port_free(p + 1) {
            return Ok((p, p + 1));
        }
    }
    // Fall back to ports the kernel picks.
    let a = TcpListener::bind("127.0.0.1:0")?;
    let b = TcpListener::bind("127.0.0.1:0")?;
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}

// ---------------------------------------------------------------------------
// The app

/// Where the app's WebKit keeps local storage for a test on `db`.
fn webview_data_dir(db: &Path) -> PathBuf {
    db.parent()
        .unwrap_or_else(|| Path::new("."))
        .join("webview-data")
}

/// One app window on one store file, driven through WebDriver.
pub struct App {
    pub driver: WebDriver,
    pub db: PathBuf,
    process: DriverProcess,
    quit: bool,
    /// When the harness last pressed a key like a person.
    last_human_key: std::sync::Mutex<Option<Instant>>,
}

/// A person does not type and scan within the same breath: at least this
/// long passes between their last keystroke and a scan. (The scanner
/// detector may join a lone key typed just before a burst as the burst's
/// late first character, which is right for a scanner and wrong for a
/// person; tests that want that case must say so explicitly.)
pub const HUMAN_TO_SCAN_PAUSE: Duration = Duration::from_millis(400);

impl App {
    /// Starts tauri-driver and opens the app on `db`; returns once the till
    /// screen is up and the store has answered.
    pub async fn launch(db: &Path) -> Result<App> {
        let env = Env::get()?;
        let (port, native_port) = pick_ports()?;
        let logs = target_dir().join("e2e-logs");
        std::fs::create_dir_all(&logs)?;
        let log = logs.join(format!("tauri-driver-{}-{port}.log", std::process::id()));
        let out = std::fs::File::create(&log)?;
        let child = Command::new(&env.tauri_driver)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            // Also via the environment, in case a driver drops `args`.
            .env("REGULARS_DB", db)
            // The window's own storage (this till's display and scanner
            // settings) lives beside the store file, so tests never share it
            // and a relaunch on the same file finds it again.
            .env("XDG_DATA_HOME", webview_data_dir(db))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", env.tauri_driver.display()))?;
        let mut process = DriverProcess {
            child: Some(child),
            log,
        };

        // Wait for both ports, bounded: tauri-driver listens at once, but
        // forwards to WebKitWebDriver, which may still be starting.
        let deadline = Instant::now() + Duration::from_secs(15);
        let listening = |p: u16| {
            TcpStream::connect_timeout(&([127, 0, 0, 1], p).into(), Duration::from_millis(200))
                .is_ok()
        };
        loop {
            if listening(port) && listening(native_port) {
                break;
            }
            if let Some(c) = process.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    bail!(
                        "tauri-driver exited ({status}) before listening:\n{}",
                        process.log_tail()
                    );
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "tauri-driver did not listen on port {port} within 15 s:\n{}",
                    process.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let caps: serde_json::Map<String, Value> = match json!({
            "browserName": "wry",
            "tauri:options": {
                "application": env.app,
                "args": ["--db", db],
            }
        }) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let mut attempt = 0;
        let driver = loop {
            attempt += 1;
            let r = tokio::time::timeout(
                Duration::from_secs(30),
                WebDriver::builder(format!("http://127.0.0.1:{port}"), caps.clone())
                    .request_timeout(Duration::from_secs(60)),
            )
            .await;
            // A refused connection means the native driver was not ready
            // yet: try once more.
            if attempt < 2
                && matches!(&r, Ok(Err(e)) if e.to_string().contains("Connection refused"))
            {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            break r;
        };
        let driver = match driver {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => bail!(
                "could not open a WebDriver session on the app: {e}\n{}",
                process.log_tail()
            ),
            Err(_) => bail!(
                "opening a WebDriver session took over 30 s\n{}",
                process.log_tail()
            ),
        };
        let app = App {
            driver,
            db: db.to_path_buf(),
            process,
            quit: false,
            last_human_key: std::sync::Mutex::new(None),
        };
        if let Err(e) = app.ready().await {
            let status = app.text_of("#status").await.unwrap_or_default();
            let shot = app.screenshot("FAILED-launch").await;
            let _ = app.close().await;
            let shot = shot.map(|p| p.display().to_string()).unwrap_or_default();
            return Err(e.context(format!(
                "app did not get ready; status bar: {status:?}; screen: {shot}"
            )));
        }
        Ok(app)
    }

    async fn ready(&self) -> Result<()> {
        self.wait_for("#search", Duration::from_secs(20))
            .await
            .context("the till screen did not appear")?;
        // The store answered (status bar shows the customer count).
        self.wait_for("[data-testid=customer-count]", Duration::from_secs(20))
            .await
            .context("the status bar never showed the store (store_info failed?)")?;
        Ok(())
    }

    /// Ends the session (closing the window) and stops the driver, waiting
    /// for every process it started to exit.
    pub async fn close(mut self) -> Result<()> {
        self.quit = true;
        let driver = self.driver.clone();
        let r = tokio::time::timeout(Duration::from_secs(15), driver.quit()).await;
        self.process.stop();
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow!("quitting the session failed: {e}")),
            Err(_) => Err(anyhow!("quitting the session took over 15 s")),
        }
    }

    // ----- waiting and reading

    /// Polls until `css` matches an element, up to `timeout`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<WebElement> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(mut found) = self.driver.find_all(By::Css(css)).await {
                if !found.is_empty() {
                    return Ok(found.swap_remove(0));
                }
            }
            if Instant::now() > deadline {
                bail!("timed out after {timeout:?} waiting for `{css}`");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Polls until `css` matches nothing, up to `timeout`.
    pub async fn wait_gone(&self, css: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if self
                .driver
                .find_all(By::Css(css))
                .await
                .map(|v| v.is_empty())
                .unwrap_or(false)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("timed out after {timeout:?} waiting for `{css}` to go");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Polls a JS expression until it is truthy; returns its value.
    pub async fn wait_js(&self, what: &str, expr: &str, timeout: Duration) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        let script = format!("return ({expr});");
        loop {
            let v = self.js_value(&script).await?;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return Ok(v);
            }
            if Instant::now() > deadline {
                bail!("timed out after {timeout:?} waiting for {what} (`{expr}`)");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Runs a script (with `return`) and gives its JSON value.
    pub async fn js_value(&self, script: &str) -> Result<Value> {
        Ok(self
            .driver
            .execute(script, Vec::<Value>::new())
            .await?
            .json()
            .clone())
    }

    /// Visible text of the first element matching `css`.
    pub async fn text_of(&self, css: &str) -> Result<String> {
        Ok(self
            .driver
            .find(By::Css(css))
            .await
            .with_context(|| format!("no `{css}` on screen"))?
            .text()
            .await?)
    }

    /// The `data-customer-id` of the open profile, if one is open.
    pub async fn profile_id(&self) -> Result<Option<String>> {
        let v = self
            .js_value("const p = document.getElementById('profile'); return p ? p.dataset.customerId : null;")
            .await?;
        Ok(v.as_str().map(str::to_string))
    }

    /// Waits for the profile of `id` to be on screen.
    pub async fn wait_profile(&self, id: &str) -> Result<()> {
        self.wait_js(
            &format!("the profile of {id}"),
            &format!("document.querySelector('#profile[data-customer-id=\"{id}\"]') !== null"),
            WAIT,
        )
        .await
        .map(|_| ())
    }

    /// `data-customer-id` of every search result row, in order.
    pub async fn result_ids(&self) -> Result<Vec<String>> {
        let v = self
            .js_value(
                "return [...document.querySelectorAll('[data-testid=result]')].map(e => e.dataset.customerId);",
            )
            .await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Current value of the search field.
    pub async fn search_value(&self) -> Result<String> {
        Ok(self
            .js_value("return document.getElementById('search').value;")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// The id of the focused element ("" for none, "BODY" when the body has it).
    pub async fn focused(&self) -> Result<String> {
        Ok(self
            .js_value(
                "const a = document.activeElement; \
                 return !a || a === document.body ? 'BODY' : (a.id || a.tagName);",
            )
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Takes focus away from every field (as if the cashier clicked nowhere).
    pub async fn blur_all(&self) -> Result<()> {
        self.js_value("document.activeElement && document.activeElement.blur(); return true;")
            .await?;
        Ok(())
    }

    /// Scan-to-paint timings recorded by the page, in ms.
    pub async fn scan_to_paint(&self) -> Result<Vec<f64>> {
        let v = self
            .js_value(
                "return (window.__regularsMetrics && window.__regularsMetrics.scanToPaint) || [];",
            )
            .await?;
        Ok(v.as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default())
    }

    // ----- input

    /// Types like a person: one key per WebDriver call, `ms_per_key` apart
    /// (well above the scanner's 30 ms burst gap).
    pub async fn type_slowly(&self, el: &WebElement, text: &str, ms_per_key: u64) -> Result<()> {
        for c in text.chars() {
            el.send_keys(c.to_string()).await?;
            self.human_key();
            tokio::time::sleep(Duration::from_millis(ms_per_key)).await;
        }
        Ok(())
    }

    fn human_key(&self) {
        *self
            .last_human_key
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// Presses keys on whatever has focus (no element targeted), like a
    /// person would, `ms_per_key` apart.
    pub async fn press_slowly(&self, keys: &str, ms_per_key: u64) -> Result<()> {
        for c in keys.chars() {
            self.driver
                .action_chain()
                .send_keys(c.to_string())
                .perform()
                .await?;
            self.human_key();
            tokio::time::sleep(Duration::from_millis(ms_per_key)).await;
        }
        Ok(())
    }

    /// Presses one special key on whatever has focus.
    pub async fn press(&self, key: Key) -> Result<()> {
        self.driver.action_chain().send_keys(key).perform().await?;
        Ok(())
    }

    /// What a keyboard-wedge barcode scanner does: the whole code, then
    /// Enter, as fast as possible, into whatever has focus (a field, or
    /// nothing at all). Waits first until [`HUMAN_TO_SCAN_PAUSE`] has passed
    /// since the last key the harness typed like a person.
    pub async fn scanner_burst(&self, code: &str) -> Result<()> {
        let last = *self
            .last_human_key
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(t) = last {
            let since = t.elapsed();
            if since < HUMAN_TO_SCAN_PAUSE {
                tokio::time::sleep(HUMAN_TO_SCAN_PAUSE - since).await;
            }
        }
        self.scanner_burst_now(code).await
    }

    /// [`App::scanner_burst`] without the pause after human typing.
    pub async fn scanner_burst_now(&self, code: &str) -> Result<()> {
        self.driver
            .action_chain()
            .send_keys(code.to_string() + Key::Enter)
            .perform()
            .await?;
        Ok(())
    }

    /// Sets a field's value at once (a paste), firing `input` like the
    /// browser does.
    pub async fn paste_into(&self, css: &str, text: &str) -> Result<()> {
        let el = self.driver.find(By::Css(css)).await?;
        self.driver
            .execute(
                "const el = arguments[0]; el.focus(); el.value = arguments[1]; \
                 el.dispatchEvent(new Event('input', { bubbles: true })); return true;",
                vec![el.to_json()?, json!(text)],
            )
            .await?;
        Ok(())
    }

    // ----- screenshots

    /// Waits two animation frames (so the frame on screen is current) and
    /// saves a PNG of the window to `target/e2e-screens/{name}.png`.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let dir = target_dir().join("e2e-screens");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        self.screenshot_to(&path).await?;
        Ok(path)
    }

    /// Captures the screen the way a person sees it: the X display (the
    /// window fills the Xvfb screen; there is no window manager). WebDriver's
    /// own screenshot hangs when WebKit's compositing mode is off, which is
    /// how the app runs in production, so it is only the fallback when
    /// ImageMagick's `import` is missing.
    pub async fn screenshot_to(&self, path: &Path) -> Result<()> {
        self.two_frames().await?;
        let x = tokio::process::Command::new("import")
            .args(["-window", "root"])
            .arg(path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output();
        match tokio::time::timeout(Duration::from_secs(20), x).await {
            Ok(Ok(out)) if out.status.success() => return Ok(()),
            Ok(Ok(out)) => eprintln!(
                "e2e: import failed ({}); trying WebDriver's screenshot",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Ok(Err(e)) => eprintln!("e2e: no import ({e}); trying WebDriver's screenshot"),
            Err(_) => bail!("screenshot with import timed out after 20 s"),
        }
        tokio::time::timeout(Duration::from_secs(30), self.driver.screenshot(path))
            .await
            .map_err(|_| anyhow!("WebDriver screenshot timed out after 30 s"))??;
        Ok(())
    }

    /// Resolves after two animation frames.
    pub async fn two_frames(&self) -> Result<()> {
        self.driver
            .execute_async(
                "const done = arguments[arguments.length - 1]; \
                 requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                Vec::<Value>::new(),
            )
            .await?;
        Ok(())
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if !self.quit {
            // A failing test (no async here for a last screenshot).
            eprintln!("e2e: app not closed by the test (failure?); stopping tauri-driver");
        }
        self.process.stop();
    }
}

/// Runs `body` on a launched app, saving a screenshot named after the test
/// if it fails, and always closing the app.
pub async fn with_app<T, F>(name: &str, db: &Path, body: F) -> Result<T>
where
    F: AsyncFnOnce(&App) -> Result<T>,
{
    let app = App::launch(db).await?;
    let r = body(&app).await;
    if r.is_err() {
        match app.screenshot(&format!("FAILED-{name}")).await {
            Ok(p) => eprintln!("e2e: screen at failure saved to {}", p.display()),
            Err(e) => eprintln!("e2e: could not save a failure screenshot: {e}"),
        }
    }
    let closed = app.close().await;
    let v = r?;
    closed?;
    Ok(v)
}
