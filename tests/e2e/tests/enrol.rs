//! Enrolling: the form warns about someone who is already a customer (and
//! opens them when the cashier says "that's them"), and a genuinely new
//! customer gets a card that works straight away.

use anyhow::{bail, ensure, Context, Result};
use regulars_core::card::CardNumber;
use regulars_e2e::{e2e_or_skip, with_app, App, By, Fixture, Key, WAIT};

const HUMAN_MS: u64 = 45;

async fn open_enrol(app: &App) -> Result<()> {
    app.driver.find(By::Id("enrol-open")).await?.click().await?;
    app.wait_for("#enrol-given", WAIT).await?;
    Ok(())
}

async fn fill(app: &App, id: &str, text: &str) -> Result<()> {
    let el = app.wait_for(&format!("#{id}"), WAIT).await?;
    el.click().await?;
    app.type_slowly(&el, text, HUMAN_MS).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_customer_is_offered_as_a_duplicate() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    let other = f.john_other.clone();
    with_app("enrol_duplicate", &f.db, async |app| {
        open_enrol(app).await?;
        fill(app, "enrol-given", "John").await?;
        fill(app, "enrol-family", "Smith").await?;
        fill(app, "enrol-phone", &other.phone).await?;
        let dup_css = format!("[data-testid=duplicate][data-customer-id='{}']", other.id);
        let dup = app
            .wait_for(&dup_css, WAIT)
            .await
            .context("typing an existing customer's name and phone offered no duplicate")?;
        let text = dup.text().await?;
        let reasons = dup.find(By::Css(".reasons")).await?.text().await?;
        ensure!(
            !reasons.trim().is_empty(),
            "the duplicate has no reason: {text:?}"
        );
        ensure!(
            reasons.to_lowercase().contains("phone"),
            "the same phone is not given as a reason: {reasons:?}"
        );
        // The candidate with the same phone is the first one offered.
        let first = app
            .js_value(
                "return document.querySelector('[data-testid=duplicate]').dataset.customerId;",
            )
            .await?;
        ensure!(
            first.as_str() == Some(other.id.as_str()),
            "first candidate is {first}, not the same-phone John"
        );
        app.screenshot("enrol-duplicate").await?;

        dup.find(By::Css("[data-testid=duplicate-pick]"))
            .await?
            .click()
            .await?;
        app.wait_gone("#enrol", WAIT)
            .await
            .context("picking the duplicate left the form open")?;
        app.wait_profile(&other.id).await?;
        Ok(())
    })
    .await?;
    // Nobody new was created.
    let r = f.open()?;
    let n: i64 = r.store().conn().query_row(
        "SELECT count(*) FROM customers WHERE given_name = 'John' AND family_name = 'Smith'",
        [],
        |row| row.get(0),
    )?;
    ensure!(n == 2, "{n} John Smiths after picking an existing one");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_customer_gets_a_working_card() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    let mut new_id = String::new();
    let mut new_card = String::new();
    with_app("enrol_new", &f.db, async |app| {
        open_enrol(app).await?;
        fill(app, "enrol-given", "Philippa").await?;
        fill(app, "enrol-family", "Featherstonehaugh").await?;
        fill(app, "enrol-preferred", "Pip").await?;
        fill(app, "enrol-phone", "(802) 555-0199").await?;
        fill(app, "enrol-email", "pip.f@example.org").await?;
        app.driver
            .find(By::Id("enrol-consent"))
            .await?
            .click()
            .await?;
        app.driver
            .find(By::Id("enrol-submit"))
            .await?
            .click()
            .await?;

        let profile = app
            .wait_for("#profile", WAIT)
            .await
            .context("no profile after enrolling")?;
        if !app
            .driver
            .find_all(By::Css("[data-testid=duplicate]"))
            .await?
            .is_empty()
        {
            bail!("a genuinely new customer was flagged as a duplicate");
        }
        app.wait_gone("#enrol", WAIT).await?;
        let id = profile
            .attr("data-customer-id")
            .await?
            .context("profile without an id")?;
        let name = app.text_of("[data-testid=profile-name]").await?;
        ensure!(
            name == "Pip Featherstonehaugh",
            "new profile shows {name:?}"
        );
        ensure!(
            id != f.margaret.id && id != f.john_regular.id && id != f.john_other.id,
            "the new profile is an existing customer"
        );
        // Their card, with a barcode to print.
        app.wait_for("#card-barcode svg", WAIT)
            .await
            .context("no card barcode drawn")?;
        let code = app
            .wait_for("#card-barcode", WAIT)
            .await?
            .attr("data-code")
            .await?
            .context("#card-barcode has no data-code")?;
        let card = CardNumber::parse(&code)
            .with_context(|| format!("issued card {code:?} is not valid"))?;
        ensure!(
            card.issued_serial().is_some(),
            "issued card {card} is not a store card"
        );
        let shown: String = app
            .text_of("[data-testid=profile-card]")
            .await?
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        ensure!(
            shown == card.as_str(),
            "profile shows card {shown}, barcode is {card}"
        );
        app.screenshot("enrol-new-customer").await?;

        // Found by search...
        app.js_value("document.getElementById('search').focus(); return true;")
            .await?;
        app.press(Key::Escape).await?;
        let search = app.wait_for("#search", WAIT).await?;
        app.type_slowly(&search, "featherston", HUMAN_MS).await?;
        app.wait_js(
            "the new customer in the results",
            &format!(
                "(() => {{ const r = document.querySelector('[data-testid=result]'); \
                 return r && r.dataset.customerId === '{id}'; }})()"
            ),
            WAIT,
        )
        .await?;
        // ...and by her preferred name and phone.
        app.paste_into("#search", "").await?;
        app.type_slowly(&search, "0199", HUMAN_MS).await?;
        app.wait_for(
            &format!("[data-testid=result][data-customer-id='{id}']"),
            WAIT,
        )
        .await
        .context("the new customer's phone digits do not find her")?;

        // ...and by scanning the card she was just given.
        app.js_value("document.getElementById('search').focus(); return true;")
            .await?;
        app.press(Key::Escape).await?;
        app.press(Key::Escape).await?;
        app.wait_gone("#profile", WAIT).await?;
        app.blur_all().await?;
        app.scanner_burst(card.as_str()).await?;
        app.wait_profile(&id)
            .await
            .context("scanning the new card did not open her")?;
        new_id = id;
        new_card = card.to_string();
        Ok(())
    })
    .await?;
    // The store has her, with that card.
    let r = f.open()?;
    let holder = r.store().card_holder(&CardNumber::parse(&new_card)?)?;
    ensure!(
        holder.to_string() == new_id,
        "card {new_card} belongs to {holder}, not {new_id}"
    );
    let p = r.profile(holder)?;
    ensure!(
        p.marketing_consent,
        "the consent box was ticked but not stored"
    );
    ensure!(
        p.summary.email.as_deref() == Some("pip.f@example.org"),
        "email stored as {:?}",
        p.summary.email
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_card_can_enrol_a_new_customer() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    let unknown = CardNumber::issue(8_100_001)?.to_string();
    with_app("enrol_unknown_card", &f.db, async |app| {
        app.blur_all().await?;
        app.scanner_burst(&unknown).await?;
        app.wait_for("#unknown-enrol", WAIT).await?.click().await?;
        let card_field = app.wait_for("#enrol-card", WAIT).await?;
        let v = card_field.value().await?.unwrap_or_default();
        ensure!(
            v == unknown,
            "the enrol form's card field holds {v:?}, expected the scanned {unknown}"
        );
        fill(app, "enrol-given", "Ignatius").await?;
        fill(app, "enrol-family", "Quenneville").await?;
        app.driver
            .find(By::Id("enrol-submit"))
            .await?
            .click()
            .await?;
        app.wait_for("#profile", WAIT).await?;
        app.wait_for("#card-barcode svg", WAIT).await?;
        let code = app
            .wait_for("#card-barcode", WAIT)
            .await?
            .attr("data-code")
            .await?;
        ensure!(
            code.as_deref() == Some(unknown.as_str()),
            "new customer got card {code:?}, not {unknown}"
        );
        Ok(())
    })
    .await
}

/// The card barcode the cashier prints: the digits must sit under the bars,
/// not across them (a scanner may refuse a card whose bars are overprinted).
#[tokio::test(flavor = "multi_thread")]
async fn the_printed_card_digits_do_not_overprint_the_bars() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    with_app("card_barcode_layout", &f.db, async |app| {
        open_enrol(app).await?;
        fill(app, "enrol-given", "Zed").await?;
        fill(app, "enrol-family", "Okonkwo-Barrington").await?;
        app.driver.find(By::Id("enrol-submit")).await?.click().await?;
        app.wait_for("#card-barcode svg text", WAIT).await?;
        let v = app
            .js_value(
                "const svg = document.querySelector('#card-barcode svg'); \
                 const bars = [...svg.querySelectorAll('rect[fill=\"#000000\"], rect[fill=\"black\"]')]; \
                 const text = svg.querySelector('text').getBoundingClientRect(); \
                 return { bars: bars.length, barBottom: Math.max(...bars.map(r => r.getBoundingClientRect().bottom)), \
                          textTop: text.top };",
            )
            .await?;
        let bars = v["bars"].as_u64().unwrap_or(0);
        let bar_bottom = v["barBottom"].as_f64().unwrap_or(f64::NAN);
        let text_top = v["textTop"].as_f64().unwrap_or(f64::NAN);
        ensure!(bars > 20, "barcode has only {bars} bars");
        ensure!(
            text_top >= bar_bottom,
            "the card digits start at y={text_top:.0} px but the bars run down to y={bar_bottom:.0} px: \
             the digits overprint the bars"
        );
        Ok(())
    })
    .await
}
