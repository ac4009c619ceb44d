//! Sync in the real window. Without a server: the status bar says "Not
//! connected" and enrolling against a closed port says the server cannot be
//! reached (nothing is saved). With a real `regulars-server` process on
//! 127.0.0.1: the owner enrolls the app from Staff and data with a one-time
//! code; a second till (the `regulars` CLI) enrolls with its own code; a sale rung up in the app reaches the second
//! till within seconds; a note written on the second till shows in the
//! app's profile after "Sync now".

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use regulars_core::model::{NewNote, ProductDraft, Visibility};
use regulars_core::Regulars;
use regulars_e2e::{e2e_or_skip, with_app, workspace_root, App, By, Fixture, Key, WAIT};

/// The demo shop's owner (every demo store has one).
const OWNER_PIN: &str = "1234";
const NOTE: &str = "Asked for the blue teapot at the other till";
/// How long a sale may take to reach the other till in this test (the goal
/// is a second; a debug build under Xvfb on a shared machine gets slack).
const REACH: Duration = Duration::from_secs(10);

async fn open_server_settings(app: &App) -> Result<()> {
    app.driver
        .find(By::Id("backoffice-open"))
        .await?
        .click()
        .await?;
    let pin = app.wait_for("#pin-input", WAIT).await?;
    pin.click().await?;
    app.type_slowly(&pin, OWNER_PIN, 40).await?;
    app.press(Key::Enter).await?;
    app.wait_for("#owner-view", WAIT).await?;
    app.driver
        .find(By::Id("owner-tab-staff"))
        .await?
        .click()
        .await?;
    app.wait_for("#server-heading", WAIT).await?;
    Ok(())
}

async fn fill(app: &App, css: &str, text: &str) -> Result<()> {
    let el = app.wait_for(css, WAIT).await?;
    el.clear().await?;
    el.click().await?;
    app.type_slowly(&el, text, 10).await
}

async fn enroll_in_app(app: &App, url: &str, code: &str) -> Result<()> {
    fill(app, "#server-url-input", url).await?;
    fill(app, "#server-code", code).await?;
    fill(app, "#server-name", "Front counter").await?;
    app.driver
        .find(By::Id("server-enroll"))
        .await?
        .click()
        .await?;
    Ok(())
}

async fn sync_state(app: &App) -> Result<String> {
    Ok(app
        .js_value("return document.querySelector('[data-testid=sync-state]').dataset.state;")
        .await?
        .as_str()
        .unwrap_or_default()
        .to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn enrolling_against_a_closed_port_says_the_server_is_unreachable() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    // A port nobody listens on: bound, noted, closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let url = format!("http://127.0.0.1:{port}");
    with_app("sync_offline", &f.db, async |app| {
        app.wait_js(
            "the status bar to say the till is not connected",
            "(document.querySelector('[data-testid=sync-state]') || {}).textContent === 'Not connected'",
            WAIT,
        )
        .await?;
        ensure!(
            app.js_value("return !document.getElementById('sync-now');")
                .await?
                == true,
            "Sync now is offered on a till with no server"
        );
        open_server_settings(app).await?;
        enroll_in_app(app, &url, "ABCD-EFGH").await?;
        let said = app
            .wait_js(
                "the enrolment to fail with a clear message",
                "(document.querySelector('[data-testid=server-error]') || {}).textContent",
                Duration::from_secs(20),
            )
            .await?;
        let said = said.as_str().unwrap_or_default();
        ensure!(
            said.contains("cannot reach the server") && said.contains(&url),
            "the enrolment error says {said:?}"
        );
        app.check_accessibility("Staff and data, server enrolment failed")
            .await?;
        app.screenshot("sync-enroll-offline").await?;
        Ok(())
    })
    .await?;
    ensure!(
        !f.open()?.sync_status()?.enrolled,
        "a failed enrolment left the till enrolled"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// With a real server

/// A binary of this workspace: `$ENV`, else the debug build beside the app.
fn binary(env: &str, name: &str, package: &str) -> Result<PathBuf> {
    let p = match std::env::var_os(env) {
        Some(p) => PathBuf::from(p),
        None => std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"))
            .join("debug")
            .join(name),
    };
    ensure!(
        p.is_file(),
        "{} does not exist: build it with `cargo build -p {package}` (or point {env} at one)",
        p.display()
    );
    Ok(p)
}

/// A `regulars-server` process, killed and reaped when dropped.
struct Server {
    child: Child,
    url: String,
    data: PathBuf,
    bin: PathBuf,
}

impl Server {
    fn start(data: &Path) -> Result<Server> {
        let bin = binary("REGULARS_SERVER", "regulars-server", "regulars-server")?;
        let mut child = Command::new(&bin)
            .arg("--data")
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        // The first line is "listening on http://ADDR"; read it off-thread so
        // a server that never prints cannot hang the test.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut server = Server {
            child,
            url: String::new(),
            data: data.to_path_buf(),
            bin,
        };
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .context("the server printed no address within 20 s")?;
        server.url = line
            .trim()
            .strip_prefix("listening on ")
            .with_context(|| format!("the server's first line was {line:?}"))?
            .to_string();
        Ok(server)
    }

    /// A one-time code from `regulars-server --data DIR enroll --store Shop`.
    fn code(&self) -> Result<String> {
        let out = Command::new(&self.bin)
            .arg("--data")
            .arg(&self.data)
            .args(["enroll", "--store", "Shop"])
            .output()?;
        ensure!(out.status.success(), "enroll failed: {}", out.status);
        let code = String::from_utf8(out.stdout)?.trim().to_string();
        ensure!(!code.is_empty(), "enroll printed no code");
        Ok(code)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The second till: the `regulars` CLI on a store of its own (enroll,
/// sync), and the core for what the CLI has no command for (a note).
struct OtherTill {
    cli: PathBuf,
    db: PathBuf,
}

impl OtherTill {
    fn run(&self, args: &[&str]) -> Result<String> {
        let out = Command::new(&self.cli)
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running regulars {args:?}"))?;
        ensure!(
            out.status.success(),
            "regulars {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8(out.stdout)?)
    }

    fn enroll(db: PathBuf, url: &str, code: &str) -> Result<OtherTill> {
        let till = OtherTill {
            cli: binary("REGULARS_CLI", "regulars", "regulars-cli")?,
            db,
        };
        till.run(&[
            "enroll", "--server", url, "--code", code, "--name", "Till 2",
        ])?;
        Ok(till)
    }

    fn sync(&self) -> Result<()> {
        self.run(&["sync"]).map(drop)
    }

    fn open(&self) -> Result<Regulars> {
        Ok(Regulars::open(&self.db)?)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sale_reaches_the_other_till_and_its_note_comes_back() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    let m = f.margaret.clone();
    let barcode = "4006381333931";
    {
        let mut r = f.open()?;
        r.save_product(
            None,
            &ProductDraft {
                barcode: Some(barcode.into()),
                name: "Blue teapot".into(),
                department: Some("Kitchen".into()),
                category: Some("Tea".into()),
                price_cents: 2_450,
                considered: false,
            },
        )?;
    }
    let server_dir = tempfile::tempdir()?;
    let server = Server::start(server_dir.path())?;
    let app_code = server.code()?;
    let till_code = server.code()?;
    let till_dir = tempfile::tempdir()?;

    with_app("sync_two_tills", &f.db, async |app| {
        // The owner enrolls the app from Staff and data.
        open_server_settings(app).await?;
        enroll_in_app(app, &server.url, &app_code).await?;
        app.wait_js(
            "the server settings to show the enrolment",
            "(document.querySelector('[data-testid=server-store]') || {}).textContent === 'Shop'",
            Duration::from_secs(20),
        )
        .await?;
        app.check_accessibility("Staff and data, enrolled").await?;
        app.screenshot("sync-enrolled").await?;
        app.driver.find(By::Id("owner-back")).await?.click().await?;
        app.wait_for("#search", WAIT).await?;
        app.wait_js(
            "the status bar to say online",
            "(document.querySelector('[data-testid=sync-state]') || {}).dataset?.state === 'online'",
            Duration::from_secs(30),
        )
        .await?;

        // The second till bootstraps from what the app pushed.
        let other = OtherTill::enroll(till_dir.path().join("till2.db"), &server.url, &till_code)?;
        other.sync()?;

        // A sale for Margaret in the app.
        app.blur_all().await?;
        app.scanner_burst(&m.card).await?;
        app.wait_for(
            &format!("#basket-customer[data-customer-id='{}']", m.id),
            WAIT,
        )
        .await?;
        app.blur_all().await?;
        app.scanner_burst(barcode).await?;
        app.wait_js(
            "the teapot on the sale",
            "document.querySelectorAll('[data-testid=basket-line]').length === 1",
            WAIT,
        )
        .await?;
        app.press(Key::F9).await?;
        let done = app.wait_for("[data-testid=sale-done]", WAIT).await?;
        let sale_id = done
            .attr("data-sale-id")
            .await?
            .context("the confirmation has no sale id")?;
        let completed = Instant::now();

        // It reaches the other till by itself (the sale wakes the app's sync).
        let sale = loop {
            other.sync()?;
            let found = other
                .open()?
                .recent_sales(50)?
                .into_iter()
                .find(|s| s.id.to_string() == sale_id);
            if let Some(s) = found {
                break s;
            }
            if completed.elapsed() > REACH {
                bail!("the sale did not reach the other till within {REACH:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let took = completed.elapsed();
        eprintln!("e2e sync: the sale reached the other till after {took:?}");
        ensure!(
            sale.customer_id.map(|c| c.to_string()) == Some(m.id.clone()),
            "the other till has the sale without Margaret"
        );
        ensure!(sale.total_cents == 2_450, "total {}", sale.total_cents);

        // A note on the other till comes back to the app after Sync now.
        other.open()?.add_note(
            m.id.parse()?,
            &NewNote {
                body: NOTE.into(),
                author: "Sam".into(),
                visibility: Visibility::Staff,
                follow_up_on: None,
                expires_on: None,
            },
        )?;
        other.sync()?;
        // Sync now by keyboard: it is a button in the tab order.
        app.js_value("document.getElementById('sync-now').focus(); return true;")
            .await?;
        app.press(Key::Enter).await?;
        app.wait_js(
            "the round asked for to end online",
            "(document.querySelector('[data-testid=sync-state]') || {}).dataset?.state === 'online'",
            Duration::from_secs(20),
        )
        .await?;
        app.blur_all().await?;
        app.scanner_burst(&m.card).await?;
        app.wait_profile(&m.id).await?;
        app.wait_js(
            "the other till's note in Margaret's profile",
            &format!("document.getElementById('profile').textContent.includes({NOTE:?})"),
            WAIT,
        )
        .await?;
        ensure!(
            sync_state(app).await? == "online",
            "the status bar is not online at the end"
        );
        app.screenshot("sync-note-arrived").await?;
        Ok(())
    })
    .await?;
    drop(server);
    Ok(())
}
