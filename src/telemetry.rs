//! Logging set-up: structured tracing events, JSON in Lambda when the function's log format
//! is JSON (or when `PLANTRAK_LOG_FORMAT=json`), readable text on stderr otherwise.
//!
//! Levels: ERROR — data was not delivered or an operator must act; WARN — delivered, but
//! something was retried or looks wrong; INFO — one line per step of a run; DEBUG and TRACE —
//! for developers. The level comes from `RUST_LOG`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`,
//! else INFO for this program and WARN for its libraries.

use tracing_subscriber::EnvFilter;

use crate::config::Mode;

pub fn init(mode: Mode) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| {
            std::env::var("AWS_LAMBDA_LOG_LEVEL")
                .ok()
                .map(|level| level.to_lowercase())
        })
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new("warn,plantrak_sync=info"));

    let json = std::env::var("PLANTRAK_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"))
        || (mode == Mode::Lambda
            && std::env::var("AWS_LAMBDA_LOG_FORMAT")
                .is_ok_and(|v| v.eq_ignore_ascii_case("json")));

    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match (json, mode) {
        (true, _) => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        (false, Mode::Lambda) => builder.with_ansi(false).without_time().try_init(),
        (false, Mode::Local | Mode::Offline) => builder.with_target(false).try_init(),
    };
    // A second initialisation (in tests) keeps the first subscriber.
    drop(result);
}
