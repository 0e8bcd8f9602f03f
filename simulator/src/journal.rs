//! What the simulator was asked: the API request log the control endpoints expose, and
//! the one-line-per-request log written to stderr.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;

use crate::calendar::Day;
use crate::faults::Fault;

/// One API request, as `GET /_sim/requests` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct ApiRequest {
    /// The `type` parameter as sent, if any.
    #[serde(rename = "type")]
    pub list: Option<String>,
    /// The `past_days` parameter, if it was sent as an integer.
    pub past_days: Option<i64>,
    /// Whether the bearer token was the accepted one.
    pub authorized: bool,
    /// The status sent; `null` when the connection was reset instead.
    pub status: Option<u16>,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
    /// The number of results in a 200 response (before any `wrong_count`).
    pub count: Option<usize>,
    /// The simulated date the request was answered for.
    pub date: Day,
    /// The raw query string.
    pub query: String,
}

/// A short description a handler attaches to its response for the stderr log.
#[derive(Debug, Clone)]
pub struct Note(pub String);

/// Middleware: writes one line per request to stderr once the response head is ready.
pub async fn log_to_stderr(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();

    let response = next.run(request).await;

    let elapsed = started.elapsed().as_millis();
    let status = response.status().as_u16();
    match response.extensions().get::<Note>() {
        Some(Note(note)) => eprintln!("{method} {target} {status} {elapsed}ms {note}"),
        None => eprintln!("{method} {target} {status} {elapsed}ms"),
    }
    response
}
