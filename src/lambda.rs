//! The Lambda entry: read the invocation payload, do one run, return its summary.
//!
//! Any payload is accepted. An EventBridge rule's "Scheduled Event" (`detail` an object) and
//! an EventBridge Scheduler event (`detail` the string `"{}"`) both carry `time`, the
//! scheduled time, whose calendar date in `PLANTRAK_TIMEZONE` becomes the run's date, so an
//! invocation retried after midnight still writes the day it was meant for. A `time` more
//! than two days old (such as the `1970-01-01` of sample events) is ignored and the run is
//! for today, since EventBridge and Lambda stop retrying long before. A manual payload
//! may set `as_of` (`YYYY-MM-DD`) and `past_days` (1 to 180); anything else in it is ignored.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

use crate::config::{ConfigError, MAX_PAST_DAYS, parse_as_of, parse_past_days};
use crate::metrics;
use crate::sync::{RunRequest, Summary, SyncError, Syncer};

/// Serves invocations until the runtime shuts the process down.
pub async fn serve(syncer: Arc<Syncer>) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let syncer = Arc::clone(&syncer);
        async move { handle(&syncer, event).await }
    }))
    .await
}

async fn handle(syncer: &Syncer, event: LambdaEvent<Value>) -> Result<Summary, HandlerError> {
    let deadline = instant_of(event.context.deadline());
    let remaining_ms = deadline
        .map(|end| end.saturating_duration_since(Instant::now()).as_millis())
        .map(|left| u64::try_from(left).unwrap_or(u64::MAX));
    tracing::info!(request_id = %event.context.request_id, remaining_ms, "invoked");

    let result = match read_payload(&event.payload, &syncer.config.timezone) {
        Ok(request) => {
            syncer
                .run(RunRequest {
                    deadline,
                    ..request
                })
                .await
        }
        Err(err) => Err(SyncError::Config(err)),
    };

    // The metric line goes to stdout, where CloudWatch Logs reads embedded metrics.
    let now_ms = Timestamp::now().as_millisecond();
    match &result {
        Ok(summary) => println!("{}", metrics::success_line(summary, now_ms)),
        Err(err) => {
            tracing::error!(error_type = err.error_type(), cause = %err, "run failed");
            println!("{}", metrics::failure_line(err, now_ms));
        }
    }
    Ok(result?)
}

/// A failed invocation, as Lambda reports it.
#[derive(Debug)]
pub struct HandlerError(SyncError);

impl From<SyncError> for HandlerError {
    fn from(err: SyncError) -> Self {
        HandlerError(err)
    }
}

impl From<ConfigError> for HandlerError {
    fn from(err: ConfigError) -> Self {
        HandlerError(SyncError::Config(err))
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(HandlerError(err): HandlerError) -> Self {
        Diagnostic {
            error_type: err.error_type().to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// Reads the run's date and window from an invocation payload.
pub fn read_payload(payload: &Value, timezone: &TimeZone) -> Result<RunRequest, ConfigError> {
    read_payload_at(payload, timezone, Timestamp::now())
}

fn read_payload_at(
    payload: &Value,
    timezone: &TimeZone,
    now: Timestamp,
) -> Result<RunRequest, ConfigError> {
    let mut problems = Vec::new();
    let mut request = RunRequest::default();

    match payload.get("as_of") {
        None | Some(Value::Null) => request.as_of = scheduled_date(payload, timezone, now),
        Some(Value::String(text)) => match parse_as_of("as_of", text) {
            Ok(date) => request.as_of = Some(date),
            Err(err) => problems.extend(err.problems),
        },
        Some(other) => problems.push(format!("`as_of` is `{other}`: expected \"YYYY-MM-DD\"")),
    }

    match payload.get("past_days") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) => match parse_past_days("past_days", &n.to_string()) {
            Ok(days) => request.past_days = Some(days),
            Err(problem) => problems.push(problem),
        },
        Some(other) => problems.push(format!(
            "`past_days` is `{other}`: expected a whole number of days from 1 to {MAX_PAST_DAYS}"
        )),
    }

    if problems.is_empty() {
        Ok(request)
    } else {
        Err(ConfigError { problems })
    }
}

/// The date of an EventBridge event's `time`, in the customer's time zone.
fn scheduled_date(payload: &Value, timezone: &TimeZone, now: Timestamp) -> Option<Date> {
    let source = payload.get("source").and_then(Value::as_str)?;
    if !matches!(source, "aws.events" | "aws.scheduler") {
        return None;
    }
    let time: Timestamp = payload.get("time")?.as_str()?.parse().ok()?;
    let age = now.duration_since(time);
    if age > jiff::SignedDuration::from_hours(48) || age < -jiff::SignedDuration::from_hours(1) {
        tracing::warn!(%time, "ignoring the event's time, which is not recent; running for today");
        return None;
    }
    Some(time.to_zoned_datetime(timezone.clone()).date())
}

/// The invocation's deadline as an `Instant`. Lambda sends it as wall-clock milliseconds; a
/// deadline already past when the invocation starts (some local runtime emulators send a
/// relative value) is treated as unknown, and the run is then bounded only by its retries.
fn instant_of(deadline: SystemTime) -> Option<Instant> {
    match deadline.duration_since(SystemTime::now()) {
        Ok(left) if left > Duration::ZERO => Some(Instant::now() + left),
        _ => {
            tracing::warn!("the invocation's deadline is already past; ignoring it");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use serde_json::json;

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    fn recent(hours_ago: i64) -> String {
        (Timestamp::now() - jiff::SignedDuration::from_hours(hours_ago)).to_string()
    }

    #[test]
    fn scheduled_rule_event_runs_for_the_date_of_its_time() {
        let mut event: Value =
            serde_json::from_str(include_str!("../events/scheduled-event.json")).unwrap();
        event["time"] = json!(recent(30));
        let request = read_payload(&event, &utc()).unwrap();
        let expected: Timestamp = event["time"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            request.as_of,
            Some(expected.to_zoned_datetime(utc()).date())
        );
        assert_eq!(request.past_days, None);
    }

    #[test]
    fn sample_events_with_an_old_time_run_for_today() {
        for text in [
            include_str!("../events/scheduled-event.json"),
            include_str!("../events/scheduler-event.json"),
        ] {
            let event: Value = serde_json::from_str(text).unwrap();
            assert_eq!(read_payload(&event, &utc()).unwrap().as_of, None);
        }
    }

    #[test]
    fn scheduler_event_with_string_detail_is_accepted() {
        let event = json!({
            "version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.scheduler",
            "account": "123456789012", "time": "2026-12-03T04:30:00Z", "region": "us-east-1",
            "resources": [], "detail": "{}"
        });
        let new_york = TimeZone::get("America/New_York").unwrap();
        let now: Timestamp = "2026-12-03T05:00:00Z".parse().unwrap();
        let request = read_payload_at(&event, &new_york, now).unwrap();
        assert_eq!(
            request.as_of,
            Some(date(2026, 12, 2)),
            "04:30 UTC is still Dec 2 in New York"
        );
    }

    #[test]
    fn manual_payload_sets_date_and_window() {
        let request =
            read_payload(&json!({"as_of": "2026-11-30", "past_days": 180}), &utc()).unwrap();
        assert_eq!(request.as_of, Some(date(2026, 11, 30)));
        assert_eq!(request.past_days, Some(180));
        let request = read_payload(&json!({}), &utc()).unwrap();
        assert_eq!((request.as_of, request.past_days), (None, None));
        assert!(read_payload(&json!("anything"), &utc()).is_ok());
    }

    #[test]
    fn bad_manual_values_are_named_in_the_error() {
        let err =
            read_payload(&json!({"as_of": "30/11/2026", "past_days": 0}), &utc()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("`as_of` is `30/11/2026`"), "{message}");
        assert!(message.contains("`past_days` is `0`"), "{message}");
        let err = read_payload(&json!({"past_days": "7"}), &utc()).unwrap_err();
        assert!(err.to_string().contains("`past_days` is `\"7\"`"));
    }
}
