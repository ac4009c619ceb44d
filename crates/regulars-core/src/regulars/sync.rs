//! Sync use cases on the facade: the [`Replica`] the sync driver talks to,
//! enrolment and status. After a pulled page the in-memory search index and
//! suggestion engine follow what arrived, as they do after a local sale.

use regulars_sync::protocol::{ChangeResult, EnrollResponse, PullResponse};
use regulars_sync::{Change, Replica};

use super::Regulars;
use crate::ids::{CustomerId, SaleId};
use crate::model::{Session, SyncConflict, SyncStatus};
use crate::sync::PageReport;
use crate::{Error, Result};

/// Pages bigger than this rebuild the index and engine wholesale (a new
/// till's bootstrap) instead of change by change.
const BULK_PAGE: usize = 2_000;

impl Regulars {
    pub fn sync_status(&self) -> Result<SyncStatus> {
        self.store.sync_status()
    }

    /// Saves an enrolment the client obtained from the server.
    pub fn save_enrolment(&mut self, url: &str, e: &EnrollResponse) -> Result<()> {
        self.store.save_enrolment(url, e)
    }

    /// The server and token to sync with, or an error saying how to enrol.
    pub fn sync_credentials(&self) -> Result<(String, String)> {
        self.store.sync_credentials()?.ok_or_else(|| {
            Error::invalid(
                "sync",
                "this till is not enrolled with a server yet: get a code with \
                 `regulars-server enroll --store NAME` and enter it in Settings",
            )
        })
    }

    /// The conflict log, newest first: values that lost to a later write on
    /// another till. Owner only: the values are customer data.
    pub fn sync_conflicts(&self, session: &Session, limit: usize) -> Result<Vec<SyncConflict>> {
        session.require_owner("review sync conflicts")?;
        let mut st = self.store.conn().prepare(
            "SELECT entity, entity_id, field, kept, lost, lost_hlc, lost_device, noted_at
             FROM sync_conflicts ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = st.query_map([limit as i64], |r| {
            let hlc: String = r.get(5)?;
            let lost_at = hlc
                .parse::<regulars_sync::Hlc>()
                .ok()
                .and_then(|h| chrono::DateTime::from_timestamp_millis(h.ms as i64))
                .map(crate::store::iso)
                .unwrap_or(hlc);
            Ok(SyncConflict {
                entity: r.get(0)?,
                entity_id: r.get(1)?,
                field: r.get(2)?,
                kept: r.get(3)?,
                lost: r.get(4)?,
                lost_at,
                lost_device: r.get(6)?,
                noted_at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn record_sync_error(&self, message: &str) -> Result<()> {
        self.store.set_sync_error(message)
    }

    /// Applies a pulled page, then brings the search index and the
    /// suggestion engine up to date with it.
    pub fn sync_apply_page(&mut self, page: &PullResponse) -> Result<PageReport> {
        if page.changes.iter().any(|c| c.change.op == "erase") {
            // Freed pages are zeroed, as for a local erasure.
            self.store
                .conn()
                .pragma_update(None, "secure_delete", "ON")?;
        }
        let report = self.store.apply_page(page);
        self.store
            .conn()
            .pragma_update(None, "secure_delete", "OFF")?;
        let report = report?;
        if report.erased > 0 && self.store.path().as_os_str() != ":memory:" {
            self.store.conn().execute_batch("VACUUM")?;
            self.store
                .conn()
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        if report.applied == 0 {
            return Ok(report);
        }
        if page.changes.len() > BULK_PAGE || report.erased > 0 {
            self.rebuild_index()?;
            return Ok(report);
        }
        let mut customers: Vec<String> = report.customers.clone();
        customers.sort();
        customers.dedup();
        for c in customers {
            let Ok(id) = c.parse::<CustomerId>() else {
                continue;
            };
            let id = self.merged_into(id)?.unwrap_or(id);
            match self.store.search_doc(id) {
                Ok(doc) => self.index.upsert(doc),
                Err(Error::NotFound { .. }) => self.index.remove(id),
                Err(e) => return Err(e),
            }
        }
        for s in &report.sales {
            let Ok(id) = s.parse::<SaleId>() else {
                continue;
            };
            let sale = self.store.sale(id)?;
            if let Some(e) = self.suggest.as_mut() {
                e.record_sale(&self.store, &sale)?;
            }
        }
        Ok(report)
    }
}

impl Replica for Regulars {
    type Error = Error;

    fn push_batch(&mut self, limit: usize) -> Result<Vec<Change>> {
        self.store.push_batch(limit)
    }

    fn record_push(&mut self, results: &[ChangeResult], _server_ms: u64) -> Result<()> {
        // The server's time is learnt in `learn_time`; here only results.
        self.store.record_push_results(results)
    }

    fn cursor(&mut self) -> Result<i64> {
        Ok(self.store.sync_cursor()?.unwrap_or(0))
    }

    fn apply_page(&mut self, page: &PullResponse) -> Result<()> {
        self.sync_apply_page(page).map(|_| ())
    }

    fn learn_time(&mut self, server_ms: u64, sent_ms: u64, received_ms: u64) {
        // A failure here only leaves the old offset: the clock stays monotonic.
        let _ = self
            .store
            .learn_server_time(server_ms, sent_ms, received_ms);
    }
}
