//! Shared set-up for the black-box tests: the PlanTRAK simulator started per test on
//! 127.0.0.1, moto's S3 and Secrets Manager (started by `make test`, found through
//! `PLANTRAK_TEST_MOTO`), and the `plantrak-sync` binary run with a clean environment.

#![allow(dead_code)]

pub mod s3_faults;

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

/// Variables as the `(&str, &str)` pairs the commands take.
pub fn borrowed<'a>(vars: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    vars.iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
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

/// Fields that differ between two runs of the same history: run ids and times.
pub const VARYING_FIELDS: [&str; 7] = [
    "run_id",
    "detected_at",
    "snapshot_at",
    "started_at",
    "finished_at",
    "duration_ms",
    "attempts",
];

/// Settings that keep fault tests short: 50 ms backoff base and a 1 s read timeout.
pub const FAST_RETRIES: [(&str, &str); 2] = [
    ("PLANTRAK_RETRY_BASE_MS", "50"),
    ("PLANTRAK_READ_TIMEOUT_SECS", "1"),
];

/// A destination's objects made comparable across histories: gzip undone, JSON lines with
/// [`VARYING_FIELDS`] removed, raw responses kept byte for byte. The run lock is left out.
pub fn comparable(objects: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    objects
        .iter()
        .filter(|(key, _)| !key.starts_with("locks/") && !key.contains("/locks/"))
        .map(|(key, bytes)| {
            let plain = if key.ends_with(".gz") {
                gunzip(bytes)
            } else {
                bytes.clone()
            };
            let shown = if key.contains("raw/event_type=") {
                text(&plain)
            } else {
                text(&plain)
                    .lines()
                    .map(|line| match serde_json::from_str::<Value>(line) {
                        Ok(Value::Object(mut row)) => {
                            for field in VARYING_FIELDS {
                                row.remove(field);
                            }
                            Value::Object(row).to_string()
                        }
                        _ => line.to_owned(),
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            (key.clone(), shown)
        })
        .collect()
}

/// Asserts two destinations hold the same history, ignoring run ids and times.
pub fn assert_same_history(
    actual: &BTreeMap<String, Vec<u8>>,
    expected: &BTreeMap<String, Vec<u8>>,
    context: &str,
) {
    let actual = comparable(actual);
    let expected = comparable(expected);
    let actual_keys: Vec<&String> = actual.keys().collect();
    let expected_keys: Vec<&String> = expected.keys().collect();
    assert_eq!(actual_keys, expected_keys, "{context}: the same objects");
    for (key, value) in &expected {
        assert!(
            actual[key] == *value,
            "{context}: `{key}` differs from the fault-free history\n  got: {}\n want: {}",
            short(&actual[key]),
            short(value)
        );
    }
}

fn short(value: &str) -> String {
    value.chars().take(600).collect()
}

/// Keys of `objects` in a folder of `date` (`…=YYYY-MM-DD/…`).
pub fn keys_for_date(objects: &BTreeMap<String, Vec<u8>>, date: &str) -> Vec<String> {
    let marker = format!("={date}/");
    objects
        .keys()
        .filter(|key| key.contains(&marker))
        .cloned()
        .collect()
}

/// Asserts a change log, ledger or manifest for `date` is absent.
pub fn assert_no_change_log_for(objects: &BTreeMap<String, Vec<u8>>, date: &str, context: &str) {
    for folder in [
        format!("changes/change_date={date}/"),
        format!("state/state_date={date}/"),
        format!("runs/run_date={date}/"),
    ] {
        let found: Vec<&String> = objects.keys().filter(|k| k.contains(&folder)).collect();
        assert!(found.is_empty(), "{context}: a failed run left {found:?}");
    }
}

/// The last line the command wrote to stderr.
pub fn last_stderr_line(output: &Output) -> String {
    text(&output.stderr)
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default()
        .to_owned()
}

/// Asserts the command failed with exit status 1 and `error_type: {error_type}` last.
pub fn assert_failed_with(output: &Output, error_type: &str, context: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{context}: {stderr}");
    assert_eq!(
        last_stderr_line(output),
        format!("error_type: {error_type}"),
        "{context}: {stderr}"
    );
}

/// Asserts `secret` appears nowhere in `bytes` (gunzipped first when they are gzip).
pub fn assert_secret_absent(secret: &str, label: &str, bytes: &[u8]) {
    let plain = if bytes.starts_with(&[0x1f, 0x8b]) {
        gunzip(bytes)
    } else {
        bytes.to_vec()
    };
    assert!(
        !text(&plain).contains(secret),
        "the token appears in {label}"
    );
}

/// Asserts the token appears in neither the output of a run nor any object in `objects`.
pub fn assert_token_absent(secret: &str, outputs: &[&Output], objects: &BTreeMap<String, Vec<u8>>) {
    for output in outputs {
        assert_secret_absent(secret, "stdout", &output.stdout);
        assert_secret_absent(secret, "stderr", &output.stderr);
    }
    for (key, bytes) in objects {
        assert_secret_absent(secret, key, bytes);
    }
}

/// `tree` of a folder that may not exist yet.
pub fn tree_or_empty(root: &Path) -> BTreeMap<String, Vec<u8>> {
    if root.exists() {
        tree(root)
    } else {
        BTreeMap::new()
    }
}

/// Copies every file under `from` into `to` (created), keeping relative paths.
pub fn copy_tree(from: &Path, to: &Path) {
    for (key, bytes) in tree_or_empty(from) {
        let path = to.join(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// A small deterministic generator (xorshift64*) for reproducible "random" test choices.
pub struct Xorshift(u64);

impl Xorshift {
    pub fn new(seed: u64) -> Xorshift {
        Xorshift(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }
}

/// cargo-lambda's runtime API emulator on a free loopback port, stopped when dropped.
pub struct RuntimeEmulator {
    child: Child,
    pub port: u16,
}

impl Drop for RuntimeEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RuntimeEmulator {
    pub fn start() -> RuntimeEmulator {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("cargo")
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "-A",
                "127.0.0.1",
                "-P",
            ])
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cargo lambda (installed by `make test` into .venv)");
        let emulator = RuntimeEmulator { child, port };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return emulator;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the runtime API emulator did not start");
    }

    /// Starts the function (`PLANTRAK_TEST_BOOTSTRAP`, or this crate's debug binary) with
    /// JSON logs at TRACE into `log`.
    pub fn start_function(&self, env: &[(&str, &str)], log: &Path) -> LambdaFunction {
        let binary = std::env::var("PLANTRAK_TEST_BOOTSTRAP")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_plantrak-sync").to_owned());
        let runtime_api = format!("http://127.0.0.1:{}/.rt", self.port);
        let out = std::fs::File::create(log).unwrap();
        let child = Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs([
                ("AWS_LAMBDA_RUNTIME_API", runtime_api.as_str()),
                ("AWS_LAMBDA_FUNCTION_NAME", "_"),
                ("AWS_LAMBDA_FUNCTION_VERSION", "1"),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
                ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
                ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
            ])
            .envs(env.iter().copied())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        LambdaFunction(child)
    }

    /// Invokes the function with `payload`; returns (success, response text).
    pub fn invoke(&self, payload: &Value) -> (bool, String) {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), payload.to_string()).unwrap();
        let output = Command::new("cargo")
            .args(["lambda", "invoke", "-A", "127.0.0.1", "-P"])
            .arg(self.port.to_string())
            .args(["--output-format", "json", "--data-file"])
            .arg(file.path())
            .arg("_")
            .output()
            .expect("cargo lambda invoke");
        (
            output.status.success(),
            format!("{}{}", text(&output.stdout), text(&output.stderr)),
        )
    }
}

/// A running Lambda function process, stopped when dropped.
pub struct LambdaFunction(Child);

impl Drop for LambdaFunction {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
