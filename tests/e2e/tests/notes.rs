//! Notes: `n` on an open profile, type, Enter; the note is on screen, still
//! there after the app is closed and opened again, and in the SQLite file.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use regulars_e2e::{e2e_or_skip, with_app, App, Fixture, Key, WAIT};

const NOTE: &str = "Asked us to order the blue enamel teapot, call when it comes in.";

async fn notes_on_screen(app: &App) -> Result<Vec<String>> {
    let v = app
        .js_value(
            "return [...document.querySelectorAll('[data-testid=note]')].map(n => n.querySelector('.note-body')?.textContent ?? n.textContent);",
        )
        .await?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(|s| s.trim().to_string()))
                .collect()
        })
        .unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_note_survives_a_restart() -> Result<()> {
    e2e_or_skip!();
    let f = Fixture::build()?;
    let m = f.margaret.clone();

    with_app("notes_add", &f.db, async |app| {
        app.blur_all().await?;
        app.scanner_burst(&m.card).await?;
        app.wait_profile(&m.id).await?;
        ensure!(notes_on_screen(app).await?.is_empty(), "Margaret already has notes");
        // The profile has focus, no field does: `n` goes to the note box.
        let focused = app.focused().await?;
        ensure!(focused == "profile" || focused == "BODY", "unexpected focus before `n`: {focused}");
        app.press_slowly("n", 0).await?;
        app.wait_js(
            "the note box to take focus after `n`",
            "document.activeElement && document.activeElement.id === 'note-input'",
            WAIT,
        )
        .await?;
        let input = app.wait_for("#note-input", WAIT).await?;
        ensure!(
            input.value().await?.unwrap_or_default().is_empty(),
            "the `n` shortcut was typed into the note"
        );
        app.type_slowly(&input, NOTE, 35).await?;
        tokio::time::sleep(Duration::from_millis(80)).await;
        app.press(Key::Enter).await?;
        app.wait_js(
            "the note to appear",
            &format!(
                "[...document.querySelectorAll('[data-testid=note]')].some(n => n.textContent.includes({}))",
                serde_json::to_string(NOTE)?
            ),
            WAIT,
        )
        .await?;
        let box_value = app.js_value("return document.getElementById('note-input').value;").await?;
        ensure!(box_value == serde_json::json!(""), "the note box was not emptied: {box_value}");
        let notes = notes_on_screen(app).await?;
        ensure!(notes == [NOTE], "notes on screen: {notes:?}");
        app.screenshot("notes-added").await?;
        Ok(())
    })
    .await?;

    // In the file, written by the app.
    {
        let r = f.open()?;
        let id = m.id.parse()?;
        let notes = r.store().notes(id, regulars_core::model::Viewer::Owner)?;
        ensure!(
            notes.len() == 1 && notes[0].body == NOTE,
            "notes in the store: {notes:?}"
        );
        let (n, author): (i64, String) = r.store().conn().query_row(
            "SELECT count(*), max(author) FROM notes WHERE customer_id = ?1 AND body = ?2",
            (&m.id, NOTE),
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        ensure!(
            n == 1 && !author.is_empty(),
            "SQL sees {n} notes, author {author:?}"
        );
    }

    // A new session on the same file: find her by name, the note is there.
    with_app("notes_after_restart", &f.db, async |app| {
        let search = app.wait_for("#search", WAIT).await?;
        app.type_slowly(&search, "margaret thornton", 40).await?;
        app.wait_js(
            "Margaret in the results",
            &format!(
                "(() => {{ const r = document.querySelector('[data-testid=result]'); \
                 return r && r.dataset.customerId === '{}'; }})()",
                m.id
            ),
            WAIT,
        )
        .await?;
        app.press(Key::Enter).await?;
        app.wait_profile(&m.id)
            .await
            .context("Enter on the first result")?;
        app.wait_for("[data-testid=note]", WAIT)
            .await
            .context("the note is gone after a restart")?;
        let notes = notes_on_screen(app).await?;
        ensure!(notes == [NOTE], "notes after restart: {notes:?}");
        Ok(())
    })
    .await
}
