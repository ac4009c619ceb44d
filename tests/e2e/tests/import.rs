//! Import from the old POS, from the till: a small customer list with one
//! bad row is checked first (dry run: the report says what would happen and
//! the store is unchanged), then imported (the bad row is reported with its
//! line and column, in the dialog and in the CSV error report; the status bar
//! counts the new customers; they are found by name), then imported again
//! (everything is already present).

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use regulars_e2e::{e2e_or_skip, with_app, App, By, Fixture, WAIT};
use serde_json::Value;

/// Milliseconds between a person's keystrokes.
const HUMAN_MS: u64 = 60;

/// Long enough for an import on a loaded machine.
const IMPORT_WAIT: Duration = Duration::from_secs(60);

const CSV: &str = "external_ref,given_name,family_name,phone,email,card\n\
OLD-1001,Philippa,Quennell,(802) 555-0143,philippa.quennell@example.com,\n\
OLD-1002,Barnaby,Okonkwo,(802) 555-0172,,\n\
OLD-1003,Ignatius,Brill,12,ignatius@example.com,\n\
OLD-1004,Ottoline,Vasquez,(802) 555-0119,ottoline@example.net,\n";

/// The line of the bad row in the file (the header is line 1).
const BAD_LINE: i64 = 4;

fn customers_in_db(f: &Fixture) -> Result<i64> {
    let conn = rusqlite::Connection::open(&f.db)?;
    Ok(conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?)
}

fn imported_refs(f: &Fixture) -> Result<Vec<String>> {
    let conn = rusqlite::Connection::open(&f.db)?;
    let mut st = conn.prepare(
        "SELECT external_ref FROM customers WHERE external_ref LIKE 'OLD-%' ORDER BY external_ref",
    )?;
    let refs = st
        .query_map([], |r| r.get(0))?
        .collect::<std::result::Result<Vec<String>, _>>()?;
    Ok(refs)
}

/// The number in the status bar's customer count.
async fn status_count(app: &App) -> Result<i64> {
    let t = app.text_of("[data-testid=customer-count]").await?;
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    digits
        .parse()
        .with_context(|| format!("customer count shows {t:?}"))
}

async fn click(app: &App, css: &str) -> Result<()> {
    app.wait_for(css, WAIT)
        .await?
        .click()
        .await
        .with_context(|| format!("clicking `{css}`"))
}

/// The report's figures (imported, rejected, skipped), once it is on screen
/// and no import is running.
async fn wait_report(app: &App, what: &str) -> Result<(i64, i64, i64)> {
    let v = app
        .wait_js(
            what,
            "(() => { const r = document.getElementById('import-report'); \
              if (!r || document.getElementById('import-progress')) return null; \
              return [Number(r.dataset.imported), Number(r.dataset.rejected), Number(r.dataset.skipped)]; })()",
            IMPORT_WAIT,
        )
        .await
        .with_context(|| {
            format!("{what}: no report (error message: see the failure screenshot)")
        })?;
    let n = |i: usize| v[i].as_i64().unwrap_or(-1);
    Ok((n(0), n(1), n(2)))
}

/// The rejected rows shown, as (line, column).
async fn error_rows(app: &App) -> Result<Vec<(i64, String)>> {
    let v = app
        .js_value(
            "return [...document.querySelectorAll('[data-testid=import-error]')]\
             .map(e => [Number(e.dataset.line), e.dataset.column]);",
        )
        .await?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| Some((x[0].as_i64()?, x[1].as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default())
}

async fn set_dry_run(app: &App, on: bool) -> Result<()> {
    let el = app.driver.find(By::Css("#import-dry-run")).await?;
    if el.is_selected().await? != on {
        el.click().await?;
    }
    ensure!(
        el.is_selected().await? == on,
        "the dry-run checkbox did not become {on}"
    );
    Ok(())
}

async fn choose_mapping(app: &App, value: &str) -> Result<()> {
    // Clicking the option itself (WebDriver selects it); clicking the
    // select would open WebKitGTK's native popup, which blocks the session.
    let option = app
        .driver
        .find(By::Css(format!("#import-mapping option[value='{value}']")))
        .await?;
    option.click().await?;
    let chosen = app
        .js_value("return document.getElementById('import-mapping').value;")
        .await?;
    if chosen.as_str() != Some(value) {
        // Then as the page would see a choice made with the keyboard.
        app.driver
            .execute(
                "const s = document.getElementById('import-mapping'); s.value = arguments[0]; \
                 s.dispatchEvent(new Event('change', { bubbles: true })); return true;",
                vec![Value::String(value.to_string())],
            )
            .await?;
    }
    let chosen = app
        .js_value("return document.getElementById('import-mapping').value;")
        .await?;
    ensure!(
        chosen.as_str() == Some(value),
        "the mapping select shows {chosen:?}, not {value}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_list_is_checked_imported_and_imported_again() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    let csv = f.dir.path().join("old-pos-customers.csv");
    std::fs::write(&csv, CSV)?;
    let csv_path = csv.to_str().context("temp path is not UTF-8")?.to_string();
    let before = customers_in_db(&f)?;

    with_app("import_customers", &f.db, async |app| {
        let shown_before = status_count(app).await?;
        ensure!(
            shown_before == before,
            "status bar shows {shown_before}, the store has {before}"
        );

        // ----- open the dialog, fill it in
        click(app, "#import-open").await?;
        app.wait_for("#import-dialog[open]", WAIT).await?;
        let paths = app.wait_for("#import-paths", WAIT).await?;
        paths.click().await?;
        // No Enter in the path: it cannot look like a scan.
        paths.send_keys(&csv_path).await?;
        let typed = app
            .js_value("return document.getElementById('import-paths').value;")
            .await?;
        ensure!(
            typed.as_str() == Some(csv_path.as_str()),
            "the path field holds {typed:?}"
        );
        choose_mapping(app, "customers").await?;
        set_dry_run(app, true).await?;
        app.screenshot("import-dialog-filled").await?;

        // ----- dry run
        click(app, "#import-start").await?;
        let (imported, rejected, skipped) = wait_report(app, "the dry run's report").await?;
        ensure!(
            (imported, rejected, skipped) == (3, 1, 0),
            "dry run: imported/rejected/skipped = {imported}/{rejected}/{skipped}, expected 3/1/0"
        );
        let dry = app
            .js_value("return document.getElementById('import-report').dataset.dryRun;")
            .await?;
        ensure!(dry.as_str() == Some("true"), "report not marked dry run: {dry:?}");
        let text = app.text_of("#import-report").await?;
        ensure!(
            text.contains("nothing was written"),
            "the dry run's report does not say nothing was written: {text:?}"
        );
        ensure!(
            customers_in_db(&f)? == before,
            "the dry run wrote customers to the store"
        );
        ensure!(imported_refs(&f)?.is_empty(), "the dry run imported rows");
        app.screenshot("import-dry-run").await?;

        // ----- the real import
        set_dry_run(app, false).await?;
        click(app, "#import-start").await?;
        let (imported, rejected, skipped) = wait_report(app, "the import's report").await?;
        ensure!(
            (imported, rejected, skipped) == (3, 1, 0),
            "import: imported/rejected/skipped = {imported}/{rejected}/{skipped}, expected 3/1/0"
        );
        let dry = app
            .js_value("return document.getElementById('import-report').dataset.dryRun;")
            .await?;
        ensure!(dry.as_str() == Some("false"), "a real import marked dry run: {dry:?}");
        let rows = error_rows(app).await?;
        ensure!(
            rows == vec![(BAD_LINE, "phone".to_string())],
            "rejected rows shown: {rows:?}, expected line {BAD_LINE}, column phone"
        );
        let report_path = app
            .wait_for("#import-error-report", WAIT)
            .await?
            .attr("data-path")
            .await?
            .context("the error report has no data-path")?;
        let report = std::fs::read_to_string(&report_path)
            .with_context(|| format!("reading the error report {report_path}"))?;
        let listed = report.lines().skip(1).any(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            cols.get(1) == Some(&BAD_LINE.to_string().as_str()) && cols.get(2) == Some(&"phone")
        });
        ensure!(
            listed,
            "the error report does not list line {BAD_LINE} (phone):\n{report}"
        );
        ensure!(
            imported_refs(&f)? == ["OLD-1001", "OLD-1002", "OLD-1004"],
            "imported refs in the store: {:?}",
            imported_refs(&f)?
        );
        ensure!(customers_in_db(&f)? == before + 3, "the store did not gain 3 customers");
        // The status bar catches up.
        app.wait_js(
            "the status bar to count 3 more customers",
            &format!(
                "Number(document.querySelector('[data-testid=customer-count]').textContent.replace(/\\D/g, '')) === {}",
                before + 3
            ),
            WAIT,
        )
        .await?;
        app.screenshot("import-done").await?;

        // ----- the same file again: everything is already there
        click(app, "#import-start").await?;
        // Wait for the new run to replace the old report.
        let (imported, rejected, skipped) = {
            let deadline = std::time::Instant::now() + IMPORT_WAIT;
            loop {
                let r = wait_report(app, "the second import's report").await?;
                if r.2 == 3 || std::time::Instant::now() > deadline {
                    break r;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        ensure!(
            (imported, skipped) == (0, 3),
            "import again: imported/rejected/skipped = {imported}/{rejected}/{skipped}, expected 0/1/3"
        );
        ensure!(
            customers_in_db(&f)? == before + 3,
            "importing again changed the customer count"
        );
        app.screenshot("import-again").await?;

        // ----- a file that is not there: the error is shown, nothing written
        let missing = f.dir.path().join("not-exported-yet.csv");
        app.paste_into("#import-paths", missing.to_str().context("temp path")?)
            .await?;
        click(app, "#import-start").await?;
        let shown = app
            .wait_for("#import-error-message", IMPORT_WAIT)
            .await?
            .text()
            .await?;
        ensure!(
            shown.contains("not-exported-yet.csv"),
            "the error message does not name the missing file: {shown:?}"
        );
        ensure!(
            app.driver.find_all(By::Css("#import-report")).await?.is_empty(),
            "a report is shown next to the error"
        );
        app.screenshot("import-missing-file").await?;

        // ----- close, and find an imported customer at the till
        click(app, "#import-cancel").await?;
        app.wait_gone("#import-dialog", WAIT).await?;
        let search = app.wait_for("#search", WAIT).await?;
        search.click().await?;
        app.type_slowly(&search, "Quennell", HUMAN_MS).await?;
        let found = app
            .wait_js(
                "Philippa Quennell in the results",
                "[...document.querySelectorAll('[data-testid=result]')]\
                 .some(e => e.textContent.includes('Quennell'))",
                WAIT,
            )
            .await;
        ensure!(found.is_ok(), "searching 'Quennell' did not find the imported customer");
        Ok(())
    })
    .await
}

/// A long import shows its progress (rows of the estimate, rows/s, time
/// left, the file) and stops after the batch in progress when cancelled.
#[tokio::test(flavor = "multi_thread")]
async fn a_long_import_shows_progress_and_can_be_cancelled() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    let csv = f.dir.path().join("big-customer-list.csv");
    const ROWS: i64 = 400_000;
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&csv)?);
        writeln!(w, "external_ref,given_name,family_name,phone,email,card")?;
        for i in 0..ROWS {
            writeln!(
                w,
                "BIG-{i},Given{i},Family{i},(802) 555-{:04},g{i}@example.com,",
                i % 10_000
            )?;
        }
        w.flush()?;
    }
    let csv_path = csv.to_str().context("temp path is not UTF-8")?.to_string();
    let before = customers_in_db(&f)?;

    with_app("import_cancel", &f.db, async |app| {
        click(app, "#import-open").await?;
        app.wait_for("#import-dialog[open]", WAIT).await?;
        app.paste_into("#import-paths", &csv_path).await?;
        choose_mapping(app, "customers").await?;
        set_dry_run(app, true).await?;
        click(app, "#import-start").await?;
        // The first batch's progress (batches are 100,000 rows).
        app.wait_js(
            "progress after the first batch",
            "(() => { const p = document.getElementById('import-progress'); \
              return p && Number(p.dataset.rowsDone) > 0; })()",
            IMPORT_WAIT,
        )
        .await?;
        let text = app.text_of("#import-progress").await?;
        ensure!(
            text.contains("rows/s") && text.contains("big-customer-list.csv"),
            "the progress does not show the rate and the file: {text:?}"
        );
        app.screenshot("import-progress").await?;
        click(app, "#import-cancel").await?;
        let v = app
            .wait_js(
                "the cancelled import's report",
                "(() => { const r = document.getElementById('import-report'); \
                  return r && !document.getElementById('import-progress') \
                    ? [r.dataset.cancelled, Number(r.dataset.rows)] : null; })()",
                IMPORT_WAIT,
            )
            .await?;
        ensure!(
            v[0].as_str() == Some("true"),
            "the report is not marked cancelled: {v:?}"
        );
        let rows = v[1].as_i64().unwrap_or(-1);
        ensure!(
            rows > 0 && rows < ROWS,
            "a cancelled import read {rows} of {ROWS} rows"
        );
        let text = app.text_of("#import-report").await?;
        ensure!(
            text.contains("Cancelled") && text.contains("stopped early"),
            "the report does not say cancelled / dry run: {text:?}"
        );
        ensure!(customers_in_db(&f)? == before, "a dry run wrote customers");
        app.screenshot("import-cancelled").await?;
        Ok(())
    })
    .await
}
