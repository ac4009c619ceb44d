//! The till's language: on a shop whose locale is English the till speaks
//! English; choosing Deutsch in this till's settings redraws it in German at
//! once (the search field, the basket, the status bar, the dialog itself),
//! the choice survives a restart, and "Shop default" brings English back.

use anyhow::{ensure, Result};
use regulars_e2e::{e2e_or_skip, with_app, App, By, Fixture, WAIT};

/// The words the test reads, in one language.
struct Words {
    lang: &'static str,
    search_placeholder: &'static str,
    search_label: &'static str,
    basket_heading: &'static str,
    complete: &'static str,
    /// A word of the status bar's customer count ("1,234 customers").
    customers: &'static str,
}

const ENGLISH: Words = Words {
    lang: "en",
    search_placeholder: "Name, phone or card…",
    search_label: "Search customers by name, phone, email or card",
    basket_heading: "Current sale",
    complete: "Complete sale",
    customers: "customers",
};

const GERMAN: Words = Words {
    lang: "de",
    search_placeholder: "Name, Telefon oder Karte …",
    search_label: "Kundschaft nach Name, Telefon, E-Mail oder Karte suchen",
    basket_heading: "Aktueller Verkauf",
    complete: "Verkauf abschließen",
    customers: "Kunden",
};

/// Waits until the till's labels read `w`, then checks each (a clear message if one is off).
async fn till_speaks(app: &App, w: &Words) -> Result<()> {
    let probe = "(() => ({ \
        lang: document.documentElement.lang, \
        placeholder: document.getElementById('search').placeholder, \
        label: document.querySelector('label[for=search]').textContent.trim(), \
        heading: document.querySelector('#basket h2').textContent.trim(), \
        complete: document.getElementById('complete-sale').textContent.trim(), \
        customers: document.querySelector('[data-testid=customer-count]').textContent.trim() \
    }))()";
    let seen = app
        .wait_js(
            &format!("the till to speak {}", w.lang),
            &format!(
                "(() => {{ const s = {probe}; return s.lang === '{}' && s.heading === '{}' ? s : null; }})()",
                w.lang, w.basket_heading
            ),
            WAIT,
        )
        .await?;
    let field = |k: &str| seen[k].as_str().unwrap_or_default().to_string();
    ensure!(
        field("placeholder") == w.search_placeholder,
        "search placeholder in {}: {:?}",
        w.lang,
        field("placeholder")
    );
    ensure!(
        field("label") == w.search_label,
        "search label in {}: {:?}",
        w.lang,
        field("label")
    );
    ensure!(
        field("complete").starts_with(w.complete),
        "complete button in {}: {:?}",
        w.lang,
        field("complete")
    );
    ensure!(
        field("customers").ends_with(w.customers),
        "customer count in {}: {:?}",
        w.lang,
        field("customers")
    );
    Ok(())
}

async fn choose_language(app: &App, value: &str) -> Result<()> {
    app.driver
        .find(By::Id("settings-open"))
        .await?
        .click()
        .await?;
    app.wait_for("#set-language", WAIT).await?;
    app.driver
        .find(By::Css(format!("#set-language option[value={value}]")))
        .await?
        .click()
        .await?;
    Ok(())
}

async fn close_settings(app: &App) -> Result<()> {
    app.driver
        .find(By::Id("settings-done"))
        .await?
        .click()
        .await?;
    app.wait_gone("#settings", WAIT).await
}

#[tokio::test(flavor = "multi_thread")]
async fn german_is_chosen_per_till_and_kept() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    let locale = f.open()?.store_settings()?.locale;
    ensure!(
        locale.starts_with("en"),
        "the fixture shop is meant to be English, its locale is {locale}"
    );

    with_app("language_choose", &f.db, async |app| {
        till_speaks(app, &ENGLISH).await?;
        choose_language(app, "de").await?;
        // At once, with the dialog still open: the dialog and the till behind it.
        app.wait_js(
            "the settings dialog to be German",
            "document.getElementById('settings-title').textContent.trim() === 'Einstellungen dieser Kasse'",
            WAIT,
        )
        .await?;
        till_speaks(app, &GERMAN).await?;
        close_settings(app).await?;
        app.check_accessibility("the till in German").await?;
        Ok(())
    })
    .await?;

    with_app("language_kept", &f.db, async |app| {
        till_speaks(app, &GERMAN).await?;
        choose_language(app, "shop").await?;
        till_speaks(app, &ENGLISH).await?;
        close_settings(app).await
    })
    .await?;

    with_app("language_back", &f.db, async |app| {
        till_speaks(app, &ENGLISH).await
    })
    .await
}
