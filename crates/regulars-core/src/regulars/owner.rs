//! The owner's exports as files: the contact list for a mail-merge, a
//! dashboard chart's figures, everything held about one customer. Each is
//! written to the exports folder (setting `exports_folder`, else `exports/`
//! beside the store file), readable by this user only, and audited.
//!
//! Owns: where export files go, their names, and the owner check.
//! Does not own: what is in them (`review`, `store::erase` export).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Regulars;
use crate::ids::CustomerId;
use crate::model::{DashboardChart, Session};
use crate::store::audit::audit;
use crate::{Error, Result};

const EXPORTS_FOLDER_SETTING: &str = "exports_folder";

impl Regulars {
    /// Where the owner's export files go.
    pub fn exports_folder(&self) -> Result<PathBuf> {
        if let Some(f) = self.store().setting(EXPORTS_FOLDER_SETTING)? {
            return Ok(PathBuf::from(f));
        }
        let beside = self
            .store()
            .path()
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Ok(beside.join("exports"))
    }

    /// Writes `contents` to a new `<stem>-<UTC time>.<ext>` in the exports
    /// folder and gives its path. Never overwrites: a name taken (two
    /// exports in one second) gets a counter.
    fn save_export(&self, stem: &str, ext: &str, contents: &str) -> Result<PathBuf> {
        let dir = self.exports_folder()?;
        let io = |path: &Path, source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
        for n in 0..100 {
            let name = if n == 0 {
                format!("{stem}-{stamp}.{ext}")
            } else {
                format!("{stem}-{stamp}-{n}.{ext}")
            };
            let path = dir.join(name);
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                // Personal data: readable by this user only.
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            match opts.open(&path) {
                Ok(mut f) => {
                    f.write_all(contents.as_bytes())
                        .and_then(|()| f.sync_all())
                        .map_err(|e| io(&path, e))?;
                    return Ok(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(&path, e)),
            }
        }
        Err(Error::invalid(
            "export",
            "too many exports in one second; try again in a moment".to_string(),
        ))
    }

    fn audit_export(&mut self, session: &Session, what: &str, path: &Path) -> Result<()> {
        let tx = self.store_mut().write()?;
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("?");
        audit(
            &tx,
            Some(session.staff_id()),
            "export",
            None,
            &format!("{what} -> {file}"),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// This week's contact list (from `as_of`, default today) as a CSV file
    /// for a mail-merge. Owner only.
    pub fn export_contacts_file(
        &mut self,
        session: &Session,
        as_of: Option<&str>,
    ) -> Result<PathBuf> {
        session.require_owner("export the contact list")?;
        let csv = self.contact_list_csv(as_of)?;
        let path = self.save_export("contacts", "csv", &csv)?;
        let rows = csv.lines().count().saturating_sub(1);
        self.audit_export(session, &format!("contact list, {rows} rows"), &path)?;
        Ok(path)
    }

    /// One dashboard chart's figures as a CSV file. Owner only.
    pub fn export_dashboard_chart_file(
        &mut self,
        session: &Session,
        from: &str,
        to: &str,
        utc_offset_minutes: i32,
        chart: DashboardChart,
    ) -> Result<PathBuf> {
        session.require_owner("export dashboard figures")?;
        let csv = self.dashboard_csv(from, to, utc_offset_minutes, chart)?;
        let stem = match chart {
            DashboardChart::Totals => "totals",
            DashboardChart::VisitsByHour => "visits-by-hour",
            DashboardChart::RevenueTrend => "revenue-trend",
            DashboardChart::RevenueBySegment => "revenue-by-segment",
        };
        let path = self.save_export(stem, "csv", &csv)?;
        self.audit_export(session, &format!("chart {stem} {from}..{to}"), &path)?;
        Ok(path)
    }

    /// Everything held about one customer as a JSON file (their request to
    /// see their data). Owner only; audited by [`Regulars::export_customer`].
    pub fn export_customer_file(&mut self, session: &Session, id: CustomerId) -> Result<PathBuf> {
        let json = self.export_customer(session, id)?;
        self.save_export(&format!("customer-{id}"), "json", &json)
    }
}
