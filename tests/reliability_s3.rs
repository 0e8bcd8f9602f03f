//! S3 faults, injected by a proxy in front of moto: the SDK's own retries absorb a short
//! burst of 500 or 503 SlowDown answers; a failure they cannot absorb fails the run with
//! `StorageError`, leaves no change log, ledger or manifest for that date, and the next
//! healthy run leaves the same history as one in which the fault never happened.

mod common;

use std::process::Output;

use common::s3_faults::{Rule, S3Error, S3FaultProxy};
use common::*;

/// One history run into a reference bucket (straight to moto) and a faulty bucket (through
/// the proxy).
struct History {
    moto: Moto,
    sim: Simulator,
    proxy: S3FaultProxy,
    reference: String,
    faulty: String,
    outputs: Vec<Output>,
}

impl History {
    async fn new(test: &str, seed: u64, first_day: &str) -> History {
        let moto = Moto::connect().await;
        let reference = moto.bucket(&format!("{test}-ref")).await;
        let faulty = moto.bucket(&format!("{test}-faulty")).await;
        let proxy = S3FaultProxy::start(&moto.endpoint);
        History {
            sim: Simulator::start(150, seed, first_day),
            proxy,
            moto,
            reference,
            faulty,
            outputs: Vec::new(),
        }
    }

    fn run(&mut self, faulty: bool, date: &str) -> Output {
        let (endpoint, bucket) = if faulty {
            (self.proxy.endpoint.clone(), &self.faulty)
        } else {
            (self.moto.endpoint.clone(), &self.reference)
        };
        let destination = format!("s3://{bucket}/lake");
        let api = self.sim.api_url();
        let aws = aws_env(&endpoint);
        let mut env = borrowed(&aws);
        env.extend(FAST_RETRIES);
        env.extend([
            ("PLANTRAK_API_URL", api.as_str()),
            ("PLANTRAK_TOKEN", TOKEN),
            ("PLANTRAK_DESTINATION", destination.as_str()),
            ("RUST_LOG", "debug"),
        ]);
        let output = run_sync(&["run", "--as-of", date], &env);
        self.outputs.push(output.clone());
        output
    }

    async fn objects(&self, faulty: bool) -> std::collections::BTreeMap<String, Vec<u8>> {
        let bucket = if faulty {
            &self.faulty
        } else {
            &self.reference
        };
        self.moto
            .objects(bucket)
            .await
            .into_iter()
            .map(|(key, bytes)| (key.strip_prefix("lake/").unwrap_or(&key).to_owned(), bytes))
            .collect()
    }

    async fn healthy_day(&mut self, date: &str) {
        self.sim.set_date(date).await;
        summary_of(&self.run(false, date));
        summary_of(&self.run(true, date));
    }

    async fn assert_same(&self) {
        let faulty = self.objects(true).await;
        assert_same_history(&faulty, &self.objects(false).await, "faulty vs fault-free");
        let outputs: Vec<&Output> = self.outputs.iter().collect();
        assert_token_absent(TOKEN, &outputs, &faulty);
    }
}

#[tokio::test]
async fn short_s3_error_bursts_are_absorbed_by_the_sdk_retries() {
    let mut history = History::new("s3-absorbed", 51, "2026-11-02").await;
    history.healthy_day("2026-11-02").await;

    let day = "2026-11-03";
    history.sim.set_date(day).await;
    summary_of(&history.run(false, day));
    history.proxy.add([
        Rule::burst("GET", 2, S3Error::Internal),
        Rule::burst("PUT", 2, S3Error::SlowDown),
        Rule::nth_put(4, 2, S3Error::Internal),
    ]);
    summary_of(&history.run(true, day));
    assert_eq!(history.proxy.injected(), 6, "every injected error was met");

    history.healthy_day("2026-11-04").await;
    history.assert_same().await;
}

#[tokio::test]
async fn an_s3_failure_past_the_sdk_retries_fails_the_run_and_the_next_run_repairs_it() {
    let mut history = History::new("s3-failed", 52, "2026-11-02").await;
    history.healthy_day("2026-11-02").await;

    // Each day breaks a different request for longer than the SDK retries (3 attempts):
    // the first read of earlier runs, then the Nth PUT, from the first raw response to the
    // manifest.
    let cases: Vec<(&str, Rule)> = vec![
        ("2026-11-03", Rule::burst("GET", 3, S3Error::SlowDown)),
        ("2026-11-04", Rule::nth_put(1, 3, S3Error::SlowDown)),
        ("2026-11-05", Rule::nth_put(3, 3, S3Error::Internal)),
        ("2026-11-06", Rule::nth_put(7, 3, S3Error::Internal)),
        ("2026-11-07", Rule::nth_put(8, 3, S3Error::SlowDown)),
        ("2026-11-08", Rule::nth_put(9, 3, S3Error::Internal)),
        ("2026-11-09", Rule::nth_put(10, 3, S3Error::Internal)),
    ];
    for (day, rule) in cases {
        let context = format!("{day} ({rule:?})");
        history.sim.set_date(day).await;
        summary_of(&history.run(false, day));
        history.proxy.add([rule]);
        let output = history.run(true, day);
        history.proxy.clear();
        if output.status.success() {
            // The run wrote fewer objects than the rule counts to: nothing was broken.
            let written = summary_of(&output)["objects_written"]
                .as_array()
                .unwrap()
                .len();
            assert!(written < 10, "{context}: succeeded despite the fault");
            continue;
        }
        assert_failed_with(&output, "StorageError", &context);
        assert_no_change_log_for(&history.objects(true).await, day, &context);
        summary_of(&history.run(true, day));
    }

    history.healthy_day("2026-11-10").await;
    history.assert_same().await;
}
