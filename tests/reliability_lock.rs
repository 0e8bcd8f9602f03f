//! One run at a time per destination: two runs started together leave one consistent result
//! (never a mix of both), the loser fails at once with `RunInProgress` and writes nothing, a
//! live lock refuses a run, and an expired lock is taken over.

mod common;

use std::collections::BTreeMap;
use std::process::{Output, Stdio};

use common::*;
use serde_json::{Value, json};

const FIRST: &str = "2026-11-16";
const DAY: &str = "2026-11-17";

/// Runs two `plantrak-sync run` processes at once and returns both outputs.
fn run_two_at_once(env: &[(&str, &str)], date: &str) -> [Output; 2] {
    let start = || {
        sync_command(env)
            .args(["run", "--as-of", date])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start plantrak-sync")
    };
    let first = start();
    let second = start();
    [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ]
}

/// One run won, the other failed with `RunInProgress`, and every object of the date comes
/// from the winner.
fn assert_one_winner(outputs: &[Output; 2], objects: &BTreeMap<String, Vec<u8>>) {
    let winners: Vec<&Output> = outputs.iter().filter(|o| o.status.success()).collect();
    let losers: Vec<&Output> = outputs.iter().filter(|o| !o.status.success()).collect();
    assert_eq!(winners.len(), 1, "exactly one run succeeds");
    assert_failed_with(losers[0], "RunInProgress", "the second run");
    let summary = summary_of(winners[0]);
    let run_id = summary["run_id"].as_str().unwrap();

    let manifest: Value =
        serde_json::from_slice(&objects[&format!("runs/run_date={DAY}/manifest.json")]).unwrap();
    assert_eq!(manifest["run_id"], run_id, "the manifest is the winner's");
    let changes = &objects[&format!("changes/change_date={DAY}/changes.jsonl.gz")];
    for line in lines(&gunzip(changes)) {
        assert_eq!(line["run_id"], run_id, "every change line is the winner's");
    }
    let lock: Vec<&String> = objects.keys().filter(|k| k.starts_with("locks/")).collect();
    assert!(lock.is_empty(), "the lock is released: {lock:?}");
    for output in outputs {
        assert_secret_absent(TOKEN, "stdout", &output.stdout);
        assert_secret_absent(TOKEN, "stderr", &output.stderr);
    }
}

fn sim_args(seed: &str) -> Vec<&str> {
    vec![
        "--events",
        "150",
        "--seed",
        seed,
        "--start-date",
        FIRST,
        "--latency-ms",
        "300",
    ]
}

#[tokio::test]
async fn two_local_runs_at_once_leave_one_consistent_result() {
    let sim = Simulator::start_with(&sim_args("71"));
    let api = sim.api_url();
    let reference = tempfile::tempdir().unwrap();
    let shared = tempfile::tempdir().unwrap();
    let reference_dest = reference.path().display().to_string();
    let shared_dest = shared.path().display().to_string();
    let reference_env = [
        ("PLANTRAK_API_URL", api.as_str()),
        ("PLANTRAK_TOKEN", TOKEN),
        ("PLANTRAK_DESTINATION", reference_dest.as_str()),
    ];
    let shared_env = [
        ("PLANTRAK_API_URL", api.as_str()),
        ("PLANTRAK_TOKEN", TOKEN),
        ("PLANTRAK_DESTINATION", shared_dest.as_str()),
    ];

    for date in [FIRST, DAY] {
        sim.set_date(date).await;
        summary_of(&run_sync(&["run", "--as-of", date], &reference_env));
    }
    sim.set_date(FIRST).await;
    summary_of(&run_sync(&["run", "--as-of", FIRST], &shared_env));
    sim.set_date(DAY).await;
    let outputs = run_two_at_once(&shared_env, DAY);
    let objects = tree(shared.path());
    assert_one_winner(&outputs, &objects);
    assert_same_history(&objects, &tree(reference.path()), "after two runs at once");
}

#[tokio::test]
async fn two_s3_runs_at_once_leave_one_consistent_result() {
    let moto = Moto::connect().await;
    let sim = Simulator::start_with(&sim_args("72"));
    let api = sim.api_url();
    let reference = moto.bucket("lock-ref").await;
    let shared = moto.bucket("lock-shared").await;
    let aws = aws_env(&moto.endpoint);
    let env = |bucket: &str| -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = aws
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        env.push(("PLANTRAK_API_URL".into(), api.clone()));
        env.push(("PLANTRAK_TOKEN".into(), TOKEN.into()));
        env.push(("PLANTRAK_DESTINATION".into(), format!("s3://{bucket}")));
        env
    };
    let reference_env = env(&reference);
    let shared_env = env(&shared);
    let reference_env: Vec<(&str, &str)> = reference_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let shared_env: Vec<(&str, &str)> = shared_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();

    for date in [FIRST, DAY] {
        sim.set_date(date).await;
        summary_of(&run_sync(&["run", "--as-of", date], &reference_env));
    }
    sim.set_date(FIRST).await;
    summary_of(&run_sync(&["run", "--as-of", FIRST], &shared_env));
    sim.set_date(DAY).await;
    let outputs = run_two_at_once(&shared_env, DAY);
    let objects = moto.objects(&shared).await;
    assert_one_winner(&outputs, &objects);
    assert_same_history(
        &objects,
        &moto.objects(&reference).await,
        "after two runs at once",
    );
}

#[tokio::test]
async fn a_live_lock_refuses_the_run_and_an_expired_one_is_taken_over() {
    let sim = Simulator::start(100, 73, DAY);
    let api = sim.api_url();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().display().to_string();
    let env = [
        ("PLANTRAK_API_URL", api.as_str()),
        ("PLANTRAK_TOKEN", TOKEN),
        ("PLANTRAK_DESTINATION", dest.as_str()),
    ];
    let lock_path = dir.path().join("locks/run.lock");
    std::fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let now = jiff::Timestamp::now();
    let holder = |expires_at: jiff::Timestamp| {
        json!({
            "run_id": "00000000-0000-4000-8000-000000000001",
            "host": "another-host.invalid",
            "pid": 1,
            "local": false,
            "acquired_at": (now - jiff::SignedDuration::from_mins(20)).to_string(),
            "expires_at": expires_at.to_string(),
        })
    };

    let live = holder(now + jiff::SignedDuration::from_mins(10));
    std::fs::write(&lock_path, live.to_string()).unwrap();
    let refused = run_sync(&["run", "--as-of", DAY], &env);
    assert_failed_with(&refused, "RunInProgress", "a live lock");
    assert!(
        text(&refused.stderr).contains("00000000-0000-4000-8000-000000000001"),
        "the error names the holder: {}",
        text(&refused.stderr)
    );
    assert!(sim.requests().await.is_empty(), "nothing is pulled");
    let files: Vec<String> = tree(dir.path()).into_keys().collect();
    assert_eq!(files, ["locks/run.lock"], "nothing is written");

    let expired = holder(now - jiff::SignedDuration::from_mins(5));
    std::fs::write(&lock_path, expired.to_string()).unwrap();
    let summary = summary_of(&run_sync(&["run", "--as-of", DAY], &env));
    assert_eq!(summary["as_of"], DAY);
    assert!(!lock_path.exists(), "the lock is released after the run");
}
