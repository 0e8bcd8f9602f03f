//! API faults injected by the simulator: each run either recovers by retrying or fails with
//! a stable `error_type` and writes nothing, and the next healthy run leaves the same change
//! log as a history in which the fault never happened.
//!
//! Every test runs one history twice against one simulator: into a reference directory
//! without faults, and into a second directory with the faults, day by day.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// What a faulty run must do.
enum Expect {
    /// Succeed, with at least this many attempts for each named list.
    Recovers(&'static [(&'static str, u64)]),
    /// Fail with this `error_type` and write nothing.
    Fails(&'static str),
}

/// One history run into a reference and a faulty destination.
struct History {
    sim: Simulator,
    reference: tempfile::TempDir,
    faulty: tempfile::TempDir,
    /// The token the reference destination runs with (it never sees an auth fault).
    reference_token: String,
    /// Environment of the faulty destination's runs other than the destination itself.
    faulty_auth: Vec<(String, String)>,
    outputs: Vec<Output>,
}

impl History {
    fn new(events: u32, seed: u64, first_day: &str, extra_args: &[&str]) -> History {
        let seed = seed.to_string();
        let events = events.to_string();
        let mut args = vec![
            "--events",
            &events,
            "--seed",
            &seed,
            "--start-date",
            first_day,
        ];
        args.extend_from_slice(extra_args);
        History {
            sim: Simulator::start_with(&args),
            reference: tempfile::tempdir().unwrap(),
            faulty: tempfile::tempdir().unwrap(),
            reference_token: TOKEN.to_owned(),
            faulty_auth: vec![("PLANTRAK_TOKEN".into(), TOKEN.into())],
            outputs: Vec::new(),
        }
    }

    fn env(&self, destination: &Path, auth: &[(String, String)]) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = FAST_RETRIES
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.push(("PLANTRAK_API_URL".into(), self.sim.api_url()));
        env.push((
            "PLANTRAK_DESTINATION".into(),
            destination.display().to_string(),
        ));
        env.push(("RUST_LOG".into(), "debug".into()));
        env.extend(auth.iter().cloned());
        env
    }

    fn run(&mut self, faulty: bool, date: &str) -> Output {
        let env = if faulty {
            self.env(self.faulty.path(), &self.faulty_auth.clone())
        } else {
            let auth = vec![("PLANTRAK_TOKEN".into(), self.reference_token.clone())];
            self.env(self.reference.path(), &auth)
        };
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let output = run_sync(&["run", "--as-of", date], &env);
        self.outputs.push(output.clone());
        output
    }

    /// A day without faults in both destinations.
    async fn healthy_day(&mut self, date: &str) {
        self.sim.set_date(date).await;
        summary_of(&self.run(false, date));
        summary_of(&self.run(true, date));
    }

    /// A day whose faulty run meets `faults`; a failed run is repeated without faults, as
    /// the scheduler's retry would.
    async fn faulty_day(&mut self, date: &str, faults: Value, expect: Expect) -> Output {
        self.sim.set_date(date).await;
        summary_of(&self.run(false, date));
        self.sim.add_faults(faults).await;
        let before = tree(self.faulty.path());
        let output = self.run(true, date);
        let context = date.to_string();
        match expect {
            Expect::Recovers(attempts) => {
                let summary = summary_of(&output);
                for (list, at_least) in attempts {
                    let made = summary["lists"][list]["attempts"].as_u64().unwrap();
                    assert!(
                        made >= *at_least,
                        "{context}: `{list}` took {made} attempts"
                    );
                }
            }
            Expect::Fails(error_type) => {
                assert_failed_with(&output, error_type, &context);
                assert!(
                    tree(self.faulty.path()) == before,
                    "{context}: a failed pull changed the destination"
                );
                self.clear_faults().await;
                summary_of(&self.run(true, date));
            }
        }
        self.clear_faults().await;
        output
    }

    async fn clear_faults(&self) {
        self.sim
            .control(reqwest::Method::DELETE, "/_sim/faults", None)
            .await;
    }

    /// Both destinations hold the same history, and the token is nowhere.
    fn assert_same(&self) {
        let reference = tree(self.reference.path());
        let faulty = tree(self.faulty.path());
        assert_same_history(&faulty, &reference, "faulty vs fault-free history");
        let outputs: Vec<&Output> = self.outputs.iter().collect();
        assert_token_absent(TOKEN, &outputs, &faulty);
    }
}

fn status(list: &str, status: u16, retry_after: Option<&str>, times: u32) -> Value {
    let mut fault = json!({"kind": "status", "status": status});
    if let Some(value) = retry_after {
        fault["retry_after"] = value.into();
    }
    json!({"list": list, "times": times, "fault": fault})
}

fn fault(list: &str, fault: Value) -> Value {
    json!({"list": list, "fault": fault})
}

#[tokio::test]
async fn throttling_honours_retry_after_in_seconds_dates_and_zero() {
    let mut history = History::new(150, 31, "2026-11-02", &[]);
    history.healthy_day("2026-11-02").await;

    let soon = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3))
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let started = Instant::now();
    history
        .faulty_day(
            "2026-11-03",
            json!([
                status("open", 429, Some("1"), 2),
                status("holding", 429, Some(&soon), 1),
                status("recent_closed", 429, Some("0"), 3),
            ]),
            Expect::Recovers(&[("open", 3), ("holding", 2), ("recent_closed", 4)]),
        )
        .await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "`Retry-After: 1` was waited for, twice"
    );

    // A wait longer than the client accepts ends the run at once.
    history
        .faulty_day(
            "2026-11-04",
            json!([status("holding", 429, Some("600"), 1)]),
            Expect::Fails("ApiThrottled"),
        )
        .await;
    history.healthy_day("2026-11-05").await;
    history.assert_same();
}

#[tokio::test]
async fn server_error_bursts_are_retried_until_attempts_run_out() {
    let mut history = History::new(150, 32, "2026-11-02", &[]);
    history.healthy_day("2026-11-02").await;
    history
        .faulty_day(
            "2026-11-03",
            json!([
                status("open", 500, None, 1),
                status("open", 502, None, 1),
                status("open", 503, None, 1),
                status("open", 504, None, 1),
                status("recent_closed", 503, Some("0"), 2),
            ]),
            Expect::Recovers(&[("open", 5), ("recent_closed", 3)]),
        )
        .await;
    history
        .faulty_day(
            "2026-11-04",
            json!([status("holding", 503, None, 5)]),
            Expect::Fails("ApiUnavailable"),
        )
        .await;
    history.healthy_day("2026-11-05").await;
    history.assert_same();
}

#[tokio::test]
async fn connection_resets_and_stalls_past_the_read_timeout_are_retried() {
    let mut history = History::new(150, 33, "2026-11-02", &[]);
    history.healthy_day("2026-11-02").await;
    history
        .faulty_day(
            "2026-11-03",
            json!([
                {"list": "open", "times": 2, "fault": {"kind": "reset"}},
                fault("holding", json!({"kind": "stall", "ms": 2500})),
            ]),
            Expect::Recovers(&[("open", 3), ("holding", 2)]),
        )
        .await;
    history
        .faulty_day(
            "2026-11-04",
            json!([{"list": "recent_closed", "times": 5, "fault": {"kind": "reset"}}]),
            Expect::Fails("ApiUnavailable"),
        )
        .await;
    history
        .faulty_day(
            "2026-11-05",
            json!([{"list": "open", "times": 5, "fault": {"kind": "stall", "ms": 1800}}]),
            Expect::Fails("ApiUnavailable"),
        )
        .await;
    history.healthy_day("2026-11-06").await;
    history.assert_same();
}

#[tokio::test]
async fn a_truncated_body_is_retried() {
    let mut history = History::new(150, 34, "2026-11-02", &[]);
    history.healthy_day("2026-11-02").await;
    history
        .faulty_day(
            "2026-11-03",
            json!([{"list": "any", "times": 2, "fault": {"kind": "truncate"}}]),
            Expect::Recovers(&[("open", 3)]),
        )
        .await;
    history.healthy_day("2026-11-04").await;
    history.assert_same();
}

#[tokio::test]
async fn responses_that_fail_their_checks_fail_the_run_and_write_nothing() {
    let mut history = History::new(150, 35, "2026-11-02", &[]);
    history.healthy_day("2026-11-02").await;
    let days = ["2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06"];
    let faults = [
        fault("holding", json!({"kind": "invalid_json"})),
        fault("recent_closed", json!({"kind": "wrong_count"})),
        fault("open", json!({"kind": "wrong_type"})),
        fault("holding", json!({"kind": "missing_type"})),
    ];
    for (day, rule) in days.into_iter().zip(faults) {
        let output = history
            .faulty_day(day, json!([rule]), Expect::Fails("InvalidResponse"))
            .await;
        assert!(
            text(&output.stderr).contains("response was not accepted"),
            "{day}: {}",
            text(&output.stderr)
        );
    }
    history.healthy_day("2026-11-07").await;
    history.assert_same();
}

#[tokio::test]
async fn forbidden_fails_at_once_without_retrying() {
    let mut history = History::new(150, 36, "2026-11-02", &[]);
    history.healthy_day("2026-11-02").await;
    history.sim.set_date("2026-11-03").await;
    let before = history.sim.requests().await.len();
    history
        .faulty_day(
            "2026-11-03",
            json!([status("holding", 403, None, 3)]),
            Expect::Fails("ApiForbidden"),
        )
        .await;
    let forbidden = history.sim.requests().await[before..]
        .iter()
        .filter(|r| r["status"] == 403)
        .count();
    assert_eq!(forbidden, 1, "a 403 is not retried");
    history.healthy_day("2026-11-04").await;
    history.assert_same();
}

#[tokio::test]
async fn a_regenerated_token_fails_until_the_secret_holds_it_then_recovers() {
    let moto = Moto::connect().await;
    let mut history = History::new(150, 37, "2026-11-02", &["--latency-ms", "300"]);
    let secret = moto.secret("rotation", TOKEN).await;
    let aws = aws_env(&moto.endpoint);
    history.faulty_auth = aws
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .chain([("PLANTRAK_SECRET_ID".to_string(), secret.clone())])
        .collect();
    history.healthy_day("2026-11-02").await;

    // The administrator regenerates the token but the secret still holds the old one.
    let day = "2026-11-03";
    history.sim.set_date(day).await;
    summary_of(&history.run(false, day));
    let second = "plantrak-regenerated-token-7c1d";
    history.sim.set_token(second).await;
    history.reference_token = second.to_owned();
    let before = tree(history.faulty.path());
    let refused = history.run(true, day);
    assert_failed_with(&refused, "ApiUnauthorized", day);
    assert!(
        tree(history.faulty.path()) == before,
        "a 401 writes nothing"
    );
    moto.put_secret(&secret, second).await;
    summary_of(&history.run(true, day));

    // Regenerated again while a run is under way: the run reads the secret again on the
    // 401 and finishes.
    let day = "2026-11-04";
    history.sim.set_date(day).await;
    summary_of(&history.run(false, day));
    let seen = history.sim.requests().await.len();
    let env = history.env(history.faulty.path(), &history.faulty_auth);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let child = sync_command(&env)
        .args(["run", "--as-of", day])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let third = "plantrak-regenerated-token-9e4a";
    for _ in 0..300 {
        if history.sim.requests().await.len() > seen {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    history.sim.set_token(third).await;
    moto.put_secret(&secret, third).await;
    history.reference_token = third.to_owned();
    let output = child.wait_with_output().unwrap();
    history.outputs.push(output.clone());
    summary_of(&output);
    let statuses: Vec<Value> = history.sim.requests().await[seen..]
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert!(statuses.contains(&Value::from(401)), "{statuses:?}");

    history.healthy_day("2026-11-05").await;
    history.assert_same();
    for output in &history.outputs {
        for token in [second, third] {
            assert_secret_absent(token, "a run's output", &output.stdout);
            assert_secret_absent(token, "a run's output", &output.stderr);
        }
    }
}

/// A corrupted result is set aside with its reason; the run goes on without it.
#[tokio::test]
async fn bad_records_are_set_aside_and_never_reach_the_ledger_or_snapshots() {
    let cases = [
        ("open", "missing_event_id", "event_id"),
        ("holding", "string_event_id", "event_id"),
        ("recent_closed", "bad_date", "due_date"),
    ];
    for (number, (list, record, reason)) in cases.into_iter().enumerate() {
        let day = "2026-11-10";
        let sim = Simulator::start(300, 40 + number as u64, "2026-11-03");
        sim.set_date(day).await;
        let query = match list {
            "recent_closed" => "type=recent_closed&past_days=30".to_owned(),
            other => format!("type={other}"),
        };
        let body: Value = serde_json::from_slice(&sim.fetch(&query).await).unwrap();
        let results = body["results"].as_array().unwrap();
        assert!(
            results.len() > 2,
            "{list}: the simulated list is too short for the test"
        );
        let middle = results[results.len() / 2]["event_id"].as_i64().unwrap();
        sim.add_faults(json!([{"list": list, "fault": {"kind": "bad_record", "record": record}}]))
            .await;

        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().display().to_string();
        let api = sim.api_url();
        let output = run_sync(
            &["run", "--as-of", day, "--past-days", "30"],
            &[
                ("PLANTRAK_API_URL", &api),
                ("PLANTRAK_TOKEN", TOKEN),
                ("PLANTRAK_DESTINATION", &dest),
            ],
        );
        let summary = summary_of(&output);
        let files = tree(dir.path());
        let context = format!("{list}/{record}");

        let rejects: Vec<&String> = files
            .keys()
            .filter(|k| k.starts_with(&format!("rejects/reject_date={day}/rejects.jsonl")))
            .collect();
        assert_eq!(rejects.len(), 1, "{context}: {:?}", files.keys());
        let lines = text(&gunzip(&files[rejects[0]]));
        assert_eq!(lines.lines().count(), 1, "{context}: {lines}");
        assert!(
            lines.contains(reason),
            "{context}: the reason names `{reason}`: {lines}"
        );

        let manifest: Value =
            serde_json::from_slice(&files[&format!("runs/run_date={day}/manifest.json")]).unwrap();
        assert_eq!(manifest["rejects_total"], 1, "{context}");
        assert_eq!(count_of(&summary["rejects"]), 1, "{context}: {summary}");

        // Only a record whose id survived can be looked for by id.
        if record != "missing_event_id" {
            let ledger = text(&gunzip(
                &files[&format!("state/state_date={day}/ledger.jsonl.gz")],
            ));
            for line in ledger.lines() {
                let row: Value = serde_json::from_str(line).unwrap();
                assert_ne!(
                    row["event_id"], middle,
                    "{context}: rejected event in the ledger"
                );
            }
            let snapshot =
                format!("snapshots/event_type={list}/snapshot_date={day}/events.jsonl.gz");
            for row in common::lines(&gunzip(&files[&snapshot])) {
                assert_ne!(
                    row["event_id"], middle,
                    "{context}: rejected event in a snapshot"
                );
            }
        }
        let snapshot = format!("snapshots/event_type={list}/snapshot_date={day}/events.jsonl.gz");
        assert_eq!(
            common::lines(&gunzip(&files[&snapshot])).len() + 1,
            results.len(),
            "{context}: every other result is kept"
        );
        assert_token_absent(TOKEN, &[&output], &files);
    }
}

/// A count that is a number or an object of numbers, summed.
fn count_of(value: &Value) -> u64 {
    match value {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::Object(map) => map.values().map(count_of).sum(),
        _ => 0,
    }
}
