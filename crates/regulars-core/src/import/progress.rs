//! Progress of a running import, as the CLI's status line and the UI's bar
//! show it: rows done, an estimate of the total (from how much of the files
//! has been read, since gzip hides the row count), speed and time left.
//!
//! Owns: the estimate. Does not own: how it is displayed.

use std::time::Instant;

use serde::Serialize;
use ts_rs::TS;

/// A snapshot, handed to the caller's callback after every batch.
#[derive(Clone, Debug, Serialize, PartialEq, TS)]
pub struct Progress {
    /// The file being read.
    pub file: String,
    /// Data rows read so far, all files together.
    pub rows_done: u64,
    /// Estimated rows in all files, from the share of bytes read; None until
    /// something has been read.
    pub rows_total_estimate: Option<u64>,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub rows_per_sec: f64,
    pub elapsed_secs: f64,
    /// Seconds left at the current speed; None until it can be estimated.
    pub eta_secs: Option<f64>,
}

/// Measures a run. Bytes are compressed bytes for gzip files: the share
/// read is the share done, whatever the compression ratio.
#[derive(Debug)]
pub(crate) struct Meter {
    start: Instant,
    pub bytes_total: u64,
    /// Sizes of the files finished so far.
    pub bytes_finished: u64,
    pub rows: u64,
}

impl Meter {
    pub fn new(bytes_total: u64) -> Self {
        Meter {
            start: Instant::now(),
            bytes_total,
            bytes_finished: 0,
            rows: 0,
        }
    }

    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    pub fn snapshot(&self, file: &str, bytes_in_file: u64) -> Progress {
        let elapsed = self.elapsed();
        let bytes_done = (self.bytes_finished + bytes_in_file).min(self.bytes_total.max(1));
        let share = if self.bytes_total > 0 {
            bytes_done as f64 / self.bytes_total as f64
        } else {
            0.0
        };
        let rows_total_estimate =
            (share > 0.0).then(|| ((self.rows as f64 / share).round() as u64).max(self.rows));
        let eta_secs = (share > 0.0 && elapsed > 0.0).then(|| (elapsed / share - elapsed).max(0.0));
        Progress {
            file: file.to_string(),
            rows_done: self.rows,
            rows_total_estimate,
            bytes_done,
            bytes_total: self.bytes_total,
            rows_per_sec: if elapsed > 0.0 {
                self.rows as f64 / elapsed
            } else {
                0.0
            },
            elapsed_secs: elapsed,
            eta_secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_from_the_share_read() {
        let mut m = Meter::new(1000);
        m.rows = 500;
        let p = m.snapshot("f", 250);
        assert_eq!(p.rows_total_estimate, Some(2000));
        assert_eq!(p.bytes_done, 250);
        let empty = Meter::new(0).snapshot("f", 0);
        assert_eq!(empty.rows_total_estimate, None);
        assert_eq!(empty.eta_secs, None);
    }
}
