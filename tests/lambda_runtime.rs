//! The Lambda build under a real runtime API emulator (`cargo lambda watch
//! --only-lambda-apis`), invoked with each sample event, against the simulator and moto.
//!
//! The function binary is `PLANTRAK_TEST_BOOTSTRAP` (the `cargo lambda build --release`
//! output that `make test` builds) or, when unset, this crate's debug binary.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

struct Emulator {
    child: Child,
    port: u16,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_emulator() -> Emulator {
    let port = free_port();
    let child = Command::new("cargo")
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cargo lambda (installed by `make test` into .venv)");
    let emulator = Emulator { child, port };
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return emulator;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the runtime API emulator did not start");
}

struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_function(emulator: &Emulator, env: &[(&str, &str)]) -> (Function, std::path::PathBuf) {
    let binary = std::env::var("PLANTRAK_TEST_BOOTSTRAP")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_plantrak-sync").to_owned());
    let log = tempfile::NamedTempFile::new()
        .unwrap()
        .into_temp_path()
        .keep()
        .unwrap();
    let runtime_api = format!("http://127.0.0.1:{}/.rt", emulator.port);
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command.envs([
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", "_"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "1"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
    ]);
    command.envs(env.iter().copied());
    let child = command
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::options().append(true).open(&log).unwrap())
        .spawn()
        .unwrap();
    (Function(child), log)
}

/// Invokes the function with a payload file; returns (success, response text).
fn invoke(emulator: &Emulator, payload: &str) -> (bool, String) {
    let output = Command::new("cargo")
        .args([
            "lambda",
            "invoke",
            "-A",
            "127.0.0.1",
            "-P",
            &emulator.port.to_string(),
            "--output-format",
            "json",
            "--data-file",
            payload,
            "_",
        ])
        .output()
        .expect("cargo lambda invoke");
    (
        output.status.success(),
        format!("{}{}", text(&output.stdout), text(&output.stderr)),
    )
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
    let mut env: Vec<(&str, &str)> = aws.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend([
        ("PLANTRAK_API_URL", api.as_str()),
        ("PLANTRAK_SECRET_ID", secret.as_str()),
        ("PLANTRAK_DESTINATION", destination.as_str()),
    ]);

    let emulator = start_emulator();
    let (_function, log) = start_function(&emulator, &env);
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
    let mut env: Vec<(&str, &str)> = aws.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend([
        ("PLANTRAK_API_URL", api.as_str()),
        ("PLANTRAK_SECRET_ID", secret.as_str()),
        ("PLANTRAK_DESTINATION", "s3://unused-bucket"),
    ]);
    let emulator = start_emulator();
    let (_function, log) = start_function(&emulator, &env);
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
