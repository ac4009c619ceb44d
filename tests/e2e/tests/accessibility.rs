//! The till's main screens pass an automated accessibility check (axe-core,
//! WCAG 2.1 A/AA rules, no serious or critical violation): idle, a
//! customer's profile with suggestions and a sale in progress, and the
//! dialogs a cashier opens (new customer, recent sales, import).

use anyhow::Result;
use regulars_e2e::{e2e_or_skip, with_app, By, Fixture, WAIT};

#[tokio::test(flavor = "multi_thread")]
async fn main_screens_pass_axe() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    let m = f.margaret.clone();
    with_app("accessibility", &f.db, async |app| {
        app.check_accessibility("idle till").await?;

        app.blur_all().await?;
        app.scanner_burst(&m.card).await?;
        app.wait_profile(&m.id).await?;
        app.two_frames().await?;
        app.check_accessibility("profile open").await?;

        app.driver.find(By::Id("enrol-open")).await?.click().await?;
        app.wait_for("#enrol-given", WAIT).await?;
        app.check_accessibility("new customer dialog").await?;
        app.driver
            .find(By::Css("#enrol .close"))
            .await?
            .click()
            .await?;
        app.wait_gone("#enrol", WAIT).await?;

        app.driver
            .find(By::Id("recent-sales-open"))
            .await?
            .click()
            .await?;
        app.wait_for("#recent-sales", WAIT).await?;
        app.check_accessibility("recent sales dialog").await?;
        app.driver
            .find(By::Css("#recent-sales .close"))
            .await?
            .click()
            .await?;
        app.wait_gone("#recent-sales", WAIT).await?;

        app.driver
            .find(By::Id("import-open"))
            .await?
            .click()
            .await?;
        app.wait_for("#import-dialog", WAIT).await?;
        app.check_accessibility("import dialog").await?;
        Ok(())
    })
    .await
}
