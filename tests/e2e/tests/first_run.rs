//! First run of a new, empty shop: the till asks for the shop's name,
//! currency, locale and loyalty choice and the owner's PIN, opens the back
//! office, and from then on shows money in the shop's currency and format.
//! Everything chosen is in the store.

use anyhow::{ensure, Result};
use regulars_core::Regulars;
use regulars_e2e::{e2e_or_skip, with_app, App, By, WAIT};

async fn fill(app: &App, id: &str, text: &str) -> Result<()> {
    let el = app.wait_for(&format!("#{id}"), WAIT).await?;
    el.click().await?;
    app.type_slowly(&el, text, 25).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_shop_sets_itself_up() -> Result<()> {
    e2e_or_skip!();
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("new-shop.db");
    {
        // A new store the app has already opened once, empty by choice
        // (what `--empty` leaves behind).
        let r = Regulars::open(&db)?;
        r.store().set_setting("initialised", "1")?;
    }
    with_app("first_run", &db, async |app| {
        app.wait_for("#owner-setup", WAIT).await?;
        fill(app, "setup-shop", "Kiosk am Markt").await?;
        app.driver
            .find(By::Css("#setup-currency option[value=EUR]"))
            .await?
            .click()
            .await?;
        app.driver
            .find(By::Css("#setup-locale option[value=de-DE]"))
            .await?
            .click()
            .await?;
        app.driver
            .find(By::Id("setup-loyalty"))
            .await?
            .click()
            .await?;
        fill(app, "setup-name", "Greta").await?;
        fill(app, "setup-pin", "2468").await?;
        fill(app, "setup-pin-again", "2468").await?;
        app.driver
            .find(By::Id("setup-submit"))
            .await?
            .click()
            .await?;
        app.wait_for("#owner-view", WAIT).await?;
        app.wait_gone("#owner-setup", WAIT).await?;
        app.wait_js(
            "the status bar to show the shop's name",
            "document.getElementById('status').textContent.includes('Kiosk am Markt')",
            WAIT,
        )
        .await?;
        app.check_accessibility("back office after first run")
            .await?;
        app.driver.find(By::Id("owner-back")).await?.click().await?;
        app.wait_for("#search", WAIT).await?;
        let total = app.text_of("[data-testid=basket-total]").await?;
        ensure!(
            total.contains('€') && total.contains(','),
            "the basket total is not in euros, German style: {total:?}"
        );
        Ok(())
    })
    .await?;

    let r = Regulars::open(&db)?;
    let s = r.store_settings()?;
    ensure!(
        s.name == "Kiosk am Markt" && s.currency == "EUR" && s.locale == "de-DE" && !s.loyalty,
        "the store holds {s:?}"
    );
    ensure!(!r.needs_owner_setup()?, "no owner was made");
    Ok(())
}
