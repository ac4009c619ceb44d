//! This till's settings: a scanner that sends a prefix is configured in
//! settings, its test area shows what was read, and then cards scan on the
//! till with the prefix removed; large text and high contrast apply at once
//! and are still on after a restart.

use anyhow::{ensure, Result};
use regulars_e2e::{e2e_or_skip, with_app, By, Fixture, WAIT};

const PREFIX: &str = "]E0";

#[tokio::test(flavor = "multi_thread")]
async fn scanner_prefix_and_display_settings() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    let m = f.margaret.clone();
    with_app("settings_set", &f.db, async |app| {
        app.driver.find(By::Id("settings-open")).await?.click().await?;
        let prefix = app.wait_for("#set-prefix", WAIT).await?;
        prefix.click().await?;
        app.type_slowly(&prefix, PREFIX, 60).await?;
        app.blur_all().await?;
        app.scanner_burst(&format!("{PREFIX}{}", m.card)).await?;
        let read = app
            .wait_js(
                "the scan test to show what it read",
                "(document.querySelector('[data-testid=scan-test] strong') || {}).textContent",
                WAIT,
            )
            .await?;
        ensure!(
            read.as_str() == Some(m.card.as_str()),
            "the scan test read {read:?}, wanted the card without the prefix ({})",
            m.card
        );
        app.driver.find(By::Id("set-large")).await?.click().await?;
        app.driver.find(By::Id("set-contrast")).await?.click().await?;
        app.wait_js(
            "large text and high contrast to apply",
            "document.documentElement.classList.contains('large-text') && document.documentElement.classList.contains('high-contrast')",
            WAIT,
        )
        .await?;
        app.check_accessibility("settings dialog, high contrast").await?;
        app.driver.find(By::Id("settings-done")).await?.click().await?;
        app.wait_gone("#settings", WAIT).await?;

        // On the till, the prefixed scan opens the customer.
        app.blur_all().await?;
        app.scanner_burst(&format!("{PREFIX}{}", m.card)).await?;
        app.wait_profile(&m.id).await?;
        app.check_accessibility("profile, large text and high contrast").await?;
        Ok(())
    })
    .await?;

    with_app("settings_kept", &f.db, async |app| {
        app.wait_js(
            "the display settings to survive a restart",
            "document.documentElement.classList.contains('large-text') && document.documentElement.classList.contains('high-contrast')",
            WAIT,
        )
        .await?;
        app.blur_all().await?;
        app.scanner_burst(&format!("{PREFIX}{}", m.card)).await?;
        app.wait_profile(&m.id).await?;
        Ok(())
    })
    .await
}
