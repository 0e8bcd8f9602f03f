//! The same faults seen through Lambda: a failed invocation reports a stable `errorType`,
//! leaves no change log, ledger or manifest for its date, and the next invocation leaves the
//! same history as one without the fault.

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn failed_invocations_report_a_stable_error_type_and_the_next_one_repairs() {
    let moto = Moto::connect().await;
    let sim = Simulator::start(150, 91, "2026-11-20");
    let reference = moto.bucket("lambda-ref").await;
    let faulty = moto.bucket("lambda-faulty").await;
    let secret = moto.secret("lambda-faults", TOKEN).await;
    let api = sim.api_url();
    let aws = aws_env(&moto.endpoint);
    let mut env = borrowed(&aws);
    env.extend(FAST_RETRIES);
    env.push(("PLANTRAK_API_URL", api.as_str()));
    let mut cli_env = env.clone();
    let reference_destination = format!("s3://{reference}");
    cli_env.extend([
        ("PLANTRAK_TOKEN", TOKEN),
        ("PLANTRAK_DESTINATION", reference_destination.as_str()),
    ]);
    let faulty_destination = format!("s3://{faulty}");
    env.extend([
        ("PLANTRAK_SECRET_ID", secret.as_str()),
        ("PLANTRAK_DESTINATION", faulty_destination.as_str()),
    ]);

    let emulator = RuntimeEmulator::start();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("function.log");
    let _function = emulator.start_function(&env, &log);
    let mut responses = Vec::new();

    let days: [(&str, Value, Option<&str>); 4] = [
        ("2026-11-20", json!([]), None),
        (
            "2026-11-21",
            json!([{"list": "holding", "fault": {"kind": "status", "status": 403}}]),
            Some("ApiForbidden"),
        ),
        (
            "2026-11-22",
            json!([{"list": "open", "fault": {"kind": "invalid_json"}}]),
            Some("InvalidResponse"),
        ),
        (
            "2026-11-23",
            json!([{"list": "recent_closed", "times": 5, "fault": {"kind": "status", "status": 503}}]),
            Some("ApiUnavailable"),
        ),
    ];
    for (day, faults, error_type) in days {
        sim.set_date(day).await;
        summary_of(&run_sync(&["run", "--as-of", day], &cli_env));
        sim.add_faults(faults).await;
        let payload = json!({"as_of": day});
        let (ok, response) = emulator.invoke(&payload);
        if let Some(error_type) = error_type {
            assert!(!ok, "{day}: {response}");
            assert!(
                response.contains(&format!("Error: {error_type}")),
                "{day}: `{error_type}` in {response}"
            );
            let objects: std::collections::BTreeMap<String, Vec<u8>> = moto.objects(&faulty).await;
            assert_no_change_log_for(&objects, day, day);
            sim.control(reqwest::Method::DELETE, "/_sim/faults", None)
                .await;
            responses.push(response);
            let (ok, response) = emulator.invoke(&payload);
            assert!(ok, "{day}, invoked again: {response}");
            responses.push(response);
        } else {
            assert!(ok, "{day}: {response}");
            responses.push(response);
        }
    }

    let objects = moto.objects(&faulty).await;
    assert_same_history(
        &objects,
        &moto.objects(&reference).await,
        "Lambda vs fault-free",
    );
    let logged = std::fs::read(&log).unwrap();
    for response in &responses {
        assert_secret_absent(TOKEN, "an invocation's response", response.as_bytes());
    }
    assert_secret_absent(TOKEN, "the function's logs", &logged);
    for (key, bytes) in &objects {
        assert_secret_absent(TOKEN, key, bytes);
    }
}
