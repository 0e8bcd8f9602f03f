//! CloudWatch figures for each Lambda run, in the embedded metric format: one JSON line on
//! stdout that CloudWatch Logs turns into metrics in the `PlanTRAKSync` namespace, without
//! any API call from the function.
//!
//! Metrics carry no dimensions, so an alarm reads them by name alone: `RunSucceeded` is 1 for
//! a completed run and `RunFailed` 1 for a failed one (with its `error_type` as a property),
//! alongside events per list, changes per kind, rejects, data-quality notes and duration.

use serde_json::{Map, Value, json};

use crate::diff::ChangeKind;
use crate::sync::{Summary, SyncError};

/// The CloudWatch namespace of every figure.
pub const NAMESPACE: &str = "PlanTRAKSync";

/// The metric line of a completed run.
pub fn success_line(summary: &Summary, now_ms: i64) -> String {
    let events = |list: &str| summary.lists.get(list).map_or(0, |l| l.events);
    let mut figures = vec![
        ("RunSucceeded", 1, "Count"),
        ("RunFailed", 0, "Count"),
        ("EventsOpen", events("open"), "Count"),
        ("EventsHolding", events("holding"), "Count"),
        ("EventsRecentClosed", events("recent_closed"), "Count"),
        ("Rejects", summary.rejects, "Count"),
        ("QualityNotes", summary.notes.len() as u64, "Count"),
        ("DurationMs", summary.duration_ms, "Milliseconds"),
    ];
    let total = summary.changes.values().sum();
    figures.push(("ChangesTotal", total, "Count"));
    let mut names = Vec::new();
    for kind in ChangeKind::ALL {
        names.push((
            format!("Changes{}", camel(kind.as_str())),
            summary.changes.get(kind.as_str()).copied().unwrap_or(0),
        ));
    }
    let mut properties = Map::new();
    properties.insert("run_id".into(), summary.run_id.clone().into());
    properties.insert("as_of".into(), summary.as_of.to_string().into());
    line(&figures, &names, properties, now_ms)
}

/// The metric line of a failed run.
pub fn failure_line(error: &SyncError, now_ms: i64) -> String {
    let figures = [("RunSucceeded", 0, "Count"), ("RunFailed", 1, "Count")];
    let mut properties = Map::new();
    properties.insert("error_type".into(), error.error_type().into());
    line(&figures, &[], properties, now_ms)
}

fn line(
    figures: &[(&str, u64, &str)],
    counts: &[(String, u64)],
    mut properties: Map<String, Value>,
    now_ms: i64,
) -> String {
    let mut definitions = Vec::new();
    for (name, value, unit) in figures {
        definitions.push(json!({"Name": name, "Unit": unit}));
        properties.insert((*name).to_owned(), (*value).into());
    }
    for (name, value) in counts {
        definitions.push(json!({"Name": name, "Unit": "Count"}));
        properties.insert(name.clone(), (*value).into());
    }
    properties.insert(
        "_aws".into(),
        json!({
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [[]], "Metrics": definitions}],
        }),
    );
    Value::Object(properties).to_string()
}

/// `close_date_changed` → `CloseDateChanged`.
fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::ListSummary;
    use std::collections::BTreeMap;

    #[test]
    fn a_success_line_declares_every_figure_it_carries() {
        let list = ListSummary {
            events: 7,
            response_bytes: 10,
            attempts: 1,
            pulled_at: String::new(),
        };
        let summary = Summary {
            run_id: "r".into(),
            as_of: jiff::civil::date(2026, 12, 3),
            baseline_date: None,
            timezone: "UTC".into(),
            past_days: 3,
            destination: "d".into(),
            lists: BTreeMap::from([("open", list)]),
            changes: crate::changelog::count_kinds(&[]),
            reconciliation_pulled: false,
            ledger_events: 7,
            rejects: 2,
            notes: vec!["one".into()],
            objects_written: vec![],
            objects_removed: vec![],
            duration_ms: 120,
        };
        let line: Value = serde_json::from_str(&success_line(&summary, 1_000)).unwrap();
        let definitions = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        for definition in definitions {
            let name = definition["Name"].as_str().unwrap();
            assert!(line[name].is_u64(), "{name} has a value");
        }
        assert_eq!(line["RunSucceeded"], 1);
        assert_eq!(line["EventsOpen"], 7);
        assert_eq!(line["ChangesCloseDateChanged"], 0);
        assert_eq!(line["Rejects"], 2);
        assert_eq!(line["QualityNotes"], 1);
    }

    #[test]
    fn a_failure_line_names_the_error_type() {
        let error = SyncError::CorruptState {
            location: "x".into(),
            cause: "y".into(),
        };
        let line: Value = serde_json::from_str(&failure_line(&error, 5)).unwrap();
        assert_eq!(line["RunFailed"], 1);
        assert_eq!(line["RunSucceeded"], 0);
        assert_eq!(line["error_type"], "CorruptState");
    }
}
