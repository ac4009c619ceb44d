//! The server's use cases over any [`Backend`]: what the CLI and the HTTP
//! layer call. This is where codes and tokens are made and hashed, input
//! from the wire is checked, and the clock is read; the backend only ever
//! sees hashes. Each function is synchronous (call it from
//! `spawn_blocking` on a runtime).

use chrono::{DateTime, Duration, Utc};
use regulars_sync::protocol::{
    ChangeResult, EnrollRequest, EnrollResponse, PushRequest, PushResponse, MAX_BATCH, MAX_PAGE,
};
use serde::Serialize;

use crate::backend::{Backend, Device, StoredChange};
use crate::error::{Error, Result};
use crate::secrets;

/// Wall time in ms since the epoch, as the API reports it.
pub fn now_ms() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0)
}

/// Makes a one-time enrolment code for a till of `store_name`, valid for
/// `ttl`, and returns it (shown once; only its hash is stored).
pub fn create_enroll_code<B: Backend + ?Sized>(
    b: &B,
    store_name: &str,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<String> {
    let store_name = store_name.trim();
    if store_name.is_empty()
        || store_name.chars().count() > 100
        || store_name.chars().any(char::is_control)
    {
        return Err(Error::BadStoreName);
    }
    if ttl <= Duration::zero() {
        return Err(Error::BadRequest(
            "the code's lifetime must be positive: give --ttl-hours 1 or more".into(),
        ));
    }
    let code = secrets::new_enroll_code()?;
    let normal = secrets::normalise_code(&code)
        .ok_or_else(|| Error::corrupt("a fresh code did not normalise"))?;
    b.add_enroll_code(&secrets::code_hash(&normal), store_name, now, now + ttl)?;
    Ok(code)
}

/// Trades a one-time code for a device token.
pub fn enroll<B: Backend + ?Sized>(
    b: &B,
    req: &EnrollRequest,
    now: DateTime<Utc>,
) -> Result<EnrollResponse> {
    let name = req.device_name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::BadRequest(
            "device_name must be 1 to 100 characters without control characters, e.g. \"Till 2\""
                .into(),
        ));
    }
    if req.device_id.is_nil() {
        return Err(Error::BadRequest(
            "device_id must be the till's own device id, not the nil UUID".into(),
        ));
    }
    let normal = secrets::normalise_code(&req.code).ok_or(Error::BadEnrollCode)?;
    let token = secrets::new_token()?;
    let enrolled = b.enroll(
        &secrets::code_hash(&normal),
        req.device_id,
        name,
        &secrets::token_hash(&token),
        now,
    )?;
    Ok(EnrollResponse {
        device_id: enrolled.device.id,
        token,
        organisation: enrolled.organisation,
        store_name: enrolled.device.store_name,
        device_number: enrolled.device.number,
        server_ms: now_ms(),
    })
}

/// The device behind an `Authorization` header value (`Bearer TOKEN`).
pub fn authenticate<B: Backend + ?Sized>(b: &B, authorization: Option<&str>) -> Result<Device> {
    let token = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or(Error::Unauthorized)?;
    b.authenticate(&secrets::token_hash(token))
}

/// One push from an authenticated device.
pub fn push<B: Backend + ?Sized>(
    b: &B,
    device: &Device,
    req: &PushRequest,
) -> Result<PushResponse> {
    if req.changes.len() > MAX_BATCH {
        return Err(Error::TooLarge(format!(
            "a push carries at most {MAX_BATCH} changes and this one has {}: send the queue in smaller batches",
            req.changes.len()
        )));
    }
    let results: Vec<ChangeResult> = if req.changes.is_empty() {
        Vec::new()
    } else {
        b.push(device.id, &req.changes, Utc::now())?
    };
    Ok(PushResponse {
        results,
        server_ms: now_ms(),
    })
}

/// A pull answer: serialises exactly as the protocol's `PullResponse`, with
/// payloads passed through as stored.
#[derive(Debug, Serialize)]
pub struct PullPage {
    pub changes: Vec<StoredChange>,
    pub next_cursor: i64,
    pub more: bool,
    pub server_ms: u64,
}

/// One page for an authenticated device. `limit` is capped at `MAX_PAGE`.
pub fn pull<B: Backend + ?Sized>(
    b: &B,
    device: &Device,
    after: i64,
    limit: Option<usize>,
) -> Result<PullPage> {
    if after < 0 {
        return Err(Error::BadRequest(
            "after must be 0 (a new till) or a cursor from an earlier pull".into(),
        ));
    }
    let limit = limit.unwrap_or(1000).clamp(1, MAX_PAGE);
    let page = b.pull(device.id, after, limit)?;
    let next_cursor = page.changes.last().map_or(after, |c| c.cursor);
    Ok(PullPage {
        changes: page.changes,
        next_cursor,
        more: page.more,
        server_ms: now_ms(),
    })
}
