//! "Say & offer" on the profile: a considered purchase three weeks ago
//! becomes a follow-up prompt; "Not relevant" hides it for good (re-opened,
//! and in a new session on the same store); a replenishment offer's "Add to
//! sale" puts its line on the sale, and shown / accepted are recorded.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use regulars_core::card::ean13_check_digit;
use regulars_core::ids::SaleId;
use regulars_core::model::{NewCustomer, ProductDraft};
use regulars_e2e::{e2e_or_skip, with_app, App, Fixture, Key, WAIT};
use serde_json::Value;

#[derive(Clone, Debug)]
struct Item {
    id: String,
}

#[derive(Clone, Debug)]
struct Customer {
    id: String,
    card: String,
}

/// The demo fixture plus Harriet, who bought a stovetop espresso pot (a
/// considered purchase) 21 days ago and buys oat milk every week (last 9
/// days ago), with marketing consent.
struct Shop {
    f: Fixture,
    pot: Item,
    oat_milk: Item,
    harriet: Customer,
}

fn ean13(body: &str) -> String {
    format!("{body}{}", ean13_check_digit(body))
}

fn shop() -> Result<Shop> {
    let f = Fixture::build()?;
    let mut r = f.open()?;
    let mut product =
        |barcode: &str, name: &str, category: &str, price: i64, considered: bool| -> Result<Item> {
            let p = r.save_product(
                None,
                &ProductDraft {
                    barcode: Some(ean13(barcode)),
                    name: name.to_string(),
                    department: Some("Kitchen & pantry".into()),
                    category: Some(category.into()),
                    price_cents: price,
                    considered,
                },
            )?;
            Ok(Item {
                id: p.id.to_string(),
            })
        };
    let pot = product(
        "501234510001",
        "Stovetop espresso pot",
        "Coffee makers",
        3495,
        true,
    )?;
    let oat_milk = product(
        "501234510002",
        "Organic oat milk 1 l",
        "Dairy alternatives",
        289,
        false,
    )?;
    let p = r.enrol(&NewCustomer {
        given_name: "Harriet".into(),
        family_name: "Quillfeather".into(),
        phones: vec!["(802) 555-0117".into()],
        marketing_consent: true,
        ..NewCustomer::default()
    })?;
    let harriet = Customer {
        id: p.summary.id.to_string(),
        card: p
            .summary
            .card
            .clone()
            .context("enrolled without a card")?
            .to_string(),
    };

    // History cannot be back-dated through complete_sale: write it directly.
    {
        let conn = r.store().conn();
        let device = r.store().device().to_string();
        conn.execute(
            "UPDATE customers SET created_at = strftime('%Y-%m-%dT09:00:00Z', 'now', '-120 days'),
                                  updated_at = strftime('%Y-%m-%dT09:00:00Z', 'now', '-120 days')
              WHERE id = ?1",
            [&harriet.id],
        )?;
        let sale = |days_ago: i64, lines: &[(&str, &str, i64)]| -> Result<()> {
            let id = SaleId::new().to_string();
            let total: i64 = lines.iter().map(|l| l.2).sum();
            conn.execute(
                "INSERT INTO sales(id, customer_id, device_id, completed_at, total_cents, payment_method)
                 VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?4), ?5, 'card')",
                (&id, &harriet.id, &device, format!("-{days_ago} days"), total),
            )?;
            for (pos, (pid, name, price)) in lines.iter().enumerate() {
                conn.execute(
                    "INSERT INTO sale_lines(sale_id, position, product_id, description, quantity, unit_price_cents, amount_cents)
                     VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
                    (&id, pos as i64, pid, name, price),
                )?;
            }
            Ok(())
        };
        sale(21, &[(&pot.id, "Stovetop espresso pot", 3495)])?;
        // Every 7 days for 10 weeks, the last 9 days ago: due again (cycle 7, ratio ~1.3).
        for k in 0..10 {
            sale(9 + 7 * k, &[(&oat_milk.id, "Organic oat milk 1 l", 289)])?;
        }
    }
    r.rebuild_index()?;
    drop(r);
    Ok(Shop {
        f,
        pot,
        oat_milk,
        harriet,
    })
}

#[derive(Debug)]
struct Shown {
    kind: String,
    key: String,
    product_id: String,
    text: String,
}

/// The prompts (`what` = "prompt") or offers ("offer") on screen, in order.
async fn shown(app: &App, what: &str) -> Result<Vec<Shown>> {
    let v = app
        .js_value(&format!(
            "return [...document.querySelectorAll('#suggestions [data-testid={what}]')]\
             .map(e => [e.dataset.kind, e.dataset.key, e.dataset.productId || '', \
                        e.textContent.replace(/\\s+/g, ' ').trim()]);"
        ))
        .await?;
    let rows = v.as_array().cloned().unwrap_or_default();
    Ok(rows
        .iter()
        .map(|r| {
            let s = |i: usize| r[i].as_str().unwrap_or_default().to_string();
            Shown {
                kind: s(0),
                key: s(1),
                product_id: s(2),
                text: s(3),
            }
        })
        .collect())
}

/// Scans the card and waits for the profile and its suggestions.
async fn open_by_card(app: &App, c: &Customer) -> Result<()> {
    app.scanner_burst(&c.card).await?;
    app.wait_profile(&c.id)
        .await
        .with_context(|| format!("scanning {}'s card did not open their profile", c.card))?;
    app.wait_for("#suggestions[data-state=ready]", WAIT)
        .await
        .context("the suggestions did not arrive")?;
    Ok(())
}

/// Polls until `f` finds what it wants among the prompts or offers.
async fn wait_shown<F>(app: &App, what: &str, desc: &str, f: F) -> Result<Vec<Shown>>
where
    F: Fn(&[Shown]) -> bool,
{
    let deadline = Instant::now() + WAIT;
    loop {
        let got = shown(app, what).await?;
        if f(&got) {
            return Ok(got);
        }
        if Instant::now() > deadline {
            bail!("{desc}: the {what}s on screen are {got:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn click(app: &App, css: &str) -> Result<()> {
    app.wait_for(css, WAIT)
        .await?
        .click()
        .await
        .with_context(|| format!("clicking `{css}`"))
}

fn css_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_considered_purchase_three_weeks_ago_is_a_follow_up_prompt() -> Result<()> {
    e2e_or_skip!();
    let s = shop()?;
    let h = s.harriet.clone();
    let pot = s.pot.clone();
    let used_key = std::sync::Mutex::new(String::new());

    with_app("suggestions_follow_up", &s.f.db, async |app| {
        open_by_card(app, &h).await?;
        let prompts = wait_shown(app, "prompt", "no follow_up prompt", |p| {
            p.iter().any(|x| x.kind == "follow_up")
        })
        .await?;
        ensure!(prompts.len() <= 3, "more than 3 prompts: {prompts:#?}");
        let fu = prompts
            .iter()
            .find(|x| x.kind == "follow_up")
            .expect("found above");
        ensure!(
            fu.text.to_lowercase().contains("espresso pot"),
            "the follow-up prompt does not mention the product: {fu:?}"
        );
        ensure!(
            fu.key.contains(&pot.id),
            "the follow-up key is not about the pot: {fu:?}"
        );
        ensure!(
            fu.text.contains("Alt+"),
            "the prompt shows no keyboard hint: {fu:?}"
        );
        let offers = shown(app, "offer").await?;
        ensure!(offers.len() <= 2, "more than 2 offers: {offers:#?}");
        app.screenshot("suggestions").await?;

        // Alt+1 marks the first prompt used: it goes at once.
        let first = prompts[0].key.clone();
        app.driver
            .action_chain()
            .key_down(Key::Alt)
            .send_keys("1")
            .key_up(Key::Alt)
            .perform()
            .await?;
        app.wait_gone(
            &format!("[data-testid=prompt][data-key={}]", css_str(&first)),
            WAIT,
        )
        .await
        .context("Alt+1 did not mark the first prompt used")?;
        *used_key.lock().unwrap() = first;
        Ok(())
    })
    .await?;

    let key = used_key.lock().unwrap().clone();
    let r = s.f.open()?;
    let n: i64 = r.store().conn().query_row(
        "SELECT count(*) FROM prompt_feedback WHERE customer_id = ?1 AND prompt_key = ?2 AND verdict = 'used'",
        (&h.id, &key),
        |row| row.get(0),
    )?;
    ensure!(n == 1, "Alt+1 recorded {n} 'used' verdicts for {key}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prompt_marked_not_relevant_stays_gone() -> Result<()> {
    e2e_or_skip!();
    let s = shop()?;
    let h = s.harriet.clone();
    let dismissed = std::sync::Mutex::new(String::new());

    with_app("suggestions_not_relevant", &s.f.db, async |app| {
        open_by_card(app, &h).await?;
        let prompts = wait_shown(app, "prompt", "no follow_up prompt", |p| {
            p.iter().any(|x| x.kind == "follow_up")
        })
        .await?;
        let key = prompts
            .iter()
            .find(|x| x.kind == "follow_up")
            .expect("found above")
            .key
            .clone();
        let sel = format!("[data-testid=prompt][data-key={}]", css_str(&key));
        click(app, &format!("{sel} [data-testid=prompt-dismiss]")).await?;
        app.wait_gone(&sel, WAIT)
            .await
            .context("'Not relevant' did not hide the prompt")?;

        // Close the profile (Esc to the search, Esc again closes it), then scan again.
        app.press(Key::Escape).await?;
        app.press(Key::Escape).await?;
        app.wait_gone("#profile", WAIT)
            .await
            .context("Esc, Esc did not close the profile")?;
        open_by_card(app, &h).await?;
        let again = shown(app, "prompt").await?;
        ensure!(
            !again.iter().any(|x| x.key == key),
            "the dismissed prompt is back after re-opening: {again:#?}"
        );
        *dismissed.lock().unwrap() = key;
        Ok(())
    })
    .await?;

    // A new session on the same store.
    let key = dismissed.lock().unwrap().clone();
    with_app("suggestions_not_relevant_2", &s.f.db, async |app| {
        open_by_card(app, &h).await?;
        let prompts = shown(app, "prompt").await?;
        ensure!(
            !prompts
                .iter()
                .any(|x| x.key == key || x.kind == "follow_up"),
            "the dismissed follow-up is back in a new session: {prompts:#?}"
        );
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_accepted_offer_puts_its_line_on_the_sale() -> Result<()> {
    e2e_or_skip!();
    let s = shop()?;
    let h = s.harriet.clone();
    let oat = s.oat_milk.clone();
    let offer_key = std::sync::Mutex::new(String::new());

    with_app("suggestions_offer", &s.f.db, async |app| {
        open_by_card(app, &h).await?;
        let offers = wait_shown(app, "offer", "no replenish offer for the oat milk", |o| {
            o.iter()
                .any(|x| x.kind == "replenish" && x.product_id == oat.id)
        })
        .await?;
        let key = offers
            .iter()
            .find(|x| x.kind == "replenish" && x.product_id == oat.id)
            .expect("found above")
            .key
            .clone();
        let usual_before = shown(app, "prompt")
            .await?
            .iter()
            .any(|x| x.kind == "usual" && x.key.contains(&oat.id));

        let sel = format!("[data-testid=offer][data-key={}]", css_str(&key));
        click(app, &format!("{sel} [data-testid=offer-accept]")).await?;

        // The line is on the sale, for Harriet.
        let deadline = Instant::now() + WAIT;
        loop {
            let lines: Value = app
                .js_value(
                    "return [...document.querySelectorAll('[data-testid=basket-line]')]\
                     .map(e => [e.dataset.productId, Number(e.dataset.quantity)]);",
                )
                .await?;
            let want = serde_json::json!([[oat.id, 1]]);
            if lines == want {
                break;
            }
            if Instant::now() > deadline {
                bail!("after accepting, the basket lines are {lines}, expected {want}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let on_sale = app
            .js_value(
                "return document.getElementById('basket-customer')?.dataset.customerId ?? null;",
            )
            .await?;
        ensure!(
            on_sale.as_str() == Some(h.id.as_str()),
            "accepting did not put Harriet on the sale (basket customer {on_sale})"
        );
        app.wait_gone(&sel, WAIT)
            .await
            .context("the accepted offer is still offered")?;
        if usual_before {
            // The basket changed: the refreshed prompts drop "the usual?" for it.
            wait_shown(
                app,
                "prompt",
                "the usual-item prompt stayed after the item was added",
                |p| {
                    !p.iter()
                        .any(|x| x.kind == "usual" && x.key.contains(&oat.id))
                },
            )
            .await?;
        }
        app.screenshot("suggestions_accepted").await?;
        *offer_key.lock().unwrap() = key;
        Ok(())
    })
    .await?;

    let key = offer_key.lock().unwrap().clone();
    let r = s.f.open()?;
    let count = |outcome: &str| -> Result<i64> {
        Ok(r.store().conn().query_row(
            "SELECT count(*) FROM offer_events WHERE customer_id = ?1 AND offer_key = ?2 AND outcome = ?3",
            (&h.id, &key, outcome),
            |row| row.get(0),
        )?)
    };
    let (shown_n, accepted_n) = (count("shown")?, count("accepted")?);
    ensure!(
        shown_n == 1 && accepted_n == 1,
        "offer events for {key}: shown {shown_n}, accepted {accepted_n} (expected 1 and 1)"
    );
    Ok(())
}
