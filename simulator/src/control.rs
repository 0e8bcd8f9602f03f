//! Control endpoints under `/_sim/`: the simulated clock, the accepted token, the truth
//! oracle, fault rules and the request log. They need no token; the simulator listens on
//! loopback only, so only local tests can reach them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::body;
use crate::calendar::{Day, parse_day};
use crate::faults::Rule;
use crate::server::{Sim, detail, json};
use crate::truth::TruthBody;

/// How far from the start date the clock may be set, in days (about ten years).
const CLOCK_RANGE_DAYS: i32 = 3660;
/// The longest history one request may ask for, in days.
const MAX_HISTORY_DAYS: i32 = 400;

/// `GET /_sim/date`.
pub async fn get_date(State(sim): State<Arc<Sim>>) -> Response {
    json(StatusCode::OK, &json!({ "date": sim.today() }))
}

/// `POST /_sim/date` with `{"date":"YYYY-MM-DD"}` or `{"advance_days":N}`.
pub async fn set_date(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SetDate {
        date: Option<String>,
        advance_days: Option<i32>,
    }
    let request: SetDate = match parse_body(&body) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let day = match (request.date, request.advance_days) {
        (Some(date), None) => match parse_day(&date) {
            Ok(day) => day,
            Err(message) => return detail(StatusCode::BAD_REQUEST, message),
        },
        (None, Some(days)) => sim.today().plus(days),
        _ => {
            return detail(
                StatusCode::BAD_REQUEST,
                "give exactly one of `date`, `advance_days`",
            );
        }
    };
    if day.since(sim.start).abs() > CLOCK_RANGE_DAYS {
        let message = format!("`{day}` is more than {CLOCK_RANGE_DAYS} days from the start date");
        return detail(StatusCode::BAD_REQUEST, message);
    }
    sim.set_today(day);
    json(StatusCode::OK, &json!({ "date": day }))
}

/// `POST /_sim/token` with `{"token":"…"}`.
pub async fn set_token(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SetToken {
        token: String,
    }
    match parse_body::<SetToken>(&body) {
        Ok(request) if request.token.is_empty() || request.token.contains(char::is_whitespace) => {
            detail(
                StatusCode::BAD_REQUEST,
                "`token` must be non-empty without whitespace",
            )
        }
        Ok(request) => {
            sim.set_token(request.token);
            json(StatusCode::OK, &json!({ "ok": true }))
        }
        Err(response) => *response,
    }
}

/// `GET /_sim/truth`: every event that exists on the current date.
pub async fn truth(State(sim): State<Arc<Sim>>) -> Response {
    let today = sim.today();
    let body = TruthBody::new(Arc::clone(&sim.world), today, today, false);
    streamed_json(body)
}

/// `GET /_sim/history?from=YYYY-MM-DD&to=YYYY-MM-DD`: the truth on each day of the range.
pub async fn history(
    State(sim): State<Arc<Sim>>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let day_of = |name: &str| -> Result<Day, String> {
        let raw = params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        parse_day(raw.ok_or_else(|| format!("missing parameter `{name}`"))?)
    };
    let (from, to) = match (day_of("from"), day_of("to")) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(message), _) | (_, Err(message)) => return detail(StatusCode::BAD_REQUEST, message),
    };
    if to < from || to.since(from) >= MAX_HISTORY_DAYS {
        let message = format!("`from`..=`to` must be 1 to {MAX_HISTORY_DAYS} days long");
        return detail(StatusCode::BAD_REQUEST, message);
    }
    streamed_json(TruthBody::new(Arc::clone(&sim.world), from, to, true))
}

/// `GET /_sim/faults`: the pending rules with their remaining `times`.
pub async fn list_faults(State(sim): State<Arc<Sim>>) -> Response {
    json(StatusCode::OK, &json!({ "faults": sim.faults().pending() }))
}

/// `POST /_sim/faults` with `{"faults":[rule, …]}`: appends the rules.
pub async fn add_faults(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct AddFaults {
        faults: Vec<Rule>,
    }
    let request: AddFaults = match parse_body(&body) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    if let Some(message) = request.faults.iter().find_map(|rule| rule.validate().err()) {
        return detail(StatusCode::BAD_REQUEST, message);
    }
    let mut faults = sim.faults();
    faults.add(request.faults);
    json(
        StatusCode::OK,
        &json!({ "pending": faults.pending().len() }),
    )
}

/// `DELETE /_sim/faults`: drops every pending rule.
pub async fn clear_faults(State(sim): State<Arc<Sim>>) -> Response {
    sim.faults().clear();
    json(StatusCode::OK, &json!({ "pending": 0 }))
}

/// `GET /_sim/requests`: the API requests received since start or the last clear.
pub async fn list_requests(State(sim): State<Arc<Sim>>) -> Response {
    json(StatusCode::OK, &*sim.requests())
}

/// `DELETE /_sim/requests`: empties the request log.
pub async fn clear_requests(State(sim): State<Arc<Sim>>) -> Response {
    let cleared = std::mem::take(&mut *sim.requests()).len();
    json(StatusCode::OK, &json!({ "cleared": cleared }))
}

/// The JSON request body, or a 400 saying what is wrong with it.
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|err| {
        let message = format!("invalid request body: {err}");
        Box::new(detail(StatusCode::BAD_REQUEST, message))
    })
}

fn streamed_json(body: TruthBody) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        body::streamed(body),
    )
        .into_response()
}
