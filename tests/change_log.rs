//! The change log over a simulated month, against the simulator's true history: missed days,
//! reruns, events sent back from review, late approvals and deleted events must give exactly
//! the transitions an oracle derives from the truth — and `replay` must rebuild the same log.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;
use jiff::civil::Date;
use serde_json::Value;

const START: &str = "2026-08-01";
const DAYS: i32 = 30;
/// Days (counted from START) on which no run happens.
const MISSED: [i32; 7] = [4, 5, 6, 13, 20, 21, 22];
/// Days run twice.
const RERUN: [i32; 2] = [9, 17];
const PAST_DAYS: i64 = 3;

/// One change as the comparison sees it: date, event, kind, from/to status and close date.
type Key = (
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A string value, or `None` for null.
fn o(value: impl Into<Value>) -> Option<String> {
    value.into().as_str().map(str::to_owned)
}

#[derive(Clone, Debug, PartialEq)]
struct Truth {
    status: String,
    close_date: Value,
}

fn day(offset: i32) -> Date {
    START
        .parse::<Date>()
        .unwrap()
        .checked_add(jiff::Span::new().days(offset))
        .unwrap()
}

/// The true state of every existing event, per date.
async fn history(sim: &Simulator) -> BTreeMap<Date, BTreeMap<i64, Truth>> {
    let to = day(DAYS - 1);
    let path = format!("/_sim/history?from={START}&to={to}");
    let history = sim.control(reqwest::Method::GET, &path, None).await;
    let mut days = BTreeMap::new();
    for entry in history["days"].as_array().unwrap() {
        let date: Date = entry["date"].as_str().unwrap().parse().unwrap();
        let events = entry["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["status"] != "deleted")
            .map(|e| {
                let truth = Truth {
                    status: e["status"].as_str().unwrap().to_owned(),
                    close_date: e["close_date"].clone(),
                };
                (e["event_id"].as_i64().unwrap(), truth)
            })
            .collect();
        days.insert(date, events);
    }
    days
}

fn kind(from: &str, to: &str) -> Option<&'static str> {
    match (from, to) {
        ("open", "holding") => Some("submitted"),
        ("holding", "closed") => Some("approved"),
        ("open", "closed") => Some("closed"),
        ("holding", "open") | ("closed", "open") | ("closed", "holding") => Some("reopened"),
        _ => None,
    }
}

/// The changes the true history implies for the given run days, with the window rules the
/// function documents: a closed event is visible only within the (gap-aware) window, a
/// closed event that ages out is kept, and a known open/holding event absent from every list
/// is found by the 180-day reconciliation or has vanished.
fn oracle(truth: &BTreeMap<Date, BTreeMap<i64, Truth>>, run_days: &[Date]) -> BTreeSet<Key> {
    let mut ledger: BTreeMap<i64, Truth> = BTreeMap::new();
    let mut expected = BTreeSet::new();
    let mut previous: Option<Date> = None;
    for &today in run_days {
        let gap = previous.map_or(0, |b| (today - b).get_days() as i64);
        let past_days = PAST_DAYS.max(gap + 1).min(180);
        let window_start = |days: i64| today.checked_sub(jiff::Span::new().days(days)).unwrap();
        let in_window = |t: &Truth, days: i64| {
            t.close_date
                .as_str()
                .is_some_and(|d| d.parse::<Date>().unwrap() >= window_start(days))
        };
        let visible = |t: &Truth| t.status != "closed" || in_window(t, past_days);
        let state = &truth[&today];
        let date = today.to_string();
        let mut next = BTreeMap::new();

        for (id, now) in state.iter().filter(|(_, t)| visible(t)) {
            match ledger.get(id) {
                None => {
                    expected.insert((
                        date.clone(),
                        *id,
                        "appeared".into(),
                        None,
                        o(now.status.clone()),
                        None,
                        o(now.close_date.clone()),
                    ));
                }
                Some(before) => {
                    let kind = kind(&before.status, &now.status).or_else(|| {
                        (before.status == now.status && before.close_date != now.close_date)
                            .then_some("close_date_changed")
                    });
                    if let Some(kind) = kind {
                        expected.insert((
                            date.clone(),
                            *id,
                            kind.into(),
                            o(before.status.clone()),
                            o(now.status.clone()),
                            o(before.close_date.clone()),
                            o(now.close_date.clone()),
                        ));
                    }
                }
            }
            next.insert(*id, now.clone());
        }
        for (id, before) in &ledger {
            if next.contains_key(id) {
                continue;
            }
            if before.status == "closed" {
                next.insert(*id, before.clone());
                continue;
            }
            match state
                .get(id)
                .filter(|t| t.status == "closed" && in_window(t, 180))
            {
                Some(now) => {
                    let kind = kind(&before.status, "closed").unwrap();
                    expected.insert((
                        date.clone(),
                        *id,
                        kind.into(),
                        o(before.status.clone()),
                        o("closed"),
                        o(before.close_date.clone()),
                        o(now.close_date.clone()),
                    ));
                    next.insert(*id, now.clone());
                }
                None => {
                    expected.insert((
                        date.clone(),
                        *id,
                        "vanished".into(),
                        o(before.status.clone()),
                        None,
                        o(before.close_date.clone()),
                        None,
                    ));
                }
            }
        }
        ledger = next;
        previous = Some(today);
    }
    expected
}

/// Every change line under `lake`, as comparison keys; also checks the ids are unique.
fn change_log(lake: &Path) -> BTreeSet<Key> {
    let mut keys = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for (path, bytes) in tree(&lake.join("changes")) {
        for line in lines(&gunzip(&bytes)) {
            assert!(
                ids.insert(line["change_id"].as_str().unwrap().to_owned()),
                "{path}: repeated id"
            );
            assert!(path.contains(line["change_date"].as_str().unwrap()));
            keys.insert((
                line["change_date"].as_str().unwrap().to_owned(),
                line["event_id"].as_i64().unwrap(),
                line["kind"].as_str().unwrap().to_owned(),
                o(line["from_status"].clone()),
                o(line["to_status"].clone()),
                o(line["from_close_date"].clone()),
                o(line["to_close_date"].clone()),
            ));
        }
    }
    keys
}

fn ledger_at(lake: &Path, date: Date) -> BTreeMap<i64, (String, Value)> {
    let path = lake.join(format!("state/state_date={date}/ledger.jsonl.gz"));
    lines(&gunzip(&std::fs::read(path).unwrap()))
        .into_iter()
        .map(|l| {
            (
                l["event_id"].as_i64().unwrap(),
                (
                    l["status"].as_str().unwrap().to_owned(),
                    l["close_date"].clone(),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_simulated_month_gives_exactly_the_true_transitions() {
    let sim = Simulator::start(400, 31, START);
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let (api, dest) = (sim.api_url(), lake.display().to_string());
    let env = [
        ("PLANTRAK_API_URL", api.as_str()),
        ("PLANTRAK_TOKEN", TOKEN),
        ("PLANTRAK_DESTINATION", dest.as_str()),
    ];

    let mut run_days = Vec::new();
    let mut rerun_outputs = Vec::new();
    for offset in (0..DAYS).filter(|d| !MISSED.contains(d)) {
        let date = day(offset);
        sim.set_date(&date.to_string()).await;
        let summary = summary_of(&run_sync(&["run", "--as-of", &date.to_string()], &env));
        if RERUN.contains(&offset) {
            let first = change_log(&lake);
            let again = summary_of(&run_sync(&["run", "--as-of", &date.to_string()], &env));
            assert_eq!(
                again["changes"], summary["changes"],
                "a rerun finds the same changes"
            );
            assert_eq!(
                again["baseline_date"], summary["baseline_date"],
                "and the same baseline"
            );
            rerun_outputs.push((first, change_log(&lake)));
        }
        run_days.push(date);
    }
    for (before, after) in rerun_outputs {
        assert_eq!(
            before, after,
            "a rerun neither duplicates nor loses a change"
        );
    }

    let truth = history(&sim).await;
    let expected = oracle(&truth, &run_days);
    let actual = change_log(&lake);
    let kinds: BTreeSet<&str> = expected.iter().map(|k| k.2.as_str()).collect();
    for needed in ["appeared", "submitted", "approved", "reopened", "vanished"] {
        assert!(
            kinds.contains(needed),
            "the month exercises `{needed}`: {kinds:?}"
        );
    }
    let missing: Vec<_> = expected.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nextra: {extra:#?}"
    );

    // The last ledger holds every known event with its true status.
    let last = *run_days.last().unwrap();
    for (id, (status, close_date)) in ledger_at(&lake, last) {
        let truth = &truth[&last][&id];
        assert_eq!(
            (&truth.status, &truth.close_date),
            (&status, &close_date),
            "event {id}"
        );
    }

    // Every manifest is one JSON line naming its baseline; gaps widened the window.
    for (i, date) in run_days.iter().enumerate() {
        let text =
            std::fs::read_to_string(lake.join(format!("runs/run_date={date}/manifest.json")))
                .unwrap();
        assert_eq!(text.lines().count(), 1);
        let manifest: Value = serde_json::from_str(&text).unwrap();
        let baseline = i.checked_sub(1).map(|p| run_days[p].to_string());
        assert_eq!(
            manifest["baseline_date"].as_str().map(str::to_owned),
            baseline,
            "{date}"
        );
        let gap = i
            .checked_sub(1)
            .map_or(0, |p| (*date - run_days[p]).get_days() as i64);
        assert_eq!(manifest["past_days"], PAST_DAYS.max(gap + 1), "{date}");
    }

    // Replay rebuilds the same change log from the stored snapshots, without the API.
    std::fs::remove_dir_all(lake.join("changes")).unwrap();
    std::fs::remove_dir_all(lake.join("state")).unwrap();
    std::fs::remove_dir_all(lake.join("runs")).unwrap();
    let requests_before = sim.requests().await.len();
    let replay_env = [("PLANTRAK_DESTINATION", dest.as_str())];
    let summary = summary_of(&run_sync(
        &["replay", "--from", START, "--to", &last.to_string()],
        &replay_env,
    ));
    assert_eq!(summary["rebuilt"].as_array().unwrap().len(), run_days.len());
    assert_eq!(summary["skipped"].as_array().unwrap().len(), MISSED.len());
    assert_eq!(
        sim.requests().await.len(),
        requests_before,
        "replay calls no API"
    );
    assert_eq!(change_log(&lake), expected);
}

#[tokio::test]
async fn a_run_dated_before_the_newest_completed_run_is_refused() {
    let sim = Simulator::start(100, 4, START);
    let dir = tempfile::tempdir().unwrap();
    let (api, dest) = (sim.api_url(), dir.path().display().to_string());
    let env = [
        ("PLANTRAK_API_URL", api.as_str()),
        ("PLANTRAK_TOKEN", TOKEN),
        ("PLANTRAK_DESTINATION", dest.as_str()),
    ];
    summary_of(&run_sync(&["run", "--as-of", "2026-08-10"], &env));
    let before = tree(dir.path());

    let output = run_sync(&["run", "--as-of", "2026-08-09"], &env);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the run date `2026-08-09` is before `2026-08-10`"),
        "{stderr}"
    );
    assert!(stderr.contains("error_type: RunOutOfOrder"));
    assert_eq!(tree(dir.path()), before, "nothing is written");
}

#[tokio::test]
async fn a_failed_pull_leaves_no_change_log_and_the_next_run_catches_up() {
    let sim = Simulator::start(300, 12, "2026-08-01");
    let dir = tempfile::tempdir().unwrap();
    let (api, dest) = (sim.api_url(), dir.path().display().to_string());
    let env = [
        ("PLANTRAK_API_URL", api.as_str()),
        ("PLANTRAK_TOKEN", TOKEN),
        ("PLANTRAK_DESTINATION", dest.as_str()),
    ];
    summary_of(&run_sync(&["run", "--as-of", "2026-08-01"], &env));

    sim.set_date("2026-08-02").await;
    sim.add_faults(serde_json::json!([{"list": "holding", "fault": {"kind": "invalid_json"}}]))
        .await;
    let output = run_sync(&["run", "--as-of", "2026-08-02"], &env);
    assert_eq!(output.status.code(), Some(1));
    for dataset in ["changes/change_date", "state/state_date", "runs/run_date"] {
        assert!(
            !dir.path().join(format!("{dataset}=2026-08-02")).exists(),
            "{dataset}"
        );
    }

    sim.set_date("2026-08-03").await;
    let summary = summary_of(&run_sync(&["run", "--as-of", "2026-08-03"], &env));
    assert_eq!(summary["baseline_date"], "2026-08-01");
    assert_eq!(
        summary["past_days"], 3,
        "two days since the baseline, plus one"
    );
}
