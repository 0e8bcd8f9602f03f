//! The local command writing to S3 (moto's server) with the token in Secrets Manager.

mod common;

use common::*;

const DAY: &str = "2026-10-05";

#[tokio::test]
async fn s3_run_with_secret_writes_exactly_the_documented_objects() {
    let moto = Moto::connect().await;
    let sim = Simulator::start(500, 21, DAY);
    let bucket = moto.bucket("s3-run").await;
    let secret = moto
        .secret("s3-run", &format!(r#"{{"token": "{TOKEN}"}}"#))
        .await;
    let destination = format!("s3://{bucket}/lake/plantrak");
    let api = sim.api_url();

    let aws = aws_env(&moto.endpoint);
    let mut env = borrowed(&aws);
    env.extend([
        ("PLANTRAK_API_URL", api.as_str()),
        ("PLANTRAK_SECRET_ID", secret.as_str()),
        ("PLANTRAK_DESTINATION", destination.as_str()),
    ]);
    let output = run_sync(&["run", "--as-of", DAY], &env);
    let summary = summary_of(&output);
    assert!(!text(&output.stderr).contains(TOKEN));

    let objects = moto.objects(&bucket).await;
    let mut expected = vec![format!(
        "lake/plantrak/changes/change_date={DAY}/changes.jsonl.gz"
    )];
    for list in ["holding", "open", "recent_closed"] {
        expected.push(format!(
            "lake/plantrak/raw/event_type={list}/snapshot_date={DAY}/response.json.gz"
        ));
    }
    expected.push(format!("lake/plantrak/runs/run_date={DAY}/manifest.json"));
    for list in ["holding", "open", "recent_closed"] {
        expected.push(format!(
            "lake/plantrak/snapshots/event_type={list}/snapshot_date={DAY}/events.jsonl.gz"
        ));
    }
    expected.push(format!(
        "lake/plantrak/state/state_date={DAY}/ledger.jsonl.gz"
    ));
    assert_eq!(objects.keys().cloned().collect::<Vec<_>>(), expected);
    for (key, bytes) in &objects {
        let plain = if key.ends_with(".gz") {
            gunzip(bytes)
        } else {
            bytes.clone()
        };
        assert!(!text(&plain).contains(TOKEN), "{key}");
        if key.contains("/snapshots/") {
            let list = key
                .split("event_type=")
                .nth(1)
                .unwrap()
                .split('/')
                .next()
                .unwrap();
            let rows = lines(&plain);
            assert_eq!(
                rows.len() as u64,
                summary["lists"][list]["events"].as_u64().unwrap()
            );
            let status = if list == "recent_closed" {
                "closed"
            } else {
                list
            };
            assert!(rows.iter().all(|row| row["status"] == status), "{key}");
        }
    }

    let head = moto
        .s3
        .head_object()
        .bucket(&bucket)
        .key(&expected[5])
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/gzip"));
}

#[tokio::test]
async fn local_and_s3_destinations_hold_the_same_tree_and_bytes() {
    let moto = Moto::connect().await;
    let sim = Simulator::start(300, 8, DAY);
    let bucket = moto.bucket("same-tree").await;
    let dir = tempfile::tempdir().unwrap();
    let api = sim.api_url();
    let local = dir.path().display().to_string();
    let remote = format!("s3://{bucket}");

    let aws = aws_env(&moto.endpoint);
    let mut env = borrowed(&aws);
    env.extend([
        ("PLANTRAK_API_URL", api.as_str()),
        ("PLANTRAK_TOKEN", TOKEN),
    ]);
    summary_of(&run_sync(
        &["run", "--as-of", DAY, "--destination", &local],
        &env,
    ));
    summary_of(&run_sync(
        &["run", "--as-of", DAY, "--destination", &remote],
        &env,
    ));

    let on_disk = tree(dir.path());
    let in_s3 = moto.objects(&bucket).await;
    assert_eq!(
        on_disk.keys().collect::<Vec<_>>(),
        in_s3.keys().collect::<Vec<_>>()
    );
    for (key, bytes) in &on_disk {
        if key.starts_with("raw/") || key.starts_with("state/") {
            assert_eq!(bytes, &in_s3[key], "{key}: same bytes");
        } else {
            // Two runs at two moments: all but run ids and times are the same.
            let strip = |b: &[u8]| -> Vec<_> {
                let plain = if key.ends_with(".gz") {
                    gunzip(b)
                } else {
                    b.to_vec()
                };
                lines(&plain)
                    .into_iter()
                    .map(|mut row| {
                        for varying in [
                            "snapshot_at",
                            "detected_at",
                            "run_id",
                            "started_at",
                            "finished_at",
                            "duration_ms",
                        ] {
                            row.remove(varying);
                        }
                        row
                    })
                    .collect()
            };
            assert_eq!(strip(bytes), strip(&in_s3[key]), "{key}");
        }
    }
}

#[tokio::test]
async fn a_missing_secret_fails_with_a_clear_error_and_writes_nothing() {
    let moto = Moto::connect().await;
    let sim = Simulator::start(50, 1, DAY);
    let bucket = moto.bucket("no-secret").await;
    let destination = format!("s3://{bucket}");
    let api = sim.api_url();
    let aws = aws_env(&moto.endpoint);
    let mut env = borrowed(&aws);
    env.extend([
        ("PLANTRAK_API_URL", api.as_str()),
        ("PLANTRAK_SECRET_ID", "plantrak/does-not-exist"),
        ("PLANTRAK_DESTINATION", destination.as_str()),
    ]);
    let output = run_sync(&["run", "--as-of", DAY], &env);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("failed to read secret `plantrak/does-not-exist`"),
        "{stderr}"
    );
    assert!(stderr.contains("error_type: SecretError"));
    assert!(moto.objects(&bucket).await.is_empty());
    assert!(sim.requests().await.is_empty());
}

#[tokio::test]
async fn large_objects_go_up_in_parts_with_the_same_bytes() {
    let moto = Moto::connect().await;
    let sim = Simulator::start(60_000, 3, DAY);
    let bucket = moto.bucket("multipart").await;
    let destination = format!("s3://{bucket}/p");
    let api = sim.api_url();
    let aws = aws_env(&moto.endpoint);
    let mut env = borrowed(&aws);
    env.extend([
        ("PLANTRAK_API_URL", api.as_str()),
        ("PLANTRAK_TOKEN", TOKEN),
        ("PLANTRAK_DESTINATION", destination.as_str()),
        ("PLANTRAK_COMPRESSION", "none"),
    ]);
    summary_of(&run_sync(&["run", "--as-of", DAY], &env));

    let key = format!("p/raw/event_type=open/snapshot_date={DAY}/response.json");
    let stored = moto
        .s3
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let parts = stored.e_tag().unwrap_or_default().to_owned();
    let body = stored.body.collect().await.unwrap().into_bytes();
    assert!(
        body.len() > 8 * 1024 * 1024,
        "{} bytes: large enough for parts",
        body.len()
    );
    assert!(
        parts.contains('-'),
        "a multipart ETag ends in -<parts>: {parts}"
    );
    assert_eq!(body.as_ref(), sim.fetch("type=open").await.as_slice());
}
