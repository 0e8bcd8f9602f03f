//! The local command against the simulator, writing to a local directory: the documented
//! layout, the line format, reruns, configuration errors and token hygiene.

mod common;

use common::*;
use serde_json::Value;

const DAY: &str = "2026-11-20";

fn local_env<'a>(sim: &'a Simulator, dest: &'a str, api: &'a str) -> Vec<(&'a str, &'a str)> {
    let _ = sim;
    vec![
        ("PLANTRAK_API_URL", api),
        ("PLANTRAK_TOKEN", TOKEN),
        ("PLANTRAK_DESTINATION", dest),
    ]
}

#[tokio::test]
async fn three_pulls_land_at_the_documented_keys_with_raw_bytes_kept() {
    let sim = Simulator::start(400, 7, DAY);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("lake").display().to_string();
    let api = sim.api_url();

    let summary = summary_of(&run_sync(
        &["run", "--as-of", DAY],
        &local_env(&sim, &dest, &api),
    ));

    let files = tree(&dir.path().join("lake"));
    let expected: Vec<String> = ["open", "holding", "recent_closed"]
        .iter()
        .flat_map(|list| {
            [
                format!("raw/event_type={list}/snapshot_date={DAY}/response.json.gz"),
                format!("snapshots/event_type={list}/snapshot_date={DAY}/events.jsonl.gz"),
            ]
        })
        .chain([
            format!("changes/change_date={DAY}/changes.jsonl.gz"),
            format!("state/state_date={DAY}/ledger.jsonl.gz"),
            format!("runs/run_date={DAY}/manifest.json"),
        ])
        .collect();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(files.keys().cloned().collect::<Vec<_>>(), expected_sorted);
    assert_eq!(summary["as_of"], DAY);
    assert_eq!(summary["objects_written"].as_array().unwrap().len(), 9);

    let requests = sim.requests().await;
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[2]["past_days"], 3);

    for (list, query) in [
        ("open", "type=open"),
        ("holding", "type=holding"),
        ("recent_closed", "type=recent_closed&past_days=3"),
    ] {
        let raw =
            gunzip(&files[&format!("raw/event_type={list}/snapshot_date={DAY}/response.json.gz")]);
        assert_eq!(
            raw,
            sim.fetch(query).await,
            "raw `{list}` is the API's bytes, unchanged"
        );
        let response: Value = serde_json::from_slice(&raw).unwrap();
        let snapshot = lines(&gunzip(
            &files[&format!("snapshots/event_type={list}/snapshot_date={DAY}/events.jsonl.gz")],
        ));
        let api_ids: Vec<i64> = response["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["event_id"].as_i64().unwrap())
            .collect();
        let line_ids: Vec<i64> = snapshot
            .iter()
            .map(|l| l["event_id"].as_i64().unwrap())
            .collect();
        assert_eq!(
            line_ids, api_ids,
            "one line per event of `{list}`, in the API's order"
        );
        assert_eq!(summary["lists"][list]["events"], api_ids.len());
    }
}

#[tokio::test]
async fn snapshot_lines_keep_every_field_flat_for_athena() {
    let sim = Simulator::start(600, 11, DAY);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().display().to_string();
    let api = sim.api_url();
    summary_of(&run_sync(
        &["run", "--as-of", DAY, "--compression", "none"],
        &local_env(&sim, &dest, &api),
    ));

    let holding_raw: Value = serde_json::from_slice(&sim.fetch("type=holding").await).unwrap();
    let path = dir.path().join(format!(
        "snapshots/event_type=holding/snapshot_date={DAY}/events.jsonl"
    ));
    let snapshot = lines(&std::fs::read(path).unwrap());
    assert!(!snapshot.is_empty());
    for (line, result) in snapshot
        .iter()
        .zip(holding_raw["results"].as_array().unwrap())
    {
        assert_eq!(line["status"], "holding");
        assert!(
            line.values().all(|v| !v.is_array() && !v.is_object()),
            "no nested values"
        );
        let snapshot_at = line["snapshot_at"].as_str().unwrap();
        assert_eq!(
            snapshot_at.len(),
            "2026-12-03 06:00:00.000".len(),
            "{snapshot_at}"
        );
        let result = result.as_object().unwrap();
        for (name, value) in result {
            if name == "comments" {
                let decoded: Value =
                    serde_json::from_str(line["comments"].as_str().unwrap()).unwrap();
                assert_eq!(&decoded, value);
            } else if line.contains_key(name) {
                assert_eq!(
                    &line[name], value,
                    "documented field `{name}` keeps the API's value"
                );
            } else {
                let extra: Value = serde_json::from_str(line["extra"].as_str().unwrap()).unwrap();
                assert_eq!(
                    &extra[name], value,
                    "undocumented `{name}` is kept in `extra`"
                );
            }
        }
    }
}

#[tokio::test]
async fn rerun_for_same_date_overwrites_without_duplicates() {
    let sim = Simulator::start(300, 3, DAY);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().display().to_string();
    let api = sim.api_url();
    let env = local_env(&sim, &dest, &api);

    summary_of(&run_sync(&["run", "--as-of", DAY], &env));
    let first = tree(dir.path());
    summary_of(&run_sync(&["run", "--as-of", DAY], &env));
    let second = tree(dir.path());
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    for (key, bytes) in &first {
        if key.starts_with("raw/") {
            assert_eq!(bytes, &second[key], "{key}");
        }
    }

    // Switching the encoding for the same date leaves only the new files.
    let summary = summary_of(&run_sync(
        &["run", "--as-of", DAY, "--compression", "none"],
        &env,
    ));
    let third = tree(dir.path());
    assert_eq!(third.len(), 9);
    assert!(
        third.keys().all(|key| !key.ends_with(".gz")),
        "{:?}",
        third.keys()
    );
    assert_eq!(summary["objects_removed"].as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn a_run_date_after_today_is_refused() {
    let sim = Simulator::start(50, 1, DAY);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().display().to_string();
    let api = sim.api_url();
    let output = run_sync(
        &["run", "--as-of", "2999-01-01"],
        &local_env(&sim, &dest, &api),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("the run date `2999-01-01` is after today"));
    assert!(sim.requests().await.is_empty());
}

#[tokio::test]
async fn each_invalid_setting_is_named_and_nothing_is_requested() {
    let sim = Simulator::start(50, 1, DAY);
    let api = sim.api_url();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("PLANTRAK_PAST_DAYS", "0")],
            "`PLANTRAK_PAST_DAYS` is `0`: expected a whole number of days from 1 to 180",
        ),
        (
            vec![("PLANTRAK_PAST_DAYS", "181")],
            "`PLANTRAK_PAST_DAYS` is `181`",
        ),
        (
            vec![("PLANTRAK_TIMEZONE", "Europe/Atlantis")],
            "`PLANTRAK_TIMEZONE` is `Europe/Atlantis`: expected an IANA time zone name",
        ),
        (
            vec![("PLANTRAK_COMPRESSION", "zip")],
            "`PLANTRAK_COMPRESSION` is `zip`: expected `gzip` or `none`",
        ),
        (
            vec![("PLANTRAK_API_URL", "http://example.com/api")],
            "`PLANTRAK_API_URL` is `http://example.com/api`: plain http is refused",
        ),
        (
            vec![("PLANTRAK_API_URL", "not a url")],
            "`PLANTRAK_API_URL` is `not a url`",
        ),
        (
            vec![("PLANTRAK_DESTINATION", "s3://No_Such/x")],
            "`PLANTRAK_DESTINATION` is `s3://No_Such/x`",
        ),
        (
            vec![("PLANTRAK_DESTINATION", "")],
            "`PLANTRAK_DESTINATION` is not set",
        ),
        (
            vec![("PLANTRAK_TOKEN", "")],
            "`PLANTRAK_SECRET_ID` is not set",
        ),
        (
            vec![("PLANTRAK_TOKEN", ""), ("PLANTRAK_SECRET_ID", "bad name!")],
            "`PLANTRAK_SECRET_ID` is `bad name!`",
        ),
    ];
    for (overrides, expected) in cases {
        let mut env = vec![
            ("PLANTRAK_API_URL", api.as_str()),
            ("PLANTRAK_TOKEN", TOKEN),
            ("PLANTRAK_DESTINATION", "/tmp/unused-plantrak"),
        ];
        for (name, value) in overrides {
            env.retain(|(n, _)| *n != name);
            env.push((name, value));
        }
        let output = run_sync(&["run"], &env);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(expected),
            "expected `{expected}` in: {stderr}"
        );
        assert!(stderr.contains("error_type: ConfigError"));
        assert!(!stderr.contains(TOKEN));
    }
    let output = run_sync(
        &["run", "--as-of", "2026-13-01", "--past-days", "x"],
        &[
            ("PLANTRAK_TOKEN", TOKEN),
            ("PLANTRAK_DESTINATION", "/tmp/x"),
        ],
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("`--as-of` is `2026-13-01`")
            && stderr.contains("`PLANTRAK_PAST_DAYS` is `x`"),
        "{stderr}"
    );
    assert!(
        sim.requests().await.is_empty(),
        "no request before the settings are valid"
    );
}

#[tokio::test]
async fn a_response_that_fails_its_checks_writes_nothing() {
    let sim = Simulator::start(200, 5, DAY);
    sim.add_faults(
        serde_json::json!([{"list": "recent_closed", "fault": {"kind": "wrong_count"}}]),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("lake").display().to_string();
    let api = sim.api_url();
    let output = run_sync(&["run", "--as-of", DAY], &local_env(&sim, &dest, &api));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the `recent_closed` response was not accepted: response `count` is"),
        "{stderr}"
    );
    assert!(stderr.contains("error_type: InvalidResponse"));
    assert!(
        tree(dir.path()).is_empty(),
        "nothing is written when a pull fails (the lock is released)"
    );
}

#[tokio::test]
async fn transient_api_failures_are_retried() {
    let sim = Simulator::start(100, 2, DAY);
    sim.add_faults(serde_json::json!([
        {"list": "open", "fault": {"kind": "status", "status": 503}},
        {"list": "holding", "fault": {"kind": "status", "status": 429, "retry_after": "0"}},
        {"list": "recent_closed", "fault": {"kind": "reset"}},
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().display().to_string();
    let api = sim.api_url();
    let summary = summary_of(&run_sync(
        &["run", "--as-of", DAY],
        &local_env(&sim, &dest, &api),
    ));
    for list in ["open", "holding", "recent_closed"] {
        assert_eq!(summary["lists"][list]["attempts"], 2, "{list}");
    }
    assert_eq!(tree(dir.path()).len(), 9);
}

#[tokio::test]
async fn the_token_never_appears_in_output_or_files() {
    let sim = Simulator::start(300, 9, DAY);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().display().to_string();
    let api = sim.api_url();
    let mut env = local_env(&sim, &dest, &api);
    env.push(("RUST_LOG", "trace"));
    let ok = run_sync(&["run", "--as-of", DAY, "--compression", "none"], &env);
    summary_of(&ok);
    sim.set_token("rotated-token").await;
    let refused = run_sync(&["run", "--as-of", DAY], &env);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("error_type: ApiUnauthorized"),
        "{}",
        text(&refused.stderr)
    );

    for output in [&ok, &refused] {
        assert!(!text(&output.stdout).contains(TOKEN));
        assert!(!text(&output.stderr).contains(TOKEN));
    }
    for (key, bytes) in tree(dir.path()) {
        assert!(!text(&bytes).contains(TOKEN), "{key}");
    }
}

#[test]
fn help_explains_every_option_and_variable() {
    let output = run_sync(&["run", "--help"], &[]);
    let help = text(&output.stdout);
    for word in [
        "--as-of",
        "--past-days",
        "--destination",
        "--api-url",
        "--secret-id",
        "--timezone",
        "--compression",
        "PLANTRAK_TOKEN",
        "PLANTRAK_SECRET_FIELD",
        "AWS_ENDPOINT_URL",
    ] {
        assert!(help.contains(word), "`{word}` in --help");
    }
}
