//! Recognising a returning customer at the till: scanner bursts from any
//! screen, misspelt names typed by a person, bad and unknown cards, and
//! search text that tries to break things.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use regulars_core::card::CardNumber;
use regulars_e2e::{e2e_or_skip, with_app, App, Fixture, Key, WAIT};

/// Milliseconds between a person's keystrokes (a quick typist).
const HUMAN_MS: u64 = 60;

async fn expect_profile(app: &App, id: &str, name: &str) -> Result<()> {
    app.wait_profile(id).await?;
    let shown = app.text_of("[data-testid=profile-name]").await?;
    ensure!(shown == name, "profile shows {shown:?}, expected {name:?}");
    Ok(())
}

/// Back to the home screen: profile closed, search empty.
async fn home(app: &App) -> Result<()> {
    app.js_value("document.getElementById('search').focus(); return true;")
        .await?;
    // Esc clears the field, a second Esc closes the profile.
    app.press(Key::Escape).await?;
    tokio::time::sleep(Duration::from_millis(60)).await;
    app.press(Key::Escape).await?;
    app.wait_gone("#profile", WAIT)
        .await
        .context("Esc in the empty search field should close the profile")?;
    ensure!(
        app.search_value().await?.is_empty(),
        "search field not cleared by Esc"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn scanner_burst_opens_the_profile_from_anywhere() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    let m = f.margaret.clone();
    with_app("scanner_burst", &f.db, async |app| {
        // 1. Home screen, nothing focused.
        ensure!(
            app.profile_id().await?.is_none(),
            "a profile is open at start"
        );
        app.blur_all().await?;
        ensure!(app.focused().await? == "BODY", "something still has focus");
        app.scanner_burst(&m.card).await?;
        expect_profile(app, &m.id, &m.name())
            .await
            .context("burst with nothing focused")?;
        ensure!(
            app.search_value().await?.is_empty(),
            "the burst leaked into the search field"
        );
        app.screenshot("recognition-scan-home").await?;

        // 2. Search field focused and empty.
        home(app).await?;
        ensure!(
            app.focused().await? == "search",
            "search should have focus, has {}",
            app.focused().await?
        );
        app.scanner_burst(&m.card).await?;
        expect_profile(app, &m.id, &m.name())
            .await
            .context("burst into the focused search field")?;
        let left = app.search_value().await?;
        ensure!(
            left.is_empty(),
            "burst characters stayed in the search field: {left:?}"
        );

        // 3. Search field focused with a half-typed name: the burst must
        //    leave exactly what the person typed.
        home(app).await?;
        let search = app.wait_for("#search", WAIT).await?;
        app.type_slowly(&search, "joh", HUMAN_MS).await?;
        app.wait_for("[data-testid=result]", WAIT).await?;
        tokio::time::sleep(Duration::from_millis(80)).await;
        app.scanner_burst(&m.card).await?;
        expect_profile(app, &m.id, &m.name())
            .await
            .context("burst into a half-typed search")?;
        let left = app.search_value().await?;
        ensure!(
            left == "joh",
            "search field holds {left:?} after the burst, expected \"joh\""
        );

        // 4. From another customer's profile (the profile has focus).
        app.scanner_burst(&f.john_regular.card).await?;
        expect_profile(app, &f.john_regular.id, "John Smith")
            .await
            .context("burst over an open profile")?;

        // Each scan is timed once its profile is painted (two frames later).
        app.wait_js(
            "a scanToPaint sample for each of the 4 scans",
            "window.__regularsMetrics.scanToPaint.length >= 4",
            WAIT,
        )
        .await?;
        let times = app.scan_to_paint().await?;
        ensure!(
            times.len() == 4,
            "expected 4 scanToPaint samples, got {times:?}"
        );
        eprintln!("scanToPaint (debug build): {times:?} ms");
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn misspelt_names_typed_by_a_person_find_the_right_customer() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    with_app("misspelt_names", &f.db, async |app| {
        let search = app.wait_for("#search", WAIT).await?;

        app.type_slowly(&search, "Margret Thornten", HUMAN_MS).await?;
        let first = app
            .wait_js(
                "Margaret as the first result",
                &format!(
                    "(() => {{ const r = document.querySelector('[data-testid=result]'); \
                     return r && r.dataset.customerId === '{}'; }})()",
                    f.margaret.id
                ),
                WAIT,
            )
            .await;
        if first.is_err() {
            anyhow::bail!("\"Margret Thornten\" did not put Margaret first; results: {:?}", app.result_ids().await?);
        }
        let row = app.text_of("[data-testid=result]").await?;
        ensure!(row.contains("Thornton"), "first row does not say Thornton: {row:?}");
        app.screenshot("recognition-misspelt").await?;
        // Enter opens the highlighted (first) result.
        app.press(Key::Enter).await?;
        app.wait_profile(&f.margaret.id).await?;

        // Two John Smiths, misspelt: both found, the regular first.
        app.js_value("document.getElementById('search').focus(); return true;").await?;
        app.press(Key::Escape).await?;
        app.wait_js("an empty search field", "document.getElementById('search').value === ''", WAIT)
            .await?;
        app.type_slowly(&search, "Jon Smyth", HUMAN_MS).await?;
        let want = [f.john_regular.id.clone(), f.john_other.id.clone()];
        let got = app
            .wait_js(
                "both John Smiths in the results",
                &format!(
                    "(() => {{ const ids = [...document.querySelectorAll('[data-testid=result]')].map(e => e.dataset.customerId); \
                     return ids.includes('{}') && ids.includes('{}') ? ids : null; }})()",
                    want[0], want[1]
                ),
                WAIT,
            )
            .await
            .with_context(|| "\"Jon Smyth\" did not find both John Smiths")?;
        let ids: Vec<&str> = got.as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        ensure!(
            ids[0] == f.john_regular.id,
            "the regular John Smith should come first; order was {ids:?} (regular {}, other {})",
            f.john_regular.id,
            f.john_other.id
        );
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_check_digit_and_unknown_cards() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    let m = f.margaret.clone();
    // Margaret's card with its check digit changed.
    let mut bad = m.card.clone();
    let last = bad.pop().unwrap().to_digit(10).unwrap();
    bad.push(char::from_digit((last + 1) % 10, 10).unwrap());
    // A valid store card that nobody holds.
    let unknown = CardNumber::issue(7_654_321)?.to_string();
    with_app("bad_and_unknown_cards", &f.db, async |app| {
        app.blur_all().await?;
        app.scanner_burst(&bad).await?;
        let msg = app
            .wait_js(
                "a check-digit message",
                "document.querySelector('[data-testid=scan-message]').textContent.trim()",
                WAIT,
            )
            .await?;
        let msg = msg.as_str().unwrap_or_default().to_lowercase();
        ensure!(
            msg.contains("check digit"),
            "scan message does not mention the check digit: {msg:?}"
        );
        ensure!(
            app.profile_id().await?.is_none(),
            "a bad scan opened a profile"
        );
        ensure!(
            app.driver
                .find_all(regulars_e2e::By::Css("#unknown-card"))
                .await?
                .is_empty(),
            "a bad check digit was treated as an unknown card"
        );
        app.screenshot("recognition-bad-check-digit").await?;

        app.scanner_burst(&unknown).await?;
        let dialog = app.wait_for("#unknown-card", WAIT).await?;
        let text = dialog.text().await?;
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        ensure!(
            digits.contains(&unknown),
            "the unknown-card dialog does not show {unknown}: {text:?}"
        );
        app.wait_for("#unknown-enrol", WAIT).await?;
        app.wait_for("#unknown-attach", WAIT).await?;
        app.screenshot("recognition-unknown-card").await?;

        // Attach it to Margaret: afterwards the card finds her.
        app.driver
            .find(regulars_e2e::By::Id("unknown-attach"))
            .await?
            .click()
            .await?;
        let attach = app.wait_for("#attach-search", WAIT).await?;
        app.type_slowly(&attach, "Thornton", HUMAN_MS).await?;
        app.wait_for(
            &format!("[data-testid=attach-result][data-customer-id='{}']", m.id),
            WAIT,
        )
        .await?;
        app.driver
            .find(regulars_e2e::By::Css(format!(
                "[data-testid=attach-result][data-customer-id='{}']",
                m.id
            )))
            .await?
            .click()
            .await?;
        app.wait_gone("#unknown-card", WAIT).await?;
        app.wait_profile(&m.id).await?;
        app.js_value("document.getElementById('search').focus(); return true;")
            .await?;
        app.press(Key::Escape).await?;
        app.wait_gone("#profile", WAIT).await?;
        app.blur_all().await?;
        app.scanner_burst(&unknown).await?;
        expect_profile(app, &m.id, &m.name())
            .await
            .context("scanning the newly attached card")?;
        Ok(())
    })
    .await?;
    // And the store agrees.
    let r = f.open()?;
    let holder = r.store().card_holder(&CardNumber::parse(&unknown)?)?;
    ensure!(
        holder.to_string() == m.id,
        "the attached card belongs to {holder} in the store"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_search_text_does_not_break_the_app() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    with_app("hostile_search", &f.db, async |app| {
        let search = app.wait_for("#search", WAIT).await?;
        let typed = [
            "'; DROP TABLE customers; --",
            "\"a\" NEAR(b",
            "a OR b AND NOT c*",
            "name:\"x",
            "%_\\'\"`",
            ")))(((",
            "^$.*+?[]{}|",
        ];
        let pasted = [
            "x".repeat(10_000),
            "Thornton ".repeat(1_200),
            "🧀☕🐄 Margaret 👵🏻 e\u{301}\u{200d}\u{0}".to_string(),
            "\u{202e}nosnrohT".to_string(),
            "<img src=x onerror=\"window.__pwned=1\">".to_string(),
        ];
        for t in typed {
            app.paste_into("#search", "").await?;
            // Typed fast (one call), as a paste-like burst without Enter.
            search.send_keys(t).await?;
            settle(app).await?;
        }
        for t in &pasted {
            app.paste_into("#search", t).await?;
            settle(app).await?;
            // Enter on hostile text must not crash either.
            app.press(Key::Enter).await?;
            settle(app).await?;
        }
        app.screenshot("recognition-hostile").await?;
        let pwned = app.js_value("return window.__pwned === 1;").await?;
        ensure!(
            pwned != serde_json::json!(true),
            "search text was rendered as HTML"
        );

        // Still alive: an ordinary search works and the store is intact.
        app.paste_into("#search", "").await?;
        app.js_value("document.getElementById('search').focus(); return true;")
            .await?;
        app.type_slowly(&search, "thornton", HUMAN_MS).await?;
        app.wait_js(
            "Margaret found after the hostile searches",
            &format!(
                "(() => {{ const r = document.querySelector('[data-testid=result]'); \
                 return r && r.dataset.customerId === '{}'; }})()",
                f.margaret.id
            ),
            WAIT,
        )
        .await?;
        app.blur_all().await?;
        app.scanner_burst(&f.margaret.card).await?;
        app.wait_profile(&f.margaret.id).await?;
        Ok(())
    })
    .await?;
    let r = f.open()?;
    let n: i64 = r
        .store()
        .conn()
        .query_row("SELECT count(*) FROM customers", [], |row| row.get(0))?;
    ensure!(
        n == regulars_e2e::fixture::DEMO_CUSTOMERS as i64 + 3,
        "customer count changed to {n}"
    );
    Ok(())
}

/// Lets a search run (debounce + round trip), checks the page answers and
/// that the search did not fail (any text is a valid query).
async fn settle(app: &App) -> Result<()> {
    tokio::time::sleep(Duration::from_millis(150)).await;
    let err = app
        .wait_js(
            "the page to answer",
            "(() => { const e = document.querySelector('.search .error'); return { error: e ? e.textContent : null }; })()",
            WAIT,
        )
        .await
        .context("the page stopped answering")?;
    let value = app.search_value().await?;
    let shown: String = value.chars().take(40).collect();
    ensure!(
        err["error"].is_null(),
        "searching {shown:?}... showed an error: {}",
        err["error"]
    );
    Ok(())
}

/// A scan straight after a person typed (no pause): the last typed letter
/// must neither be glued onto the card number (which made it an unknown
/// card) nor vanish from the search field.
#[tokio::test(flavor = "multi_thread")]
async fn a_scan_right_after_typing_keeps_both_intact() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    let m = f.margaret.clone();
    with_app("scan_right_after_typing", &f.db, async |app| {
        let search = app.wait_for("#search", WAIT).await?;
        for round in 0..2 {
            app.paste_into("#search", "").await?;
            app.type_slowly(&search, "thornton", HUMAN_MS).await?;
            app.wait_for("[data-testid=result]", WAIT).await?;
            if round == 1 {
                app.blur_all().await?;
            }
            app.scanner_burst_now(&m.card).await?;
            expect_profile(app, &m.id, &m.name())
                .await
                .with_context(|| format!("round {round}: a scan right after typing"))?;
            ensure!(
                app.driver
                    .find_all(regulars_e2e::By::Css("#unknown-card"))
                    .await?
                    .is_empty(),
                "round {round}: the scan was taken for an unknown card"
            );
            let left = app.search_value().await?;
            ensure!(
                left == "thornton",
                "round {round}: search field holds {left:?}"
            );
        }
        Ok(())
    })
    .await
}
