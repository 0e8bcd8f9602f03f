//! Shared set-up for the black-box tests: the PlanTRAK simulator started per test on
//! 127.0.0.1, moto's S3 and Secrets Manager (started by `make test`, found through
//! `PLANTRAK_TEST_MOTO`), and the `plantrak-sync` binary run with a clean environment.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

pub const TOKEN: &str = "sim-token-5f2b9c1e-do-not-log";

/// A running simulator, stopped when dropped.
pub struct Simulator {
    child: Child,
    pub base: String,
    http: reqwest::Client,
}

impl Simulator {
    pub fn start(events: u32, seed: u64, start_date: &str) -> Simulator {
        Self::start_with(&[
            "--events",
            &events.to_string(),
            "--seed",
            &seed.to_string(),
            "--start-date",
            start_date,
        ])
    }

    pub fn start_with(args: &[&str]) -> Simulator {
        let mut child = Command::new(simulator_binary())
            .args(["--token", TOKEN])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the simulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .expect("simulator address")
            .to_owned();
        Simulator {
            child,
            base,
            http: reqwest::Client::new(),
        }
    }

    pub fn api_url(&self) -> String {
        format!("{}/api/v1/analytics/events", self.base)
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("simulator control request");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.expect("control response JSON")
    }

    pub async fn set_date(&self, date: &str) {
        self.control(
            reqwest::Method::POST,
            "/_sim/date",
            Some(serde_json::json!({"date": date})),
        )
        .await;
    }

    pub async fn add_faults(&self, faults: Value) {
        self.control(
            reqwest::Method::POST,
            "/_sim/faults",
            Some(serde_json::json!({"faults": faults})),
        )
        .await;
    }

    pub async fn set_token(&self, token: &str) {
        self.control(
            reqwest::Method::POST,
            "/_sim/token",
            Some(serde_json::json!({"token": token})),
        )
        .await;
    }

    /// The API requests received so far.
    pub async fn requests(&self) -> Vec<Value> {
        let log = self
            .control(reqwest::Method::GET, "/_sim/requests", None)
            .await;
        log.as_array().cloned().unwrap_or_default()
    }

    /// The body the API serves for `query` right now, fetched directly.
    pub async fn fetch(&self, query: &str) -> Vec<u8> {
        let response = self
            .http
            .get(format!("{}?{query}", self.api_url()))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        response.bytes().await.unwrap().to_vec()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn simulator_binary() -> PathBuf {
    // Test executables live in target/<profile>/deps; workspace binaries one level up.
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("plantrak-simulator");
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (`make test` does)",
        path.display()
    );
    path
}

/// The `plantrak-sync` command with only the variables a test gives it.
pub fn sync_command(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plantrak-sync"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command.env("RUST_LOG", "info");
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Runs `plantrak-sync ARGS` and returns its output.
pub fn run_sync(args: &[&str], env: &[(&str, &str)]) -> Output {
    sync_command(env)
        .args(args)
        .output()
        .expect("run plantrak-sync")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts success and returns the printed summary.
pub fn summary_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "plantrak-sync failed: {}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("summary JSON on stdout")
}

/// Every file under `root`, by relative path.
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let key = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(key, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

pub fn lines(bytes: &[u8]) -> Vec<serde_json::Map<String, Value>> {
    text(bytes)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
        .collect()
}

/// moto's endpoint, which `make test` starts.
pub fn moto_endpoint() -> String {
    std::env::var("PLANTRAK_TEST_MOTO").expect(
        "PLANTRAK_TEST_MOTO is not set: S3 and Secrets Manager tests need moto's server; run `make test`",
    )
}

/// Environment for the SDK to reach moto.
pub fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

pub struct Moto {
    pub endpoint: String,
    pub s3: aws_sdk_s3::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl Moto {
    pub async fn connect() -> Moto {
        let endpoint = moto_endpoint();
        let credentials =
            aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "tests");
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(credentials)
            .load()
            .await;
        let s3_config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .build();
        Moto {
            endpoint,
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            secrets: aws_sdk_secretsmanager::Client::new(&shared),
        }
    }

    /// A new bucket with a name unique to this test.
    pub async fn bucket(&self, test: &str) -> String {
        let name = format!("{test}-{}", uuid::Uuid::new_v4().simple()).replace('_', "-");
        let name: String = name.chars().take(63).collect();
        self.s3
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .expect("create bucket");
        name
    }

    /// A new secret holding `value`; returns its name.
    pub async fn secret(&self, test: &str, value: &str) -> String {
        let name = format!("plantrak/{test}-{}", uuid::Uuid::new_v4().simple());
        self.secrets
            .create_secret()
            .name(&name)
            .secret_string(value)
            .send()
            .await
            .expect("create secret");
        name
    }

    pub async fn put_secret(&self, name: &str, value: &str) {
        self.secrets
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }

    /// Every object in `bucket`, by key.
    pub async fn objects(&self, bucket: &str) -> BTreeMap<String, Vec<u8>> {
        let mut objects = BTreeMap::new();
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        for object in listed.contents() {
            let key = object.key().unwrap().to_owned();
            let body = self
                .s3
                .get_object()
                .bucket(bucket)
                .key(&key)
                .send()
                .await
                .unwrap();
            objects.insert(
                key,
                body.body.collect().await.unwrap().into_bytes().to_vec(),
            );
        }
        objects
    }
}
