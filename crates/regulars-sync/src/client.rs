//! The till's HTTP client and sync driver (feature `client`): one round of
//! push-then-pull against the server, over any [`Replica`] (the till's
//! store, reached however its host holds it), plus the retry schedule.
//!
//! It owns the network only. What a change does to the store is the
//! replica's business; when to run a round (at launch, after a sale, on
//! "sync now", on a timer with [`backoff`]) is the host's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::protocol::{
    ApiError, ApiErrorCode, Change, ChangeStatus, EnrollRequest, EnrollResponse, PullResponse,
    PushRequest, PushResponse, MAX_PAGE,
};
pub use crate::replica::Replica;

/// Changes sent per push. Smaller than the server's limit so one batch
/// stays well under a second even on a slow link.
pub const PUSH_BATCH: usize = 500;
/// Rounds of push or pull in one [`sync_once`] before it yields (a till far
/// behind catches up over several calls rather than blocking one forever).
pub const MAX_ROUNDS: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the server address {0:?} is not a valid URL: use the form http://HOST:PORT or https://HOST")]
    BadUrl(String),
    #[error("cannot reach the server ({0}); the till keeps working and retries by itself")]
    Offline(String),
    #[error("the server refused the request ({status}): {message}")]
    Server {
        status: u16,
        code: Option<ApiErrorCode>,
        message: String,
    },
    #[error(
        "the server's answer could not be read ({0}); check that the address is a Regulars server"
    )]
    BadAnswer(String),
    #[error("the till's store failed during sync: {0}")]
    Replica(String),
}

impl ClientError {
    /// The server's error code, when it gave one.
    pub fn code(&self) -> Option<ApiErrorCode> {
        match self {
            ClientError::Server { code, .. } => *code,
            _ => None,
        }
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    pub fn new(base: &str, token: Option<String>) -> Result<Client, ClientError> {
        let base = base.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() < 10 {
            return Err(ClientError::BadUrl(base));
        }
        // One process-wide TLS provider; a second install is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ClientError::Offline(e.to_string()))?;
        Ok(Client { http, base, token })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let resp = req.send().await.map_err(|e| {
            if e.is_builder() {
                ClientError::BadUrl(self.base.clone())
            } else {
                // Never the URL's query or any header: only the kind.
                ClientError::Offline(if e.is_timeout() {
                    "timed out".into()
                } else if e.is_connect() {
                    "connection refused or no route".into()
                } else {
                    "network error".into()
                })
            }
        })?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|_| ClientError::Offline("connection dropped".into()))?;
        if !status.is_success() {
            let parsed: Option<ApiError> = serde_json::from_slice(&bytes).ok();
            return Err(ClientError::Server {
                status: status.as_u16(),
                code: parsed.as_ref().map(|e| e.code),
                message: parsed
                    .map(|e| e.message)
                    .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string()),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| ClientError::BadAnswer(e.to_string()))
    }

    pub async fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse, ClientError> {
        self.send(self.http.post(format!("{}/v1/enroll", self.base)).json(req))
            .await
    }

    pub async fn push(&self, changes: Vec<Change>) -> Result<PushResponse, ClientError> {
        let req = PushRequest {
            changes,
            sent_ms: now_ms(),
        };
        self.send(self.http.post(format!("{}/v1/push", self.base)).json(&req))
            .await
    }

    pub async fn pull(&self, after: i64, limit: usize) -> Result<PullResponse, ClientError> {
        self.pull_wait(after, limit, 0).await
    }

    /// A pull that, when nothing is new, waits up to `wait_secs` (at most
    /// 30) for another device to push (a long poll).
    pub async fn pull_wait(
        &self,
        after: i64,
        limit: usize,
        wait_secs: u64,
    ) -> Result<PullResponse, ClientError> {
        self.send(self.http.get(format!(
            "{}/v1/pull?after={after}&limit={limit}&wait={wait_secs}",
            self.base
        )))
        .await
    }
}

/// What one round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pushed: u64,
    pub rejected: u64,
    pub pulled: u64,
}

fn replica<E: std::fmt::Display>(e: E) -> ClientError {
    ClientError::Replica(e.to_string())
}

/// One round: push everything waiting, then pull everything new. Each push
/// batch's results and each pulled page are committed by the replica before
/// the next request, so an interruption anywhere loses nothing and repeats
/// nothing (the server answers a replay "duplicate"; the replica skips a
/// change it applied).
pub async fn sync_once<R: Replica>(client: &Client, r: &mut R) -> Result<SyncReport, ClientError> {
    let mut report = SyncReport::default();
    for _ in 0..MAX_ROUNDS {
        let batch = r.push_batch(PUSH_BATCH).map_err(replica)?;
        if batch.is_empty() {
            break;
        }
        let sent = now_ms();
        let resp = client.push(batch).await?;
        r.learn_time(resp.server_ms, sent, now_ms());
        for res in &resp.results {
            match res.status {
                ChangeStatus::Rejected => report.rejected += 1,
                _ => report.pushed += 1,
            }
        }
        r.record_push(&resp.results, resp.server_ms)
            .map_err(replica)?;
    }
    for _ in 0..MAX_ROUNDS {
        let after = r.cursor().map_err(replica)?;
        let sent = now_ms();
        let page = client.pull(after, MAX_PAGE).await?;
        r.learn_time(page.server_ms, sent, now_ms());
        report.pulled += page.changes.len() as u64;
        r.apply_page(&page).map_err(replica)?;
        if !page.more {
            break;
        }
    }
    Ok(report)
}

/// Waits up to `wait_secs` for other devices' news and applies it (then
/// everything after it): how a till online hears of another till's sale
/// within a moment instead of at its next timed round. Returns the number
/// of changes pulled (0 when the wait ran out).
pub async fn listen_once<R: Replica>(
    client: &Client,
    r: &mut R,
    wait_secs: u64,
) -> Result<u64, ClientError> {
    let mut pulled = 0;
    let mut wait = wait_secs;
    for _ in 0..MAX_ROUNDS {
        let after = r.cursor().map_err(replica)?;
        let sent = now_ms();
        let page = client.pull_wait(after, MAX_PAGE, wait).await?;
        r.learn_time(page.server_ms, sent, now_ms());
        pulled += page.changes.len() as u64;
        r.apply_page(&page).map_err(replica)?;
        if !page.more {
            break;
        }
        wait = 0;
    }
    Ok(pulled)
}

/// How long to wait before retry `attempt` (0-based) after a failure:
/// exponential from 2 s up to 5 min, with jitter from `seed` (any varying
/// number) so many tills coming back online do not retry in step.
pub fn backoff(attempt: u32, seed: u64) -> Duration {
    let base_ms: u64 = 2_000u64
        .saturating_mul(1u64 << attempt.min(20))
        .min(300_000);
    // Keep between 50 % and 100 % of the step.
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    let frac = (x % 1_000) as f64 / 1_000.0;
    Duration::from_millis(base_ms / 2 + (base_ms as f64 / 2.0 * frac) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        for attempt in 0..30 {
            let step = 2_000u64.saturating_mul(1 << attempt.min(20)).min(300_000);
            for seed in 0..50 {
                let d = backoff(attempt, seed).as_millis() as u64;
                assert!(d >= step / 2 && d <= step, "attempt {attempt}: {d}");
            }
        }
        let spread: std::collections::HashSet<u128> =
            (0..50).map(|s| backoff(5, s).as_millis()).collect();
        assert!(spread.len() > 10, "jitter spreads tills out");
    }

    #[test]
    fn bad_urls_are_refused_before_any_request() {
        for u in ["", "ftp://x", "127.0.0.1:80", "http://"] {
            assert!(
                matches!(Client::new(u, None), Err(ClientError::BadUrl(_))),
                "{u}"
            );
        }
        assert!(Client::new("http://127.0.0.1:9/", None).is_ok());
    }
}
