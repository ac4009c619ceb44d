//! The HTTP API (axum): routes, request parsing, and the mapping of every
//! failure onto `ApiError {code, message}` with its status. Handlers are
//! thin: parse, then one [`crate::service`] call on a blocking thread.
//! Every response, errors included, carries `server_ms` so tills can
//! correct their clocks.
//!
//! Logging: one line per request with the route, status, time and counts;
//! never a payload, a token, a code or a query string.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Extension, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use regulars_sync::protocol::{
    ApiError, ApiErrorCode, ChangeStatus, EnrollRequest, EnrollResponse, PushRequest, PushResponse,
    ServerInfo, MAX_BODY_BYTES, PROTOCOL_VERSION, SCHEMA_VERSION,
};
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::service;

/// The OpenAPI document, committed as docs/openapi.json and served verbatim.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// Every route the router serves (method, path); tests check that the
/// OpenAPI document describes exactly these.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/info"),
    ("post", "/v1/enroll"),
    ("post", "/v1/push"),
    ("get", "/v1/pull"),
    ("get", "/v1/openapi.json"),
];

/// Longest a pull may wait for news (`?wait=SECONDS`).
pub const MAX_WAIT_SECS: u64 = 30;

/// Ticks after every push that stored something: a waiting pull wakes.
#[derive(Clone)]
struct News(Arc<tokio::sync::watch::Sender<u64>>);

/// The API over `backend`.
pub fn router<B: Backend>(backend: Arc<B>) -> Router {
    let news = News(Arc::new(tokio::sync::watch::channel(0).0));
    Router::new()
        .route("/v1/info", get(info::<B>))
        .route("/v1/enroll", post(enroll::<B>))
        .route("/v1/push", post(push::<B>))
        .route("/v1/pull", get(pull::<B>))
        .route("/v1/openapi.json", get(openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(Extension(news))
        .layer(middleware::from_fn(log_request))
        .with_state(backend)
}

/// An error as the API answers it.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    error: ApiError,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(flatten)]
    error: &'a ApiError,
    server_ms: u64,
}

pub fn status_of(code: ApiErrorCode) -> StatusCode {
    match code {
        ApiErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ApiErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ApiErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ApiErrorCode::Revoked | ApiErrorCode::BadEnrollCode => StatusCode::FORBIDDEN,
        ApiErrorCode::ResyncRequired => StatusCode::GONE,
        ApiErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let code = e.code();
        let message = if e.is_internal() {
            // The details (paths, SQL errors) stay in the server's log.
            tracing::error!(error = %e, "request failed");
            "the server failed to handle this request; retry later, and tell the owner if it keeps happening".into()
        } else {
            e.to_string()
        };
        Failure {
            status: status_of(code),
            error: ApiError { code, message },
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: &self.error,
            server_ms: service::now_ms(),
        };
        (self.status, Json(body)).into_response()
    }
}

type Answer<T> = std::result::Result<Json<T>, Failure>;

/// Runs backend work on the blocking pool (both backends block).
async fn blocking<B: Backend, T: Send + 'static>(
    b: &Arc<B>,
    f: impl FnOnce(&B) -> Result<T> + Send + 'static,
) -> Result<T> {
    let b = Arc::clone(b);
    tokio::task::spawn_blocking(move || f(&b))
        .await
        .map_err(|_| Error::Task)?
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn json_rejection(r: JsonRejection) -> Error {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::TooLarge(format!(
            "the request body is larger than {MAX_BODY_BYTES} bytes: send the queue in smaller batches"
        ))
    } else {
        Error::BadRequest(format!(
            "the request body is not what this route takes ({}); see /v1/openapi.json",
            r.body_text()
        ))
    }
}

async fn info<B: Backend>(State(b): State<Arc<B>>) -> Answer<ServerInfo> {
    let organisation = blocking(&b, |b| b.organisation()).await?;
    Ok(Json(ServerInfo {
        protocol: PROTOCOL_VERSION,
        schema: SCHEMA_VERSION,
        organisation,
        server_ms: service::now_ms(),
    }))
}

async fn enroll<B: Backend>(
    State(b): State<Arc<B>>,
    body: std::result::Result<Json<EnrollRequest>, JsonRejection>,
) -> Answer<EnrollResponse> {
    let Json(req) = body.map_err(json_rejection)?;
    let res = blocking(&b, move |b| service::enroll(b, &req, Utc::now())).await?;
    tracing::info!(device_number = res.device_number, "device enrolled");
    Ok(Json(res))
}

async fn push<B: Backend>(
    State(b): State<Arc<B>>,
    Extension(news): Extension<News>,
    headers: HeaderMap,
    body: std::result::Result<Json<PushRequest>, JsonRejection>,
) -> Answer<PushResponse> {
    let auth = bearer(&headers);
    let (device, res) = blocking(&b, move |b| {
        // The token is checked before the body is looked at, so an
        // unauthenticated caller learns nothing about what it sent.
        let device = service::authenticate(b, auth.as_deref())?;
        let Json(req) = body.map_err(json_rejection)?;
        let res = service::push(b, &device, &req)?;
        Ok((device.number, res))
    })
    .await?;
    let count = |s| res.results.iter().filter(|r| r.status == s).count();
    if count(ChangeStatus::Applied) > 0 {
        news.0.send_modify(|n| *n = n.wrapping_add(1));
    }
    tracing::info!(
        device_number = device,
        applied = count(ChangeStatus::Applied),
        duplicate = count(ChangeStatus::Duplicate),
        rejected = count(ChangeStatus::Rejected),
        "push"
    );
    Ok(Json(res))
}

#[derive(Deserialize)]
struct PullParams {
    #[serde(default)]
    after: i64,
    limit: Option<usize>,
    /// Seconds to wait for news when there is nothing after the cursor
    /// (long poll, at most [`MAX_WAIT_SECS`]): a till hears of another
    /// till's sale as soon as it is pushed.
    #[serde(default)]
    wait: u64,
}

async fn pull<B: Backend>(
    State(b): State<Arc<B>>,
    Extension(news): Extension<News>,
    headers: HeaderMap,
    params: std::result::Result<Query<PullParams>, QueryRejection>,
) -> Answer<service::PullPage> {
    let auth = bearer(&headers);
    let p = match params {
        Ok(Query(p)) => p,
        Err(r) => {
            // The token first, as everywhere: an unknown caller learns
            // nothing about its request.
            let a = auth.clone();
            blocking(&b, move |b| {
                service::authenticate(b, a.as_deref()).map(|_| ())
            })
            .await?;
            return Err(Error::BadRequest(format!(
                "the query is not ?after=CURSOR&limit=N[&wait=SECONDS] ({}); see /v1/openapi.json",
                r.body_text()
            ))
            .into());
        }
    };
    // Subscribed before the first look, so a push landing in between is
    // not missed.
    let mut rx = news.0.subscribe();
    let page = |auth: Option<String>| {
        let b = Arc::clone(&b);
        async move {
            blocking(&b, move |b| {
                let device = service::authenticate(b, auth.as_deref())?;
                service::pull(b, &device, p.after, p.limit)
            })
            .await
        }
    };
    let res = page(auth.clone()).await?;
    if !res.changes.is_empty() || p.wait == 0 {
        return Ok(Json(res));
    }
    let wait = std::time::Duration::from_secs(p.wait.min(MAX_WAIT_SECS));
    let deadline = tokio::time::Instant::now() + wait;
    // Bounded: every turn waits for a tick or the deadline.
    loop {
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => {
                let res = page(auth.clone()).await?;
                if !res.changes.is_empty() {
                    return Ok(Json(res));
                }
            }
            _ => return Ok(Json(page(auth).await?)),
        }
    }
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn not_found() -> Failure {
    Failure {
        status: StatusCode::NOT_FOUND,
        error: ApiError {
            code: ApiErrorCode::BadRequest,
            message: "no such route: the API is described at /v1/openapi.json".into(),
        },
    }
}

async fn method_not_allowed() -> Failure {
    Failure {
        status: StatusCode::METHOD_NOT_ALLOWED,
        error: ApiError {
            code: ApiErrorCode::BadRequest,
            message: "this route does not take that method: see /v1/openapi.json".into(),
        },
    }
}

async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    // The path only: query strings are not logged.
    let path: String = req.uri().path().chars().take(64).collect();
    let res = next.run(req).await;
    tracing::info!(
        %method,
        path,
        status = res.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    res
}
