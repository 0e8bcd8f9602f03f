//! Crash consistency: a run killed with SIGKILL at any moment, then run again, leaves the
//! same changes, ledger, manifest and snapshots as a run that was never interrupted.
//!
//! The kill points are deterministic: some at pseudo-random times over a run's length (the
//! simulator's latency widens the pulls), others right after the Nth object of the run's
//! date appears, so every step of the write phase is hit. Against S3 the fault proxy slows
//! every request so that the write phase is as wide as the pulls.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::s3_faults::S3FaultProxy;
use common::*;

const FIRST: &str = "2026-11-12";
const DAY: &str = "2026-11-13";
const NEXT: &str = "2026-11-14";

fn local_env<'a>(api: &'a str, dest: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("PLANTRAK_API_URL", api),
        ("PLANTRAK_TOKEN", TOKEN),
        ("PLANTRAK_DESTINATION", dest),
    ]
}

fn spawn_run(env: &[(&str, &str)], date: &str) -> Child {
    sync_command(env)
        .args(["run", "--as-of", date])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start plantrak-sync")
}

/// Files under `root` whose path names `date`, hidden temporary files included.
fn files_for_date(root: &Path, date: &str) -> usize {
    let marker = format!("={date}");
    let mut count = 0;
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().contains(&marker) {
                count += 1;
            }
        }
    }
    count
}

/// The tree without hidden files (a killed local write leaves its temporary file behind;
/// listings skip it and it never reaches a reader).
fn visible(objects: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    objects
        .into_iter()
        .filter(|(key, _)| !key.split('/').any(|part| part.starts_with('.')))
        .collect()
}

fn hidden_count(root: &Path) -> usize {
    tree(root)
        .keys()
        .filter(|key| key.split('/').any(|part| part.starts_with('.')))
        .count()
}

#[tokio::test]
async fn local_runs_killed_at_32_moments_are_repaired_by_the_next_run() {
    let sim = Simulator::start_with(&[
        "--events",
        "200",
        "--seed",
        "61",
        "--start-date",
        FIRST,
        "--latency-ms",
        "40",
    ]);
    let api = sim.api_url();
    let work = tempfile::tempdir().unwrap();
    let template = work.path().join("template");
    let template_dest = template.display().to_string();
    summary_of(&run_sync(
        &["run", "--as-of", FIRST],
        &local_env(&api, &template_dest),
    ));

    sim.set_date(DAY).await;
    let reference = work.path().join("reference");
    copy_tree(&template, &reference);
    let reference_dest = reference.display().to_string();
    let started = Instant::now();
    summary_of(&run_sync(
        &["run", "--as-of", DAY],
        &local_env(&api, &reference_dest),
    ));
    let length_ms = started.elapsed().as_millis() as u64;
    let expected = tree(&reference);

    let mut rng = Xorshift::new(0x00c0_ffee);
    let mut partial = 0;
    let mut before_writes = 0;
    let mut temporaries = 0;
    let mut kept = Vec::new();
    for point in 0..35u64 {
        let dir = work.path().join(format!("point-{point}"));
        copy_tree(&template, &dir);
        let dest = dir.display().to_string();
        let env = local_env(&api, &dest);
        let mut child = spawn_run(&env, DAY);

        if point % 3 == 0 {
            // A moment anywhere in the run, start-up and pulls included.
            std::thread::sleep(Duration::from_millis(rng.below(length_ms + 1)));
        } else {
            // Right after the Nth object of the date appears (N from 1 to 10).
            let wanted = (point % 10 + 1) as usize;
            let deadline = Instant::now() + Duration::from_secs(10);
            while files_for_date(&dir, DAY) < wanted && Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            std::thread::sleep(Duration::from_micros(rng.below(3000)));
        }
        let _ = child.kill();
        let status = child.wait().unwrap();
        let left = visible(tree_or_empty(&dir));
        let has_manifest = left.contains_key(&format!("runs/run_date={DAY}/manifest.json"));
        let written = keys_for_date(&left, DAY).len();
        if written == 0 {
            before_writes += 1;
        } else if !has_manifest {
            partial += 1;
        }
        temporaries += hidden_count(&dir);
        let context = format!("kill point {point} ({status}, {written} objects written)");

        if point >= 32 {
            kept.push((dir, context));
            continue;
        }
        summary_of(&run_sync(&["run", "--as-of", DAY], &env));
        assert_same_history(&visible(tree(&dir)), &expected, &context);
    }
    eprintln!(
        "kill points: {before_writes} before any write, {partial} mid-write; \
         {temporaries} temporary files left by killed writes; run length {length_ms} ms"
    );
    assert!(
        before_writes >= 3 && partial >= 10,
        "the kill points cover both phases"
    );

    // The next day's run after a killed one (no rerun for the killed date) equals a history
    // in which only the completed days ran: the killed date's change log is removed.
    sim.set_date(NEXT).await;
    let skipped = work.path().join("skipped");
    copy_tree(&template, &skipped);
    let skipped_dest = skipped.display().to_string();
    summary_of(&run_sync(
        &["run", "--as-of", NEXT],
        &local_env(&api, &skipped_dest),
    ));
    let skipped_tree = visible(tree(&skipped));
    for (dir, context) in kept {
        let dest = dir.display().to_string();
        let summary = summary_of(&run_sync(
            &["run", "--as-of", NEXT],
            &local_env(&api, &dest),
        ));
        let mut left = visible(tree(&dir));
        let completed = left.contains_key(&format!("runs/run_date={DAY}/manifest.json"));
        if completed {
            // The kill came after the manifest: the killed date counts as completed.
            assert_eq!(summary["baseline_date"], DAY, "{context}");
            continue;
        }
        // Raw responses and snapshots of the killed date stay (they are true pulls); the
        // change log and ledger must not.
        assert_no_change_log_for(&left, DAY, &context);
        left.retain(|key, _| !key.contains(&format!("={DAY}/")));
        assert_same_history(&left, &skipped_tree, &context);
    }
}

#[tokio::test]
async fn s3_runs_killed_mid_write_are_repaired_by_the_next_run() {
    let moto = Moto::connect().await;
    let sim = Simulator::start_with(&[
        "--events",
        "200",
        "--seed",
        "62",
        "--start-date",
        FIRST,
        "--latency-ms",
        "40",
    ]);
    let api = sim.api_url();
    let proxy = S3FaultProxy::start(&moto.endpoint);
    let direct = aws_env(&moto.endpoint);
    let slowed = aws_env(&proxy.endpoint);
    let env_for = |aws: &[(&'static str, String)], destination: &str| -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = aws
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        for (k, v) in local_env(&api, destination) {
            env.push((k.to_owned(), v.to_owned()));
        }
        env
    };
    let run = |env: &[(String, String)], date: &str| {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_sync(&["run", "--as-of", date], &env)
    };

    let template = moto.bucket("crash-template").await;
    summary_of(&run(&env_for(&direct, &format!("s3://{template}")), FIRST));
    let template_objects = moto.objects(&template).await;
    sim.set_date(DAY).await;
    let reference = moto.bucket("crash-reference").await;
    put_all(&moto, &reference, &template_objects).await;
    summary_of(&run(&env_for(&direct, &format!("s3://{reference}")), DAY));
    let expected = moto.objects(&reference).await;

    proxy.set_latency(Duration::from_millis(25));
    let started = Instant::now();
    let timing = moto.bucket("crash-timing").await;
    put_all(&moto, &timing, &template_objects).await;
    summary_of(&run(&env_for(&slowed, &format!("s3://{timing}")), DAY));
    let length_ms = started.elapsed().as_millis() as u64;

    let mut rng = Xorshift::new(0x0051_0b0b);
    for point in 0..6u64 {
        let bucket = moto.bucket(&format!("crash-{point}")).await;
        put_all(&moto, &bucket, &template_objects).await;
        let destination = format!("s3://{bucket}");
        let env = env_for(&slowed, &destination);
        let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut child = spawn_run(&refs, DAY);
        // Spread over the second half of the run, where the writes are.
        let delay = length_ms / 2 + rng.below(length_ms / 2 + 1);
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let status = child.wait().unwrap();
        let written = keys_for_date(&moto.objects(&bucket).await, DAY).len();
        let context = format!("S3 kill point {point} at {delay} ms ({status}, {written} written)");
        summary_of(&run(&env_for(&direct, &destination), DAY));
        assert_same_history(&moto.objects(&bucket).await, &expected, &context);
    }
}

async fn put_all(moto: &Moto, bucket: &str, objects: &BTreeMap<String, Vec<u8>>) {
    for (key, bytes) in objects {
        moto.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(bytes.clone().into())
            .send()
            .await
            .unwrap();
    }
}
