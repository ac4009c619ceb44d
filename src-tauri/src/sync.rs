//! Sync in the desktop app: the background task that keeps this till and
//! the central server in step, and the three sync commands (status, "sync
//! now", enroll).
//!
//! Owns: when a round runs (at launch, every 30 s, at once after a sale or
//! a customer write, on "sync now", with backoff after failures), taking
//! the store's lock per replica call (never across a network wait), the
//! `sync-status` event after each round, and turning client failures into
//! `{code, message}`.
//! Does not own: the protocol and the HTTP client (`regulars-sync`), what a
//! change does to the store (`regulars-core`), how the status reads (UI).

use std::time::{Duration, Instant};

use regulars_core::model::{ApiError, SyncStatus};
use regulars_core::{ErrorCode, Regulars};
use regulars_sync::client::{
    self, backoff, listen_once, sync_once, Client, ClientError, Replica, SyncReport,
};
use regulars_sync::protocol::{
    ApiErrorCode, ChangeResult, EnrollRequest, EnrollResponse, PullResponse,
};
use regulars_sync::Change;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::Notify;

use crate::owner::SessionState;
use crate::{AppState, CmdResult};

/// The event the UI listens to; its payload is a [`SyncStatus`].
pub const STATUS_EVENT: &str = "sync-status";
/// Between rounds while all is well: other tills' news arrives at least
/// this often even when nothing happens here.
const PERIOD: Duration = Duration::from_secs(30);
/// Longest a long-poll pull waits for other tills' news (the server holds
/// at most 30 s; the client's request timeout is 60 s).
const LISTEN_SECS: u64 = 25;
/// The first round waits this long after launch, so the window paints and
/// the till answers before sync takes the store's lock.
const FIRST_ROUND_DELAY: Duration = Duration::from_secs(1);

/// How the till wakes the sync task. A `Notify` keeps one permit, so a
/// poke during a round runs one more round right after it, never more.
#[derive(Default)]
pub struct SyncState {
    /// A sale or customer write landed: push it soon (not while backing off).
    changed: Notify,
    /// "Sync now" or a new enrolment: a round at once, even while backing off.
    now: Notify,
}

impl SyncState {
    /// Called by the commands that write what other tills should see.
    pub fn changed(&self) {
        self.changed.notify_one();
    }

    fn now(&self) {
        self.now.notify_one();
    }
}

// ---------------------------------------------------------------------------
// Commands

#[tauri::command]
pub async fn sync_status(state: tauri::State<'_, AppState>) -> CmdResult<SyncStatus> {
    Ok(state.get()?.sync_status()?)
}

/// Asks for a round at once; the result arrives as a `sync-status` event.
#[tauri::command]
pub async fn sync_now(sync: tauri::State<'_, SyncState>) -> CmdResult<()> {
    sync.now();
    Ok(())
}

/// Enrolls this till with a server using a one-time code (owner only).
#[tauri::command]
pub async fn enroll(
    state: tauri::State<'_, AppState>,
    session: tauri::State<'_, SessionState>,
    sync: tauri::State<'_, SyncState>,
    server_url: String,
    code: String,
    device_name: String,
) -> CmdResult<SyncStatus> {
    session.owner()?;
    let status = enroll_till(&state, &server_url, &code, &device_name).await?;
    sync.now();
    Ok(status)
}

/// Asks the server for a token with the code and saves it with the store.
/// The store's lock is taken before and after the request, not across it.
async fn enroll_till(
    state: &AppState,
    server_url: &str,
    code: &str,
    device_name: &str,
) -> CmdResult<SyncStatus> {
    let (code, device_name) = (code.trim(), device_name.trim());
    if code.is_empty() {
        return Err(invalid(
            "enter the enrolment code: the owner gets one with `regulars-server enroll --store NAME`",
        ));
    }
    if device_name.is_empty() {
        return Err(invalid(
            "give this till a name (\"Till 2, front counter\") so the owner can tell the tills apart",
        ));
    }
    let device_id = state.get()?.store().device().as_uuid();
    let client = Client::new(server_url, None).map_err(|e| enroll_error(&e, server_url))?;
    let req = EnrollRequest {
        code: code.to_string(),
        device_name: device_name.to_string(),
        device_id,
    };
    let t = Instant::now();
    let resp: EnrollResponse = client
        .enroll(&req)
        .await
        .map_err(|e| enroll_error(&e, client.base()))?;
    let mut r = state.get()?;
    r.save_enrolment(client.base(), &resp)?;
    tracing::info!(
        device_number = resp.device_number,
        ms = t.elapsed().as_millis() as u64,
        "till enrolled"
    );
    Ok(r.sync_status()?)
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError {
        code: ErrorCode::InvalidInput,
        message: message.into(),
    }
}

/// What an enrolment failure tells the owner. The closed code set has no
/// "offline": the UI shows the message, which says what to do.
fn enroll_error(e: &ClientError, base: &str) -> ApiError {
    let base = base.trim();
    match e {
        ClientError::BadUrl(_) => invalid(e.to_string()),
        ClientError::Offline(why) => ApiError {
            code: ErrorCode::Internal,
            message: format!(
                "cannot reach the server at {base} ({why}): check the address and that the \
                 server is running and reachable from this till, then enroll again"
            ),
        },
        ClientError::Server { code, message, .. } => match code {
            Some(ApiErrorCode::BadEnrollCode) => invalid(format!(
                "the server did not accept the enrolment code ({message}): codes work once and \
                 expire after a day; get a new one with `regulars-server enroll --store NAME`"
            )),
            Some(
                ApiErrorCode::BadRequest
                | ApiErrorCode::TooLarge
                | ApiErrorCode::Unauthorized
                | ApiErrorCode::Revoked,
            ) => invalid(e.to_string()),
            _ => ApiError {
                code: ErrorCode::Internal,
                message: e.to_string(),
            },
        },
        ClientError::BadAnswer(_) | ClientError::Replica(_) => ApiError {
            code: ErrorCode::Internal,
            message: e.to_string(),
        },
    }
}

// ---------------------------------------------------------------------------
// The background task

/// The till's store as the sync driver sees it: each call takes the app's
/// lock and gives it back before the driver's next network wait, so a sale
/// waits at most for one batch or one page, never for the network.
struct Till(AppHandle);

/// A store failure during sync, as it is recorded in the status: the
/// messages of the disk and busy errors (which hold no personal data and
/// say what to do), otherwise only the code, since an invalid-data message
/// may quote a value from a change.
#[derive(Debug)]
struct StoreFailure(ApiError);

impl std::fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.code {
            ErrorCode::DiskFull | ErrorCode::Busy | ErrorCode::Corrupt => {
                f.write_str(&self.0.message)
            }
            code => write!(
                f,
                "a change from the server could not be stored here ({}); the till keeps \
                 working, and the log and diagnostics say more",
                serde_json::to_string(&code)
                    .unwrap_or_default()
                    .trim_matches('"')
            ),
        }
    }
}

impl Till {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Regulars) -> regulars_core::Result<T>,
    ) -> Result<T, StoreFailure> {
        let state = self.0.state::<AppState>();
        let mut r = state.get().map_err(StoreFailure)?;
        f(&mut r).map_err(|e| StoreFailure(ApiError::from(&e)))
    }
}

impl Replica for Till {
    type Error = StoreFailure;

    fn push_batch(&mut self, limit: usize) -> Result<Vec<Change>, StoreFailure> {
        self.with(|r| Replica::push_batch(r, limit))
    }

    fn record_push(
        &mut self,
        results: &[ChangeResult],
        server_ms: u64,
    ) -> Result<(), StoreFailure> {
        self.with(|r| Replica::record_push(r, results, server_ms))
    }

    fn cursor(&mut self) -> Result<i64, StoreFailure> {
        self.with(Replica::cursor)
    }

    fn apply_page(&mut self, page: &PullResponse) -> Result<(), StoreFailure> {
        self.with(|r| Replica::apply_page(r, page))
    }

    fn learn_time(&mut self, server_ms: u64, sent_ms: u64, received_ms: u64) {
        let _ = self.with(|r| {
            Replica::learn_time(r, server_ms, sent_ms, received_ms);
            Ok(())
        });
    }
}

/// What one pass of the task came to.
#[derive(Debug, PartialEq, Eq)]
enum Round {
    /// No server yet (or the store did not open): nothing to do.
    Idle,
    Synced,
    Failed,
}

/// Starts the task on Tauri's async runtime. It lives as long as the app.
pub fn start(app: AppHandle) {
    tauri::async_runtime::spawn(run(app));
}

async fn run(app: AppHandle) {
    let mut client: Option<(String, String, Client)> = None;
    let mut failures: u32 = 0;
    let mut wait = FIRST_ROUND_DELAY;
    let mut last = Round::Idle;
    // One pass per wait: the loop ends with the app's runtime. Each round
    // is bounded (the driver's MAX_ROUNDS, the client's timeouts) and each
    // wait by its deadline.
    loop {
        let listen = client.as_ref().map(|(_, _, c)| c);
        let asked = wait_for_turn(&app, wait, &last, listen).await;
        last = round(&app, &mut client).await;
        wait = match last {
            Round::Idle => PERIOD,
            Round::Synced => {
                failures = 0;
                PERIOD
            }
            Round::Failed => {
                failures = failures.saturating_add(1);
                backoff(
                    failures - 1,
                    client::now_ms() ^ u64::from(std::process::id()),
                )
            }
        };
        // "Sync now" always gets an answer, even when there was nothing to do.
        if last != Round::Idle || asked {
            emit_status(&app);
        }
    }
}

/// Waits until `wait` has passed or the till wakes the task: "sync now"
/// always ends the wait; a sale or customer write ends it unless the last
/// round failed (then the change waits for the retry, and only the status
/// is refreshed so "changes waiting" stays true). While all is well the
/// wait is spent in long-poll pulls, so another till's sale arrives within
/// a moment rather than at the next round. True when asked to by "sync
/// now" or an enrolment.
async fn wait_for_turn(
    app: &AppHandle,
    wait: Duration,
    last: &Round,
    client: Option<&Client>,
) -> bool {
    let sync = app.state::<SyncState>();
    let deadline = tokio::time::Instant::now() + wait;
    let mut listen_with = client.filter(|_| *last == Round::Synced);
    loop {
        let started = Instant::now();
        let listen = async {
            match listen_with {
                Some(c) => listen_once(c, &mut Till(app.clone()), LISTEN_SECS).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return false,
            _ = sync.now.notified() => return true,
            _ = sync.changed.notified() => match last {
                Round::Failed => emit_status(app),
                Round::Synced | Round::Idle => return false,
            },
            heard = listen => match heard {
                Ok(0) if started.elapsed() < Duration::from_secs(1) => {
                    // A server that does not hold the request: no busy loop,
                    // the timed round brings the news instead.
                    listen_with = None;
                }
                Ok(0) => {}
                Ok(pulled) => {
                    tracing::info!(pulled, "sync: heard other tills");
                    emit_status(app);
                }
                // The next round meets the failure and records it.
                Err(_) => return false,
            },
        }
    }
}

/// One push-then-pull against the enrolled server, its failure recorded.
async fn round(app: &AppHandle, cached: &mut Option<(String, String, Client)>) -> Round {
    let state = app.state::<AppState>();
    let creds = match state.get() {
        Ok(r) => r.store().sync_credentials(),
        Err(_) => return Round::Idle,
    };
    let (url, token) = match creds {
        Ok(Some(c)) => c,
        Ok(None) => return Round::Idle,
        Err(e) => {
            tracing::warn!(code = ?e.code(), "sync: could not read the server settings");
            return Round::Failed;
        }
    };
    // One client (and its connection pool) per server and token.
    if cached
        .as_ref()
        .is_none_or(|(u, tk, _)| *u != url || *tk != token)
    {
        match Client::new(&url, Some(token.clone())) {
            Ok(c) => *cached = Some((url, token, c)),
            Err(e) => {
                *cached = None;
                record_failure(app, &e);
                return Round::Failed;
            }
        }
    }
    let Some((_, _, client)) = cached.as_ref() else {
        return Round::Idle;
    };
    let t = Instant::now();
    match sync_once(client, &mut Till(app.clone())).await {
        Ok(SyncReport {
            pushed,
            rejected,
            pulled,
        }) => {
            if pushed + rejected + pulled > 0 {
                tracing::info!(
                    pushed,
                    rejected,
                    pulled,
                    ms = t.elapsed().as_millis() as u64,
                    "sync round"
                );
            }
            Round::Synced
        }
        Err(e) => {
            record_failure(app, &e);
            Round::Failed
        }
    }
}

/// Keeps the failure for the status (its message holds no personal data:
/// the client names only the kind of network failure, store failures are
/// reduced by [`StoreFailure`]) and logs its kind.
fn record_failure(app: &AppHandle, e: &ClientError) {
    tracing::warn!(kind = failure_kind(e), "sync round failed");
    if let Ok(r) = app.state::<AppState>().get() {
        let _ = r.record_sync_error(&e.to_string());
    }
}

fn failure_kind(e: &ClientError) -> &'static str {
    match e {
        ClientError::BadUrl(_) => "bad_url",
        ClientError::Offline(_) => "offline",
        ClientError::Server { .. } => "server",
        ClientError::BadAnswer(_) => "bad_answer",
        ClientError::Replica(_) => "store",
    }
}

fn emit_status(app: &AppHandle) {
    let status = match app.state::<AppState>().get() {
        Ok(r) => r.sync_status(),
        Err(_) => return,
    };
    match status {
        Ok(s) => {
            let _ = app.emit(STATUS_EVENT, s);
        }
        Err(e) => tracing::warn!(code = ?e.code(), "sync: could not read the status"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrolment_failures_say_what_to_do() {
        let base = "http://127.0.0.1:9";
        let cases = [
            (
                ClientError::BadUrl("127.0.0.1:9".into()),
                ErrorCode::InvalidInput,
                "not a valid URL",
            ),
            (
                ClientError::Offline("connection refused or no route".into()),
                ErrorCode::Internal,
                "cannot reach the server at http://127.0.0.1:9",
            ),
            (
                ClientError::Server {
                    status: 403,
                    code: Some(ApiErrorCode::BadEnrollCode),
                    message: "unknown code".into(),
                },
                ErrorCode::InvalidInput,
                "get a new one",
            ),
            (
                ClientError::Server {
                    status: 500,
                    code: Some(ApiErrorCode::Internal),
                    message: "boom".into(),
                },
                ErrorCode::Internal,
                "refused the request (500)",
            ),
            (
                ClientError::BadAnswer("expected value".into()),
                ErrorCode::Internal,
                "is a Regulars server",
            ),
        ];
        for (e, code, says) in cases {
            let a = enroll_error(&e, base);
            assert_eq!(a.code, code, "{e}");
            assert!(a.message.contains(says), "{e}: {}", a.message);
        }
    }

    #[test]
    fn store_failures_keep_data_out_of_the_status() {
        let quoting = StoreFailure(ApiError {
            code: ErrorCode::InvalidInput,
            message: "name: 'Margaret Thornton' is too long".into(),
        });
        let text = quoting.to_string();
        assert!(!text.contains("Margaret"), "{text}");
        assert!(text.contains("invalid_input"), "{text}");
        let full = StoreFailure(ApiError {
            code: ErrorCode::DiskFull,
            message: "the disk is full: free some space".into(),
        });
        assert!(full.to_string().contains("free some space"));
    }

    #[tokio::test]
    async fn enrolling_against_a_closed_port_says_the_server_is_unreachable() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState(Ok(std::sync::Mutex::new(
            Regulars::open(&dir.path().join("till.db")).unwrap(),
        )));
        // A port nobody listens on: bind, note it, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let e = enroll_till(&state, &url, "ABCD-1234", "Till 2")
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Internal);
        assert!(
            e.message.contains("cannot reach the server") && e.message.contains(&url),
            "{}",
            e.message
        );
        let e = enroll_till(&state, &url, " ", "Till 2").await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
        let e = enroll_till(&state, "localhost:1", "ABCD", "Till 2")
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert!(!state.get().unwrap().sync_status().unwrap().enrolled);
    }
}
