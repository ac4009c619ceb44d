//! Accessibility checks with axe-core (the npm package the UI already
//! installs), injected into the real window through WebDriver. Only the
//! WCAG 2 A/AA rules run; a screen passes when axe reports no violation of
//! impact "serious" or "critical" (minor/moderate ones are printed).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::{workspace_root, App};

fn axe_source() -> Result<String> {
    let path: PathBuf = workspace_root().join("ui/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (run `npm ci` in ui/, which `make test` does)",
            path.display()
        )
    })
}

impl App {
    /// Runs axe on the current screen; fails listing every serious or
    /// critical violation, with the elements it found them on.
    pub async fn check_accessibility(&self, screen: &str) -> Result<()> {
        let src = axe_source()?;
        // The script defines `window.axe`; WebDriver scripts are not bound
        // by the page's CSP.
        self.driver
            .execute(
                &format!("{src}\nreturn typeof window.axe;"),
                Vec::<Value>::new(),
            )
            .await
            .context("injecting axe-core")?;
        let v = self
            .driver
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                   .then(r => done(r.violations.map(v => ({
                      id: v.id, impact: v.impact, help: v.help,
                      nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').replace(/\\s+/g, ' '))
                   }))))
                   .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));",
                Vec::<Value>::new(),
            )
            .await
            .context("running axe-core")?
            .json()
            .clone();
        let violations = v.as_array().cloned().unwrap_or_default();
        let mut bad = Vec::new();
        for x in &violations {
            let impact = x["impact"].as_str().unwrap_or("?");
            let line = format!(
                "[{impact}] {}: {}\n      {}",
                x["id"].as_str().unwrap_or("?"),
                x["help"].as_str().unwrap_or(""),
                x["nodes"]
                    .as_array()
                    .map(|n| n
                        .iter()
                        .filter_map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join("\n      "))
                    .unwrap_or_default()
            );
            eprintln!("axe {screen}: {line}");
            if matches!(impact, "serious" | "critical") {
                bad.push(line);
            }
        }
        if !bad.is_empty() {
            bail!(
                "{screen}: {} serious accessibility problem(s):\n  {}",
                bad.len(),
                bad.join("\n  ")
            );
        }
        eprintln!(
            "axe {screen}: no serious or critical violations ({} minor)",
            violations.len()
        );
        Ok(())
    }
}
