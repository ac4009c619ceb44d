//! The owner's evening in the real window: the back office opens only with
//! the owner's PIN (a wrong one is refused, a cashier's is not enough),
//! the dashboard shows this store's figures with its charts, two records of
//! one person are merged side by side, and the contact list is exported as
//! CSV for a mail-merge. Everything lands in the store and the audit log.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use regulars_core::model::{NewCustomer, NewNote, Visibility};
use regulars_e2e::{e2e_or_skip, with_app, App, By, Fixture, Key, WAIT};

/// The demo shop's owner (every demo store has one; documented in the README).
const OWNER_PIN: &str = "1234";
const OWNER_NOTE: &str = "Owner only: disputes the October invoice";

async fn type_pin(app: &App, pin: &str) -> Result<()> {
    let input = app.wait_for("#pin-input", WAIT).await?;
    input.click().await?;
    app.type_slowly(&input, pin, 40).await?;
    app.press(Key::Enter).await
}

#[tokio::test(flavor = "multi_thread")]
async fn owner_unlocks_reviews_merges_and_exports() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    let m = f.margaret.clone();
    // A second record of Margaret, made at another till: her nickname, her
    // phone. And a note whose follow-up is due today.
    let (maggie, sales_30d) = {
        let mut r = f.open()?;
        let maggie = r
            .enrol(&NewCustomer {
                given_name: "Maggie".into(),
                family_name: "Thornton".into(),
                phones: vec![m.phone.clone()],
                ..Default::default()
            })?
            .summary
            .id;
        r.add_note(
            m.id.parse()?,
            &NewNote {
                body: "Ordered the blue teapot; call when it arrives".into(),
                author: "Sam".into(),
                visibility: Visibility::Staff,
                follow_up_on: Some(chrono::Local::now().date_naive().to_string()),
                expires_on: None,
            },
        )?;
        let today = chrono::Local::now().date_naive();
        let from = today - chrono::Days::new(29);
        let offset = chrono::Local::now().offset().local_minus_utc() / 60;
        let d = r.dashboard(&from.to_string(), &today.to_string(), offset)?;
        (maggie.to_string(), d.current.visits)
    };

    let export_path = with_app("owner", &f.db, async |app| {
        // Wrong PIN first: refused with a clear message, nothing opens.
        app.driver.find(By::Id("backoffice-open")).await?.click().await?;
        type_pin(app, "9999").await?;
        app.wait_js(
            "the wrong PIN to be refused",
            "(document.getElementById('pin-error') || {}).textContent.includes('wrong PIN')",
            WAIT,
        )
        .await?;
        ensure!(
            app.js_value("return !document.getElementById('owner-view');").await? == true,
            "a wrong PIN opened the back office"
        );
        type_pin(app, OWNER_PIN).await?;
        app.wait_for("#owner-view", WAIT).await?;

        // The dashboard: this store's last 30 days, with its charts.
        let visits = app
            .wait_js(
                "the dashboard's visit count",
                "(document.querySelector('[data-testid=kpi-visits]') || {}).textContent",
                WAIT,
            )
            .await?;
        let shown: u32 = visits
            .as_str()
            .unwrap_or_default()
            .replace([',', '.', '\u{a0}', ' '], "")
            .parse()
            .with_context(|| format!("visits shown as {visits:?}"))?;
        ensure!(
            shown == sales_30d,
            "dashboard shows {shown} visits, the store has {sales_30d} in the last 30 days"
        );
        ensure!(shown > 0, "the fixture has no recent visits; the check would be empty");
        app.wait_js(
            "the charts to draw",
            "document.querySelectorAll('#owner-view canvas').length >= 4",
            WAIT,
        )
        .await?;
        app.screenshot("owner-dashboard").await?;
        app.check_accessibility("back office overview").await?;

        // Duplicates: the two Margarets side by side; keep the regular.
        app.driver
            .find(By::Id("owner-tab-duplicates"))
            .await?
            .click()
            .await?;
        let pair_css = format!(
            "[data-testid=dup-pair][data-a='{0}'][data-b='{1}'], [data-testid=dup-pair][data-a='{1}'][data-b='{0}']",
            m.id, maggie
        );
        let pair = app
            .wait_for(&pair_css, Duration::from_secs(30))
            .await
            .context("the two records of Margaret were not offered as duplicates")?;
        let evidence = pair.text().await?;
        ensure!(evidence.contains("Maggie"), "pair shows: {evidence}");
        pair.find(By::Css("button.primary[data-testid=merge-keep]"))
            .await?
            .click()
            .await?;
        let done = app.wait_for("[data-testid=merge-done]", WAIT).await?;
        let done_text = done.text().await?;
        ensure!(
            done_text.contains("Merged Maggie Thornton into Margaret Thornton"),
            "merge result: {done_text}"
        );
        app.check_accessibility("back office duplicates").await?;

        // Who to contact: Margaret's due follow-up; export for a mail-merge.
        app.driver
            .find(By::Id("owner-tab-contacts"))
            .await?
            .click()
            .await?;
        app.wait_for(
            &format!("[data-testid=contact][data-customer-id='{}']", m.id),
            WAIT,
        )
        .await
        .context("Margaret's due follow-up is not on the contact list")?;
        app.driver.find(By::Id("contacts-export")).await?.click().await?;
        let saved = app
            .wait_js(
                "the export to be saved",
                "(document.querySelector('[data-testid=export-saved]') || {}).textContent",
                WAIT,
            )
            .await?;
        let path = saved
            .as_str()
            .unwrap_or_default()
            .trim()
            .strip_prefix("Saved to ")
            .context("no path in the export message")?
            .to_string();

        // An owner-only note on Margaret, from the customer editor.
        app.driver
            .find(By::Id("owner-tab-customers"))
            .await?
            .click()
            .await?;
        let find = app.wait_for("#owner-customer-search", WAIT).await?;
        find.click().await?;
        app.type_slowly(&find, "Margaret Thornton", 30).await?;
        app.wait_for(".results button.link", WAIT)
            .await?
            .click()
            .await?;
        app.wait_for(
            &format!("[data-testid=customer-editor][data-customer-id='{}']", m.id),
            WAIT,
        )
        .await?;
        let note = app.wait_for("#owner-note-input", WAIT).await?;
        note.click().await?;
        app.type_slowly(&note, OWNER_NOTE, 20).await?;
        app.driver
            .find(By::Css("#owner-note-visibility option[value=owner]"))
            .await?
            .click()
            .await?;
        app.driver.find(By::Id("owner-note-submit")).await?.click().await?;
        app.wait_js(
            "the owner's note to be listed",
            &format!(
                "document.querySelector('[data-testid=customer-editor]').textContent.includes({})",
                serde_json::to_string(OWNER_NOTE)?
            ),
            WAIT,
        )
        .await?;

        // Lock: back to the till, and the back office is closed to the UI.
        app.driver.find(By::Id("owner-lock")).await?.click().await?;
        app.wait_gone("#owner-view", WAIT).await?;
        app.wait_for("#search", WAIT).await?;
        // The cashier's view of Margaret does not show the owner's note.
        app.blur_all().await?;
        app.scanner_burst(&m.card).await?;
        app.wait_profile(&m.id).await?;
        let shown = app.text_of("#profile").await?;
        ensure!(
            !shown.contains(OWNER_NOTE),
            "the till shows the owner-only note to the cashier"
        );
        Ok::<_, anyhow::Error>(path)
    })
    .await?;

    let csv = std::fs::read_to_string(&export_path)
        .with_context(|| format!("reading the exported list {export_path}"))?;
    ensure!(
        csv.contains("margaret.thornton@example.org") && csv.contains("Thornton"),
        "the export lacks Margaret:\n{csv}"
    );
    let r = f.open()?;
    ensure!(
        r.merged_into(maggie.parse()?)? == Some(m.id.parse()?),
        "the store does not record Maggie merged into Margaret"
    );
    let actions: Vec<String> = r
        .store()
        .audit_log(50)?
        .into_iter()
        .map(|a| a.action)
        .collect();
    for want in ["unlock", "merge", "export"] {
        ensure!(
            actions.iter().any(|a| a == want),
            "no {want} in the audit log: {actions:?}"
        );
    }
    Ok(())
}
