//! The running simulator: its shared state, its routes and the HTTP server.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::calendar::Day;
use crate::faults::Faults;
use crate::journal::{self, ApiRequest};
use crate::world::{ClosedFilter, World};
use crate::{api, control};

/// The path of the vendor's events endpoint.
pub const EVENTS_PATH: &str = "/api/v1/analytics/events";

/// What the simulator is started with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Seed of every random choice.
    pub seed: u64,
    /// About how many events are listed on the start date.
    pub events: u32,
    /// The simulated date at start.
    pub start: Day,
    /// What `past_days` filters recently closed events by.
    pub closed_filter: ClosedFilter,
    /// The bearer token accepted at start.
    pub token: String,
    /// Delay before each API response.
    pub latency: Duration,
}

/// State shared by all requests.
#[derive(Debug)]
pub struct Sim {
    /// Every event, on every day.
    pub world: Arc<World>,
    /// The simulated date at start.
    pub start: Day,
    /// Delay before each API response.
    pub latency: Duration,
    clock: Mutex<Day>,
    token: Mutex<String>,
    faults: Mutex<Faults>,
    requests: Mutex<Vec<ApiRequest>>,
}

impl Sim {
    /// A simulator at its start date, with no faults and an empty request log.
    pub fn new(settings: Settings) -> Self {
        let world = World::new(
            settings.seed,
            settings.events,
            settings.start,
            settings.closed_filter,
        );
        Self {
            world: Arc::new(world),
            start: settings.start,
            latency: settings.latency,
            clock: Mutex::new(settings.start),
            token: Mutex::new(settings.token),
            faults: Mutex::default(),
            requests: Mutex::default(),
        }
    }

    /// The current simulated date.
    pub fn today(&self) -> Day {
        *lock(&self.clock)
    }

    /// Moves the simulated clock, forward or back.
    pub fn set_today(&self, day: Day) {
        *lock(&self.clock) = day;
    }

    /// Whether `token` is the one currently accepted.
    pub fn accepts(&self, token: &str) -> bool {
        *lock(&self.token) == token
    }

    /// Replaces the accepted token; the old one is refused from now on.
    pub fn set_token(&self, token: String) {
        *lock(&self.token) = token;
    }

    /// The pending fault rules.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    /// The API request log.
    pub fn requests(&self) -> MutexGuard<'_, Vec<ApiRequest>> {
        lock(&self.requests)
    }
}

/// Locks `mutex`, carrying on past a panic elsewhere (every update is a single store).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every route of the simulator.
pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route(EVENTS_PATH, get(api::events))
        .route("/_sim/date", get(control::get_date).post(control::set_date))
        .route("/_sim/token", axum::routing::post(control::set_token))
        .route("/_sim/truth", get(control::truth))
        .route("/_sim/history", get(control::history))
        .route(
            "/_sim/faults",
            get(control::list_faults)
                .post(control::add_faults)
                .delete(control::clear_faults),
        )
        .route(
            "/_sim/requests",
            get(control::list_requests).delete(control::clear_requests),
        )
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not found.") })
        .layer(middleware::from_fn(journal::log_to_stderr))
        .with_state(sim)
}

/// Serves the simulator on `listener` until the process ends.
pub async fn serve(listener: TcpListener, sim: Arc<Sim>) -> io::Result<()> {
    axum::serve(listener, router(sim)).await
}

/// A compact JSON response.
pub fn json(status: StatusCode, value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A `{"detail": …}` error response, the vendor's error shape.
pub fn detail(status: StatusCode, message: impl Into<String>) -> Response {
    json(status, &serde_json::json!({ "detail": message.into() }))
}
