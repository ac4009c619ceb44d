//! Checkout at the till: scanner bursts ring up products (the same product
//! again counts up its line), a card scan puts the customer on the sale, the
//! completed sale shows in their recent visits and is in the SQLite file; an
//! anonymous sale completed with one key can be attached to a customer from
//! Recent sales afterwards; a line of a sale can be refunded from there.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use regulars_core::card::ean13_check_digit;
use regulars_core::model::{NewCustomer, PaymentMethod, ProductDraft};
use regulars_e2e::{e2e_or_skip, with_app, App, By, Fixture, Key, WAIT};

/// Milliseconds between a person's keystrokes.
const HUMAN_MS: u64 = 60;

#[derive(Clone, Debug)]
struct Item {
    id: String,
    barcode: String,
    name: String,
    price: i64,
}

#[derive(Clone, Debug)]
struct Customer {
    id: String,
    card: String,
    name: String,
}

/// The test fixture plus two products with known barcodes and a customer
/// with a card and no visits yet.
struct Shop {
    f: Fixture,
    tea: Item,
    jam: Item,
    winifred: Customer,
    /// A well-formed barcode that is not in the catalogue.
    unknown_barcode: String,
}

fn ean13(body: &str) -> String {
    format!("{body}{}", ean13_check_digit(body))
}

fn shop() -> Result<Shop> {
    let f = Fixture::build()?;
    let mut r = f.open()?;
    let mut product = |barcode: &str, name: &str, price: i64| -> Result<Item> {
        let p = r.save_product(
            None,
            &ProductDraft {
                barcode: Some(barcode.to_string()),
                name: name.to_string(),
                department: Some("Grocery".into()),
                category: Some("Breakfast".into()),
                price_cents: price,
                considered: false,
            },
        )?;
        Ok(Item {
            id: p.id.to_string(),
            barcode: p.barcode.context("saved without its barcode")?,
            name: p.name,
            price,
        })
    };
    let tea = product(&ean13("501234500001"), "Assam loose tea 250 g", 649)?;
    let jam = product(&ean13("501234500002"), "Damson jam 340 g", 425)?;
    let p = r.enrol(&NewCustomer {
        given_name: "Winifred".into(),
        family_name: "Ashdown".into(),
        phones: vec!["(802) 555-0190".into()],
        marketing_consent: true,
        ..NewCustomer::default()
    })?;
    let winifred = Customer {
        id: p.summary.id.to_string(),
        card: p
            .summary
            .card
            .clone()
            .context("enrolled without a card")?
            .to_string(),
        name: p.summary.display_name.clone(),
    };
    ensure!(p.summary.visits == 0, "a new customer already has visits");
    drop(r);
    Ok(Shop {
        f,
        tea,
        jam,
        winifred,
        unknown_barcode: ean13("501234599999"),
    })
}

/// The basket's lines as (product id, quantity).
async fn basket_lines(app: &App) -> Result<Vec<(String, f64)>> {
    let v = app
        .js_value(
            "return [...document.querySelectorAll('[data-testid=basket-line]')]\
             .map(e => [e.dataset.productId, Number(e.dataset.quantity)]);",
        )
        .await?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| Some((x[0].as_str()?.to_string(), x[1].as_f64()?)))
                .collect()
        })
        .unwrap_or_default())
}

async fn wait_lines(app: &App, what: &str, want: &[(&str, f64)]) -> Result<()> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let got = basket_lines(app).await?;
        let same = got.len() == want.len()
            && got
                .iter()
                .zip(want)
                .all(|((id, q), (wid, wq))| id == wid && (q - wq).abs() < 1e-9);
        if same {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            // Under heavy load a burst can arrive too slowly to count as a
            // scan: then its digits sit in the search field.
            anyhow::bail!(
                "{what}: basket lines are {got:?}, expected {want:?} \
                 (search field {:?}, message {:?})",
                app.search_value().await.unwrap_or_default(),
                scan_message(app).await.unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn basket_total(app: &App) -> Result<i64> {
    let v = app
        .js_value("return Number(document.getElementById('basket').dataset.totalCents);")
        .await?;
    v.as_i64()
        .or_else(|| v.as_f64().map(|f| f as i64))
        .context("no data-total-cents on #basket")
}

/// The DOM text of the first match (WebDriver's visible text skips
/// elements that clip their overflow, like the ellipsised names here).
async fn text_content(app: &App, css: &str) -> Result<String> {
    let v = app
        .js_value(&format!(
            "const e = document.querySelector({}); return e ? e.textContent : null;",
            serde_json::to_string(css)?
        ))
        .await?;
    v.as_str()
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .with_context(|| format!("no `{css}` on screen"))
}

async fn click(app: &App, css: &str) -> Result<()> {
    app.wait_for(css, WAIT)
        .await?
        .click()
        .await
        .with_context(|| format!("clicking `{css}`"))
}

async fn scan_message(app: &App) -> Result<String> {
    Ok(app
        .js_value("return document.querySelector('[data-testid=scan-message]').textContent.trim();")
        .await?
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Waits for the completion panel and gives the sale's id.
async fn completed_sale_id(app: &App) -> Result<String> {
    let done = app
        .wait_for("[data-testid=sale-done]", WAIT)
        .await
        .context("no sale-done confirmation after completing")?;
    done.attr("data-sale-id")
        .await?
        .filter(|s| !s.is_empty())
        .context("the confirmation has no data-sale-id")
}

/// The open profile's visit count, as shown.
async fn visits_shown(app: &App) -> Result<i64> {
    let t = app.text_of("#profile [data-testid=visits]").await?;
    t.trim()
        .replace(',', "")
        .parse()
        .with_context(|| format!("visits shows {t:?}"))
}

/// Waits until the open profile lists `sale_id` among its recent visits and
/// returns that visit's text.
async fn wait_visit(app: &App, sale_id: &str) -> Result<String> {
    let v = app
        .wait_js(
            &format!("the visit {sale_id} in the profile"),
            &format!(
                "(() => {{ const v = document.querySelector('#profile [data-testid=visit][data-sale-id=\"{sale_id}\"]'); \
                 return v ? v.textContent : null; }})()"
            ),
            WAIT,
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn scanned_items_and_card_make_a_sale_on_the_customers_history() -> Result<()> {
    e2e_or_skip!();
    let s = shop()?;
    let (tea, jam, w) = (s.tea.clone(), s.jam.clone(), s.winifred.clone());
    let sale_id = std::sync::Mutex::new(String::new());

    with_app("checkout_with_card", &s.f.db, async |app| {
        ensure!(basket_lines(app).await?.is_empty(), "the basket is not empty at start");
        ensure!(app.focused().await? == "search", "the search field should have focus at start");

        // A barcode the catalogue does not know: said so, with the code.
        app.scanner_burst(&s.unknown_barcode).await?;
        let msg = app
            .wait_js(
                "the not-in-the-catalogue message",
                "document.querySelector('[data-testid=scan-message]').textContent.includes('catalogue')",
                WAIT,
            )
            .await
            .map(|_| ());
        msg.with_context(|| "an unknown barcode should say it is not in the catalogue")?;
        let text = scan_message(app).await?;
        ensure!(
            text.to_lowercase().contains("not in the catalogue") && text.contains(&s.unknown_barcode),
            "unknown barcode message: {text:?}"
        );
        ensure!(basket_lines(app).await?.is_empty(), "an unknown barcode added a line");

        // Tea, jam, tea again (the focus is in the search field: the bursts
        // must not leak into it).
        app.scanner_burst(&tea.barcode).await?;
        wait_lines(app, "after the tea", &[(&tea.id, 1.0)]).await?;
        app.scanner_burst(&jam.barcode).await?;
        wait_lines(app, "after the jam", &[(&tea.id, 1.0), (&jam.id, 1.0)]).await?;
        app.scanner_burst(&tea.barcode).await?;
        wait_lines(app, "after the second tea", &[(&tea.id, 2.0), (&jam.id, 1.0)]).await?;
        ensure!(app.search_value().await?.is_empty(), "scans leaked into the search field");
        ensure!(
            basket_total(app).await? == 2 * tea.price + jam.price,
            "basket total {} after 2 tea + 1 jam",
            basket_total(app).await?
        );

        // Select the jam line: + and - change its quantity; 10% off.
        click(app, &format!("[data-testid=basket-line][data-product-id='{}']", jam.id)).await?;
        click(app, "[data-testid=basket-line].selected [data-testid=line-plus]").await?;
        wait_lines(app, "after +", &[(&tea.id, 2.0), (&jam.id, 2.0)]).await?;
        click(app, "[data-testid=basket-line].selected [data-testid=line-minus]").await?;
        wait_lines(app, "after -", &[(&tea.id, 2.0), (&jam.id, 1.0)]).await?;
        let discount = app
            .wait_for("[data-testid=basket-line].selected [data-testid=line-discount]", WAIT)
            .await?;
        discount.click().await?;
        app.type_slowly(&discount, "10%", HUMAN_MS).await?;
        tokio::time::sleep(Duration::from_millis(80)).await;
        app.press(Key::Enter).await?;
        // 10% of 4.25 is 42.5 cents: rounded half away from zero, 43.
        let want_total = 2 * tea.price + jam.price - 43;
        app.wait_js(
            "the discounted total",
            &format!("document.getElementById('basket').dataset.totalCents === '{want_total}'"),
            WAIT,
        )
        .await?;

        // The card: her profile opens and she is on the sale.
        let visits_before = 0;
        app.scanner_burst(&w.card).await?;
        app.wait_profile(&w.id).await?;
        app.wait_for(&format!("#basket-customer[data-customer-id='{}']", w.id), WAIT)
            .await
            .context("the scanned card did not put the customer on the sale")?;
        let who = app
            .js_value("return document.getElementById('basket-customer').textContent;")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string();
        ensure!(who.contains(&w.name), "the sale's customer reads {who:?}, expected {}", w.name);
        ensure!(
            visits_shown(app).await? == visits_before,
            "Winifred shows {} visits before her first sale",
            visits_shown(app).await?
        );
        wait_lines(app, "after the card", &[(&tea.id, 2.0), (&jam.id, 1.0)]).await?;
        app.screenshot("checkout-basket").await?;

        // Cash, complete.
        click(app, "#pay-cash").await?;
        let pressed = app
            .js_value("return document.getElementById('pay-cash').getAttribute('aria-pressed');")
            .await?;
        ensure!(pressed == "true", "#pay-cash not pressed: {pressed}");
        click(app, "#complete-sale").await?;
        let id = completed_sale_id(app).await?;
        *sale_id.lock().unwrap() = id.clone();

        // The basket is empty for the next customer.
        wait_lines(app, "after completing", &[]).await?;
        ensure!(basket_total(app).await? == 0, "total not reset");
        let cust = app
            .js_value("return document.getElementById('basket-customer').dataset.customerId ?? null;")
            .await?;
        ensure!(cust.is_null(), "the customer stayed on the next sale: {cust}");

        // Her profile now shows the visit with its items, and one visit more.
        let visit = wait_visit(app, &id).await?;
        for name in [&tea.name, &jam.name] {
            ensure!(visit.contains(name.as_str()), "the visit does not list {name}: {visit:?}");
        }
        app.wait_js(
            "the visit count to go up",
            &format!(
                "Number(document.querySelector('#profile [data-testid=visits]').textContent) === {}",
                visits_before + 1
            ),
            WAIT,
        )
        .await?;
        app.screenshot("checkout-done").await?;

        // Print receipt: the receipt document (caught before the print dialog).
        app.js_value("window.__regularsPrintHook = (html) => { window.__printed = html; }; return true;")
            .await?;
        click(app, "#print-receipt").await?;
        let html = app
            .wait_js("the receipt to be printed", "window.__printed || null", WAIT)
            .await?;
        let html = html.as_str().unwrap_or_default();
        ensure!(
            html.contains(&format!("{}.{:02}", want_total / 100, want_total % 100))
                && html.contains("Damson jam")
                && html.contains(&w.name),
            "the printed receipt: {html}"
        );
        Ok(())
    })
    .await?;

    // In the file, written by the app.
    let id = sale_id.into_inner().unwrap();
    let r = s.f.open()?;
    let sale = r.store().sale(id.parse()?)?;
    ensure!(
        sale.customer_id.map(|c| c.to_string()) == Some(w.id.clone()),
        "the sale's customer is {:?}, expected {}",
        sale.customer_id,
        w.id
    );
    let want_total = 2 * tea.price + jam.price - 43;
    ensure!(
        sale.total_cents == want_total,
        "sale total {} != {want_total}",
        sale.total_cents
    );
    ensure!(
        sale.payment_method == PaymentMethod::Cash,
        "paid by {:?}",
        sale.payment_method
    );
    ensure!(sale.lines.len() == 2, "lines: {:?}", sale.lines);
    let tea_line = &sale.lines[0];
    ensure!(
        tea_line.product_id.map(|p| p.to_string()) == Some(tea.id.clone())
            && tea_line.quantity == 2.0,
        "first line: {tea_line:?}"
    );
    ensure!(
        sale.lines[1].discount_cents == 43,
        "jam discount: {:?}",
        sale.lines[1]
    );
    // How many is the loyalty program's business (loyalty.rs); some, and on her balance.
    ensure!(
        sale.points_earned > 0
            && r.store().points_balance(sale.customer_id.unwrap())? == sale.points_earned,
        "points earned: {}",
        sale.points_earned
    );
    let (n, customer): (i64, String) = r.store().conn().query_row(
        "SELECT count(*), max(customer_id) FROM sales WHERE id = ?1",
        [&id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    ensure!(
        n == 1 && customer == w.id,
        "SQL sees {n} sales for {customer}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_anonymous_sale_is_attached_from_recent_sales() -> Result<()> {
    e2e_or_skip!();
    let s = shop()?;
    let (tea, jam, w) = (s.tea.clone(), s.jam.clone(), s.winifred.clone());
    let sale_id = std::sync::Mutex::new(String::new());

    with_app("checkout_attach_later", &s.f.db, async |app| {
        // Nothing focused: the scan still lands.
        app.blur_all().await?;
        app.scanner_burst(&jam.barcode).await?;
        wait_lines(app, "after the jam", &[(&jam.id, 1.0)]).await?;
        // A barcode that will not scan: F3, find the tea by name, Enter.
        app.press(Key::F3).await?;
        app.wait_js(
            "the product search to take focus after F3",
            "document.activeElement && document.activeElement.id === 'product-search'",
            WAIT,
        )
        .await?;
        let field = app.wait_for("#product-search", WAIT).await?;
        app.type_slowly(&field, "assam", HUMAN_MS).await?;
        app.wait_for(
            &format!("[data-testid=product-result][data-product-id='{}']", tea.id),
            WAIT,
        )
        .await
        .context("the tea is not found by name")?;
        app.screenshot("checkout-product-search").await?;
        app.press(Key::Enter).await?;
        wait_lines(
            app,
            "after picking the tea",
            &[(&jam.id, 1.0), (&tea.id, 1.0)],
        )
        .await?;
        ensure!(
            field.value().await?.unwrap_or_default().is_empty(),
            "the product search was not emptied after picking"
        );
        // Anonymous, one key.
        app.press(Key::F9).await?;
        let id = completed_sale_id(app).await?;
        *sale_id.lock().unwrap() = id.clone();
        wait_lines(app, "after completing", &[]).await?;
        let done = text_content(app, "[data-testid=sale-done]").await?;
        ensure!(
            done.contains("No customer"),
            "the confirmation of an anonymous sale says {done:?}"
        );
        app.screenshot("checkout-anonymous-done").await?;

        // Recent sales: the sale is there, without a customer.
        click(app, "#recent-sales-open").await?;
        let row = format!("[data-testid=recent-sale][data-sale-id='{id}']");
        app.wait_for(&row, WAIT)
            .await
            .context("the sale is not in Recent sales")?;
        let cust = app
            .js_value(&format!(
                "return document.querySelector(\"{row}\").dataset.customerId;"
            ))
            .await?;
        ensure!(cust == "", "the anonymous sale has a customer: {cust}");
        click(app, &row).await?;
        click(app, "#sale-attach").await?;
        let search = app.wait_for("#sale-attach-search", WAIT).await?;
        app.type_slowly(&search, "Ashdown", HUMAN_MS).await?;
        let pick = format!(
            "[data-testid=sale-attach-result][data-customer-id='{}']",
            w.id
        );
        app.wait_for(&pick, WAIT)
            .await
            .context("Winifred not found to attach")?;
        click(app, &pick).await?;
        app.wait_for(&format!("{row}[data-customer-id='{}']", w.id), WAIT)
            .await
            .context("the sale did not move onto Winifred")?;
        app.screenshot("checkout-recent-sales").await?;
        app.press(Key::Escape).await?;
        app.wait_gone("#recent-sales", WAIT).await?;

        // Her profile lists the sale.
        let search = app.wait_for("#search", WAIT).await?;
        search.click().await?;
        app.type_slowly(&search, "winifred ashdown", HUMAN_MS)
            .await?;
        app.wait_js(
            "Winifred in the results",
            &format!(
                "(() => {{ const r = document.querySelector('[data-testid=result]'); \
                 return r && r.dataset.customerId === '{}'; }})()",
                w.id
            ),
            WAIT,
        )
        .await?;
        app.press(Key::Enter).await?;
        app.wait_profile(&w.id).await?;
        let visit = wait_visit(app, &id).await?;
        for name in [&jam.name, &tea.name] {
            ensure!(
                visit.contains(name.as_str()),
                "the attached visit does not list {name}: {visit:?}"
            );
        }
        ensure!(
            visits_shown(app).await? == 1,
            "visits: {}",
            visits_shown(app).await?
        );
        // Opening a profile from search does not put her on the next sale.
        let cust = app
            .js_value(
                "return document.getElementById('basket-customer').dataset.customerId ?? null;",
            )
            .await?;
        ensure!(
            cust.is_null(),
            "searching put the customer on the sale: {cust}"
        );
        ensure!(
            app.driver
                .find_all(By::Css("#basket-customer-use"))
                .await?
                .len()
                == 1,
            "no button offers the open customer for the sale"
        );
        Ok(())
    })
    .await?;

    let id = sale_id.into_inner().unwrap();
    let r = s.f.open()?;
    let sale = r.store().sale(id.parse()?)?;
    ensure!(
        sale.customer_id.map(|c| c.to_string()) == Some(w.id.clone()),
        "the attached sale's customer is {:?}",
        sale.customer_id
    );
    ensure!(
        sale.total_cents == jam.price + tea.price,
        "total {}",
        sale.total_cents
    );
    ensure!(
        sale.points_earned > 0,
        "attaching earned no points: {}",
        sale.points_earned
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn one_line_of_a_sale_is_refunded_from_recent_sales() -> Result<()> {
    e2e_or_skip!();
    let s = shop()?;
    let (tea, jam, w) = (s.tea.clone(), s.jam.clone(), s.winifred.clone());
    let sale_id = std::sync::Mutex::new(String::new());

    with_app("checkout_refund", &s.f.db, async |app| {
        // Her card first this time, then "2 *" and the tea, then a jam.
        app.blur_all().await?;
        app.scanner_burst(&w.card).await?;
        app.wait_for(
            &format!("#basket-customer[data-customer-id='{}']", w.id),
            WAIT,
        )
        .await?;
        app.blur_all().await?;
        app.press_slowly("2*", HUMAN_MS).await?;
        app.wait_for("[data-testid=multiplier]", WAIT)
            .await
            .context("`2 *` did not set a quantity for the next scan")?;
        app.scanner_burst(&tea.barcode).await?;
        wait_lines(app, "after 2 * tea", &[(&tea.id, 2.0)]).await?;
        app.wait_gone("[data-testid=multiplier]", WAIT).await?;
        // The jam's barcode typed by hand in the customer search, then Enter.
        let search = app.wait_for("#search", WAIT).await?;
        search.click().await?;
        app.type_slowly(&search, &jam.barcode, HUMAN_MS).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        app.press(Key::Enter).await?;
        wait_lines(app, "after the jam", &[(&tea.id, 2.0), (&jam.id, 1.0)]).await?;
        ensure!(
            app.search_value().await?.is_empty(),
            "the typed barcode stayed in the search field"
        );
        app.press(Key::F9).await?;
        let id = completed_sale_id(app).await?;
        *sale_id.lock().unwrap() = id.clone();

        // F8: the sale is first and selected; refund only the jam, by card.
        app.press(Key::F8).await?;
        let row = format!("[data-testid=recent-sale][data-sale-id='{id}']");
        app.wait_for(&format!("{row}[aria-selected=true]"), WAIT)
            .await?;
        click(app, "#sale-refund").await?;
        app.wait_for("[data-testid=refund-line]", WAIT).await?;
        // Every line not refunded yet starts ticked: untick the tea.
        click(app, "[data-testid=refund-line][data-position='0'] input").await?;
        click(app, "#pay-refund-card").await?;
        click(app, "#refund-submit").await?;
        app.wait_for("[data-testid=recent-sale].refund", WAIT)
            .await
            .context("no refund in the list after refunding")?;
        let status = text_content(app, "[data-testid=recent-status]").await?;
        ensure!(status.contains("Refunded"), "refund status: {status:?}");
        app.screenshot("checkout-refund").await?;
        app.press(Key::Escape).await?;
        app.wait_gone("#recent-sales", WAIT).await?;
        Ok(())
    })
    .await?;

    let id: regulars_core::ids::SaleId = sale_id.into_inner().unwrap().parse()?;
    let r = s.f.open()?;
    let refunds: Vec<_> = r
        .recent_sales(10)?
        .into_iter()
        .filter(|x| x.refund_of == Some(id))
        .collect();
    ensure!(refunds.len() == 1, "refunds of the sale: {refunds:?}");
    let refund = &refunds[0];
    ensure!(
        refund.lines.len() == 1
            && refund.lines[0].product_id.map(|p| p.to_string()) == Some(jam.id.clone())
            && refund.total_cents == -jam.price,
        "the refund: {refund:?}"
    );
    ensure!(
        refund.payment_method == PaymentMethod::Card,
        "refunded by {:?}",
        refund.payment_method
    );
    let original = r.store().sale(id)?;
    ensure!(
        original.total_cents == 2 * tea.price + jam.price,
        "original total {}",
        original.total_cents
    );
    Ok(())
}
