//! The vendor's API: `GET /api/v1/analytics/events?type=…[&past_days=…]`.
//!
//! Checks come in the order a real service applies them: the bearer token (401), then the
//! parameters (400), then any pending fault, then the list itself. Every request is
//! recorded in the request log, whatever its outcome.

use std::sync::Arc;

use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::body::{self, ListBody, Shape};
use crate::faults::Fault;
use crate::journal::{ApiRequest, Note};
use crate::server::{Sim, detail};
use crate::world::{List, MAX_PAST_DAYS};

/// `past_days` when the request leaves it out.
const DEFAULT_PAST_DAYS: u32 = 3;

/// The body of the `invalid_json` fault: what a proxy's maintenance page looks like.
const MAINTENANCE_PAGE: &str =
    "<html><head><title>Maintenance</title></head><body>Back soon.</body></html>\n";

/// Handles one request for a list.
pub async fn events(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
    RawQuery(query): RawQuery,
) -> Response {
    if !sim.latency.is_zero() {
        tokio::time::sleep(sim.latency).await;
    }
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut entry = ApiRequest {
        list: param("type").map(String::from),
        past_days: param("past_days").and_then(|v| v.parse().ok()),
        authorized: false,
        status: None,
        fault: None,
        count: None,
        date: sim.today(),
        query: query.unwrap_or_default(),
    };

    let mut response = answer(
        &sim,
        &headers,
        param("type"),
        param("past_days"),
        &mut entry,
    )
    .await;

    let fault = entry.fault.as_ref().map(fault_name).unwrap_or("-");
    let count = entry
        .count
        .map(|c| c.to_string())
        .unwrap_or_else(|| "-".into());
    let note = format!("date={} count={count} fault={fault}", entry.date);
    response.extensions_mut().insert(Note(note));
    sim.requests().push(entry);
    response
}

async fn answer(
    sim: &Arc<Sim>,
    headers: &HeaderMap,
    list: Option<&str>,
    past_days: Option<&str>,
    entry: &mut ApiRequest,
) -> Response {
    if let Err(message) = authorise(sim, headers) {
        entry.status = Some(401);
        let mut response = detail(StatusCode::UNAUTHORIZED, message);
        let challenge = HeaderValue::from_static(r#"Bearer realm="api""#);
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
        return response;
    }
    entry.authorized = true;

    let list = match parse_list(list, past_days) {
        Ok(list) => list,
        Err(message) => {
            entry.status = Some(400);
            return detail(StatusCode::BAD_REQUEST, message);
        }
    };

    let fault = sim.faults().take(list);
    entry.fault = fault.clone();
    let mut shape = Shape {
        type_name: Some(list.name()),
        ..Shape::default()
    };
    match fault {
        Some(Fault::Status {
            status,
            retry_after,
        }) => {
            entry.status = Some(status);
            return status_fault(status, retry_after.as_deref());
        }
        Some(Fault::Reset {}) => return body::reset().into_response(),
        Some(Fault::InvalidJson {}) => {
            entry.status = Some(200);
            return (
                [(header::CONTENT_TYPE, "application/json")],
                MAINTENANCE_PAGE,
            )
                .into_response();
        }
        Some(Fault::Stall { ms }) => shape.stall = Some(std::time::Duration::from_millis(ms)),
        Some(Fault::Truncate {}) => shape.truncate = true,
        Some(Fault::WrongCount {}) => shape.extra_count = 1,
        Some(Fault::WrongType {}) => shape.type_name = Some(other_list(list)),
        Some(Fault::MissingType {}) => shape.type_name = None,
        Some(Fault::BadRecord { record }) => shape.bad_record = Some(record),
        None => {}
    }

    // Listing scans every live event: keep it off the threads that serve connections.
    let (world, today) = (Arc::clone(&sim.world), entry.date);
    let items = match tokio::task::spawn_blocking(move || world.list(list, today)).await {
        Ok(items) => items,
        Err(_) => return detail(StatusCode::INTERNAL_SERVER_ERROR, "Listing failed."),
    };
    entry.status = Some(200);
    entry.count = Some(items.len());
    let body = ListBody::new(Arc::clone(&sim.world), list, today, items, shape);
    (
        [(header::CONTENT_TYPE, "application/json")],
        body::streamed(body),
    )
        .into_response()
}

/// Checks the `Authorization: Bearer …` header against the accepted token.
fn authorise(sim: &Sim, headers: &HeaderMap) -> Result<(), &'static str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err("Authentication credentials were not provided.");
    };
    let value = value.to_str().map_err(|_| "Invalid token.")?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && sim.accepts(token) => {
            Ok(())
        }
        _ => Err("Invalid token."),
    }
}

/// The list a request names, with `past_days` checked for `recent_closed` (other lists
/// ignore it).
fn parse_list(list: Option<&str>, past_days: Option<&str>) -> Result<List, String> {
    const EXPECTED: &str = "expected one of open, holding, recent_closed";
    match list {
        Some("open") => Ok(List::Open),
        Some("holding") => Ok(List::Holding),
        Some("recent_closed") => {
            let past_days = match past_days {
                None => DEFAULT_PAST_DAYS,
                Some(raw) => raw
                    .parse::<u32>()
                    .ok()
                    .filter(|days| (1..=MAX_PAST_DAYS).contains(days))
                    .ok_or_else(|| {
                        format!("Invalid past_days `{raw}`: expected an integer from 1 to 180.")
                    })?,
            };
            Ok(List::RecentClosed { past_days })
        }
        Some(other) => Err(format!("Invalid type `{other}`: {EXPECTED}.")),
        None => Err(format!("Missing parameter type: {EXPECTED}.")),
    }
}

/// The response of a `status` fault: JSON for client errors and 500, an HTML gateway page
/// for 502–504, as a proxy in front of the service would send.
fn status_fault(status: u16, retry_after: Option<&str>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = code.canonical_reason().unwrap_or("Error");
    let mut response = match status {
        429 => detail(code, "Request was throttled."),
        502..=504 => {
            let page = format!("<html><body><h1>{status} {reason}</h1></body></html>\n");
            (code, [(header::CONTENT_TYPE, "text/html")], page).into_response()
        }
        _ => detail(code, format!("{reason}.")),
    };
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(v).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The `type` a `wrong_type` fault echoes instead of the requested one.
fn other_list(list: List) -> &'static str {
    match list {
        List::Open => "holding",
        List::Holding => "recent_closed",
        List::RecentClosed { .. } => "open",
    }
}

/// The fault's `kind`, for the stderr log.
fn fault_name(fault: &Fault) -> &'static str {
    match fault {
        Fault::Status { .. } => "status",
        Fault::Reset {} => "reset",
        Fault::Stall { .. } => "stall",
        Fault::Truncate {} => "truncate",
        Fault::InvalidJson {} => "invalid_json",
        Fault::WrongCount {} => "wrong_count",
        Fault::WrongType {} => "wrong_type",
        Fault::MissingType {} => "missing_type",
        Fault::BadRecord { .. } => "bad_record",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_days_defaults_to_three_and_accepts_one_to_180() {
        assert_eq!(
            parse_list(Some("recent_closed"), None),
            Ok(List::RecentClosed { past_days: 3 })
        );
        for days in ["1", "180"] {
            assert!(parse_list(Some("recent_closed"), Some(days)).is_ok());
        }
        for days in ["0", "181", "-1", "3.5", "", "ten"] {
            assert!(
                parse_list(Some("recent_closed"), Some(days)).is_err(),
                "{days}"
            );
        }
    }

    #[test]
    fn past_days_is_ignored_for_open_and_holding() {
        assert_eq!(parse_list(Some("open"), Some("999")), Ok(List::Open));
        assert_eq!(parse_list(Some("holding"), Some("x")), Ok(List::Holding));
    }

    #[test]
    fn unknown_or_missing_type_is_rejected() {
        assert!(parse_list(Some("closed"), None).is_err());
        assert!(parse_list(Some("OPEN"), None).is_err());
        assert!(parse_list(None, None).is_err());
    }
}
