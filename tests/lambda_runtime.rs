//! The Lambda build under a real runtime API emulator (`cargo lambda watch
//! --only-lambda-apis`), invoked with each sample event, against the simulator and moto.
//!
//! The function binary is `PLANTRAK_TEST_BOOTSTRAP` (the release `bootstrap` of `sam build`,
//! which `make test` builds) or, when unset, this crate's debug binary.

mod common;

use common::*;
use serde_json::Value;

/// Starts the function under a fresh emulator, logging into a temporary file.
fn start(env: &[(&str, &str)]) -> (RuntimeEmulator, LambdaFunction, std::path::PathBuf) {
    let emulator = RuntimeEmulator::start();
    let log = tempfile::NamedTempFile::new()
        .unwrap()
        .into_temp_path()
        .keep()
        .unwrap();
    let function = emulator.start_function(env, &log);
    (emulator, function, log)
}

/// Invokes the function with the JSON payload in `path`.
fn invoke(emulator: &RuntimeEmulator, path: &str) -> (bool, String) {
    let payload: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    emulator.invoke(&payload)
}

#[tokio::test]
async fn the_lambda_answers_each_sample_event_with_a_summary() {
    let moto = Moto::connect().await;
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let sim = Simulator::start(400, 17, &today);
    let bucket = moto.bucket("lambda").await;
    let secret = moto.secret("lambda", TOKEN).await;
    let destination = format!("s3://{bucket}/plantrak");
    let api = sim.api_url();
    let aws = aws_env(&moto.endpoint);
    let mut env = borrowed(&aws);
    env.extend([
        ("PLANTRAK_API_URL", api.as_str()),
        ("PLANTRAK_SECRET_ID", secret.as_str()),
        ("PLANTRAK_DESTINATION", destination.as_str()),
    ]);

    let (emulator, _function, log) = start(&env);
    let events = concat!(env!("CARGO_MANIFEST_DIR"), "/events");

    for (file, past_days) in [
        ("scheduled-event.json", 3),
        ("scheduler-event.json", 3),
        ("backfill.json", 180),
    ] {
        let (ok, response) = invoke(&emulator, &format!("{events}/{file}"));
        assert!(ok, "{file}: {response}");
        let summary: Value =
            serde_json::from_str(response.trim()).unwrap_or_else(|_| panic!("{file}: {response}"));
        assert_eq!(summary["as_of"], today.as_str(), "{file}");
        assert_eq!(summary["past_days"], past_days, "{file}");
        assert_eq!(
            summary["objects_written"].as_array().unwrap().len(),
            9,
            "{file}"
        );
        let recent = sim
            .requests()
            .await
            .into_iter()
            .rev()
            .find(|r| r["type"] == "recent_closed")
            .unwrap();
        assert_eq!(recent["past_days"], past_days, "{file}");
    }
    assert_eq!(
        moto.objects(&bucket).await.len(),
        9,
        "reruns for the same date overwrite"
    );

    // The administrator regenerates the token: the warm function reads the secret again.
    sim.set_token("regenerated-token-b7").await;
    moto.put_secret(&secret, "regenerated-token-b7").await;
    let (ok, response) = invoke(&emulator, &format!("{events}/scheduled-event.json"));
    assert!(ok, "after rotation: {response}");
    let statuses: Vec<Value> = sim
        .requests()
        .await
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert!(statuses.contains(&Value::from(401)), "{statuses:?}");

    // A token the secret cannot fix fails with a stable error type.
    sim.set_token("yet-another-token").await;
    let (ok, response) = invoke(&emulator, &format!("{events}/scheduled-event.json"));
    assert!(!ok);
    assert!(response.contains("ApiUnauthorized"), "{response}");

    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.lines()
            .any(|line| line.starts_with('{') && line.contains("\"run finished\"")),
        "JSON logs: {logs}"
    );
    let metric_lines: Vec<Value> = logs
        .lines()
        .filter(|line| line.contains("\"_aws\""))
        .map(|line| serde_json::from_str(line).expect("a metric line is JSON"))
        .collect();
    assert!(
        metric_lines
            .iter()
            .any(|m| m["RunSucceeded"] == 1 && m["EventsOpen"].as_u64() > Some(0))
    );
    assert!(
        metric_lines
            .iter()
            .any(|m| m["RunFailed"] == 1 && m["error_type"] == "ApiUnauthorized")
    );
    for secret_value in [TOKEN, "regenerated-token-b7"] {
        assert!(!logs.contains(secret_value), "the token reached the logs");
        assert!(!response.contains(secret_value));
    }
    let _ = std::fs::remove_file(log);
}

#[tokio::test]
async fn an_invalid_manual_payload_is_a_config_error() {
    let moto = Moto::connect().await;
    let sim = Simulator::start(50, 1, "2026-01-01");
    let secret = moto.secret("lambda-bad", TOKEN).await;
    let api = sim.api_url();
    let aws = aws_env(&moto.endpoint);
    let mut env = borrowed(&aws);
    env.extend([
        ("PLANTRAK_API_URL", api.as_str()),
        ("PLANTRAK_SECRET_ID", secret.as_str()),
        ("PLANTRAK_DESTINATION", "s3://unused-bucket"),
    ]);
    let (emulator, _function, log) = start(&env);
    let payload = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        payload.path(),
        r#"{"as_of": "01/02/2026", "past_days": 500}"#,
    )
    .unwrap();
    let (ok, response) = invoke(&emulator, payload.path().to_str().unwrap());
    assert!(!ok);
    assert!(response.contains("ConfigError"), "{response}");
    assert!(
        response.contains("`as_of` is `01/02/2026`") && response.contains("`past_days` is `500`"),
        "{response}"
    );
    assert!(sim.requests().await.is_empty());
    let _ = std::fs::remove_file(log);
}
