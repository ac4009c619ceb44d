//! The wire types of the sync API (JSON over HTTP), as both sides see them.
//! The routes and status codes are described in `docs/openapi.json`, which the
//! server serves at `/v1/openapi.json`.
//!
//! - `POST /v1/enroll` ([`EnrollRequest`] -> [`EnrollResponse`]): a till trades
//!   a one-time code for its device id and bearer token.
//! - `POST /v1/push` ([`PushRequest`] -> [`PushResponse`]): a batch of the
//!   till's outbox; one [`ChangeResult`] per change, in order, so a replayed
//!   batch is answered "duplicate" and one bad change never blocks the rest.
//! - `GET /v1/pull?after=CURSOR&limit=N` (-> [`PullResponse`]): other
//!   devices' changes in the server's commit order. A till commits a page and
//!   its new cursor together. `after=0` is the bootstrap of a new till.
//! - Errors: an HTTP status with [`ApiError`] `{code, message}`.
//!
//! Requests and responses carry times in ms since the epoch so tills can
//! correct their clocks ([`crate::hlc::Clock::learn`]).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::hlc::{Hlc, Stamp};

/// Bumped only for incompatible changes to the routes or envelopes.
pub const PROTOCOL_VERSION: u32 = 1;
/// The newest change-payload schema this build understands. A change with a
/// newer schema is rejected by an older server with a reason to upgrade.
pub const SCHEMA_VERSION: u32 = 1;
/// Most changes in one push.
pub const MAX_BATCH: usize = 1_000;
/// Most changes in one pull page.
pub const MAX_PAGE: usize = 5_000;
/// Largest payload of one change once serialised (a sale of a few hundred
/// lines, or a long note, fits many times over).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
/// Largest request body the server reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// One change made on one device: the unit of sync. `id` is globally unique
/// (UUIDv7) so a replay is recognised; `hlc` + `device` order it among all
/// changes anywhere; `entity`/`op` say what kind of change it is (see
/// [`crate::rules::Kind`]) and `payload` carries the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub id: Uuid,
    pub device: Uuid,
    pub hlc: Hlc,
    pub schema: u32,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    pub payload: serde_json::Value,
}

impl Change {
    pub fn stamp(&self) -> Stamp {
        Stamp::new(self.hlc, self.device)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub changes: Vec<Change>,
    /// The till's corrected wall time when it sent the batch.
    pub sent_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    /// Stored now, for the first time.
    Applied,
    /// Already stored by an earlier push: nothing changed.
    Duplicate,
    /// Refused, with a reason; the till keeps it aside for the owner and
    /// goes on with the rest of its queue.
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeResult {
    pub id: Uuid,
    pub status: ChangeStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    pub results: Vec<ChangeResult>,
    pub server_ms: u64,
}

/// One change as the server hands it out, with its place in commit order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PulledChange {
    pub cursor: i64,
    pub change: Change,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    pub changes: Vec<PulledChange>,
    /// The cursor to ask after next time (the last change's, or the one
    /// asked for when the page is empty).
    pub next_cursor: i64,
    /// More changes are waiting: ask again at once.
    pub more: bool,
    pub server_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The one-time code printed by `regulars-server enroll`.
    pub code: String,
    /// What the owner calls this till ("Till 2, front counter").
    pub device_name: String,
    /// The till's own device id (its store's), kept so changes it made
    /// before enrolling keep their author.
    pub device_id: Uuid,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device_id: Uuid,
    /// The bearer token for every later request. Shown once; the server
    /// keeps only its hash.
    pub token: String,
    pub organisation: String,
    pub store_name: String,
    /// A number unique to this device within the organisation: the till
    /// issues loyalty cards from its own range, so cards never collide.
    pub device_number: u32,
    pub server_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub protocol: u32,
    pub schema: u32,
    pub organisation: String,
    pub server_ms: u64,
}

/// The closed set of error codes the API answers with (the HTTP status
/// says the class; the code says exactly what, for the till to act on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorCode {
    /// The request is malformed (400).
    BadRequest,
    /// The body is larger than [`MAX_BODY_BYTES`] or the batch than [`MAX_BATCH`] (413).
    TooLarge,
    /// No token, or one the server does not know (401).
    Unauthorized,
    /// The device was revoked by the owner (403).
    Revoked,
    /// The enrolment code is unknown, used or expired (403).
    BadEnrollCode,
    /// The till's cursor is older than the server keeps: bootstrap again (410).
    ResyncRequired,
    /// Something failed on the server; retry later (500).
    Internal,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ApiErrorCode,
    pub message: String,
}
