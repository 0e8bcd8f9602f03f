//! The change log's files: one line per change, and the manifest that marks a run complete.
//!
//! Both are flat JSON objects with scalar values only, so Athena's Hive JSON SerDe reads them
//! and Power BI sees plain columns.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::diff::{Change, ChangeKind, Lookback, Notes};
use crate::event::{DESCRIPTIVE_FIELDS, Descriptive};

/// What every change line of one run shares.
pub struct RunContext<'a> {
    pub run_id: &'a str,
    pub change_date: Date,
    /// UTC, `yyyy-MM-dd HH:mm:ss.SSS`.
    pub detected_at: &'a str,
    pub baseline_date: Option<Date>,
}

/// Appends one line per change to `out`, with the event's descriptive fields from
/// `descriptive` (all `null` for an event no record describes).
pub fn write_changes(
    changes: &[Change],
    descriptive: &HashMap<i64, Descriptive>,
    run: &RunContext<'_>,
    out: &mut Vec<u8>,
) {
    let unknown = Descriptive::unknown();
    for change in changes {
        let mut line = Map::new();
        line.insert("change_id".into(), change.change_id(run.change_date).into());
        line.insert("change_date".into(), run.change_date.to_string().into());
        line.insert("detected_at".into(), run.detected_at.into());
        line.insert("baseline_date".into(), date_value(run.baseline_date));
        line.insert("run_id".into(), run.run_id.into());
        line.insert("event_id".into(), change.event_id.into());
        line.insert("kind".into(), change.kind.as_str().into());
        line.insert(
            "from_status".into(),
            change.from_status.map(|s| s.as_str()).into(),
        );
        line.insert(
            "to_status".into(),
            change.to_status.map(|s| s.as_str()).into(),
        );
        line.insert("from_is_closed".into(), change.from_is_closed.into());
        line.insert("to_is_closed".into(), change.to_is_closed.into());
        line.insert("from_close_date".into(), date_value(change.from_close_date));
        line.insert("to_close_date".into(), date_value(change.to_close_date));
        let fields = descriptive.get(&change.event_id).unwrap_or(&unknown);
        for (name, value) in DESCRIPTIVE_FIELDS.iter().zip(&fields.0) {
            let flat = match value {
                Value::Array(_) | Value::Object(_) => Value::String(value.to_string()),
                scalar => scalar.clone(),
            };
            line.insert((*name).into(), flat);
        }
        serde_json::to_writer(&mut *out, &line).expect("writing to a Vec cannot fail");
        out.push(b'\n');
    }
}

fn date_value(date: Option<Date>) -> Value {
    date.map_or(Value::Null, |d| Value::String(d.to_string()))
}

/// Changes per kind, every kind present (zero when none).
pub fn count_kinds(changes: &[Change]) -> BTreeMap<&'static str, u64> {
    let mut counts: BTreeMap<&'static str, u64> =
        ALL_KINDS.iter().map(|k| (k.as_str(), 0)).collect();
    for change in changes {
        *counts.entry(change.kind.as_str()).or_default() += 1;
    }
    counts
}

/// Every change kind, in the manifest's column order.
pub const ALL_KINDS: [ChangeKind; 7] = [
    ChangeKind::Appeared,
    ChangeKind::Submitted,
    ChangeKind::Approved,
    ChangeKind::Closed,
    ChangeKind::Reopened,
    ChangeKind::CloseDateChanged,
    ChangeKind::Vanished,
];

/// The run's manifest: one JSON object on one line, written last.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub run_id: String,
    pub as_of: Date,
    pub baseline_date: Option<Date>,
    pub timezone: String,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    pub past_days_configured: u16,
    pub past_days: u16,
    pub gap_days: Option<i64>,
    pub gap_exceeds_window: bool,
    pub reconciliation_past_days: Option<u16>,
    pub events_open: u64,
    pub events_holding: u64,
    pub events_recent_closed: u64,
    pub events_reconciliation: u64,
    pub ledger_events: u64,
    /// Results set aside in the rejects file.
    pub rejects_total: u64,
    pub changes_total: u64,
    pub changes_appeared: u64,
    pub changes_submitted: u64,
    pub changes_approved: u64,
    pub changes_closed: u64,
    pub changes_reopened: u64,
    pub changes_close_date_changed: u64,
    pub changes_vanished: u64,
    pub quality_in_two_lists: u64,
    pub quality_repeated_in_list: u64,
    pub quality_wrong_list: u64,
    pub quality_closed_without_date: u64,
    pub quality_closed_kept: u64,
    pub quality_candidates: u64,
    pub quality_reconciled: u64,
    pub quality_reconciliation_ignored: u64,
    /// Sentences for a person, joined by `; `; `None` when there is nothing to say.
    pub notes: Option<String>,
    pub compression: &'static str,
    pub program_version: &'static str,
}

impl Manifest {
    /// A manifest with every count zero, to fill in.
    pub fn empty() -> Manifest {
        Manifest {
            run_id: String::new(),
            as_of: Date::default(),
            baseline_date: None,
            timezone: String::new(),
            started_at: String::new(),
            finished_at: String::new(),
            duration_ms: 0,
            past_days_configured: 0,
            past_days: 0,
            gap_days: None,
            gap_exceeds_window: false,
            reconciliation_past_days: None,
            events_open: 0,
            events_holding: 0,
            events_recent_closed: 0,
            events_reconciliation: 0,
            ledger_events: 0,
            rejects_total: 0,
            changes_total: 0,
            changes_appeared: 0,
            changes_submitted: 0,
            changes_approved: 0,
            changes_closed: 0,
            changes_reopened: 0,
            changes_close_date_changed: 0,
            changes_vanished: 0,
            quality_in_two_lists: 0,
            quality_repeated_in_list: 0,
            quality_wrong_list: 0,
            quality_closed_without_date: 0,
            quality_closed_kept: 0,
            quality_candidates: 0,
            quality_reconciled: 0,
            quality_reconciliation_ignored: 0,
            notes: None,
            compression: "gzip",
            program_version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// Fills the change and quality columns.
    pub fn set_counts(&mut self, kinds: &BTreeMap<&'static str, u64>, notes: &Notes) {
        let kind = |name: &str| kinds.get(name).copied().unwrap_or(0);
        self.changes_total = kinds.values().sum();
        self.changes_appeared = kind("appeared");
        self.changes_submitted = kind("submitted");
        self.changes_approved = kind("approved");
        self.changes_closed = kind("closed");
        self.changes_reopened = kind("reopened");
        self.changes_close_date_changed = kind("close_date_changed");
        self.changes_vanished = kind("vanished");
        self.quality_in_two_lists = notes.in_two_lists;
        self.quality_repeated_in_list = notes.repeated_in_list;
        self.quality_wrong_list = notes.wrong_list;
        self.quality_closed_without_date = notes.closed_without_date;
        self.quality_closed_kept = notes.closed_kept;
        self.quality_candidates = notes.candidates;
        self.quality_reconciled = notes.reconciled;
        self.quality_reconciliation_ignored = notes.reconciliation_ignored;
    }

    /// The manifest's one line, with a trailing newline.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).expect("a manifest always serialises");
        line.push(b'\n');
        line
    }
}

/// The sentences a run's data-quality notes hold.
pub fn quality_sentences(lookback: &Lookback, notes: &Notes, extra: &[String]) -> Vec<String> {
    let mut sentences: Vec<String> = Vec::new();
    if lookback.gap_exceeds_window {
        sentences.push(format!(
            "{} days since the last completed run exceed the API's 180-day window: \
             events submitted and approved early in the gap may be missing",
            lookback.gap_days.unwrap_or_default()
        ));
    }
    if notes.in_two_lists > 0 {
        sentences.push(format!(
            "{} events were in two lists (they moved between the pulls); the later status was kept",
            notes.in_two_lists
        ));
    }
    if notes.wrong_list > 0 {
        sentences.push(format!(
            "{} results had fields that contradict the list they came from",
            notes.wrong_list
        ));
    }
    if notes.repeated_in_list > 0 {
        sentences.push(format!(
            "{} results were repeated within one list",
            notes.repeated_in_list
        ));
    }
    sentences.extend(extra.iter().cloned());
    sentences
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Status;
    use jiff::civil::date;
    use serde_json::json;

    fn change(kind: ChangeKind) -> Change {
        Change {
            event_id: 41,
            kind,
            from_status: Some(Status::Open),
            to_status: Some(Status::Holding),
            from_is_closed: Some(false),
            to_is_closed: Some(false),
            from_close_date: None,
            to_close_date: Some(date(2026, 12, 2)),
        }
    }

    #[test]
    fn a_change_line_is_flat_and_ordered() {
        let fields = json!({"facility_id": 498, "facility_name": "Cincinnati, OH", "due_date": "2026-12-31", "is_overdue": false});
        let descriptive =
            HashMap::from([(41, Descriptive::from_fields(fields.as_object().unwrap()))]);
        let run = RunContext {
            run_id: "r1",
            change_date: date(2026, 12, 3),
            detected_at: "2026-12-03 06:00:00.000",
            baseline_date: Some(date(2026, 12, 2)),
        };
        let mut out = Vec::new();
        write_changes(
            &[change(ChangeKind::Submitted)],
            &descriptive,
            &run,
            &mut out,
        );
        let line: Map<String, Value> = serde_json::from_slice(&out).unwrap();
        let keys: Vec<&str> = line.keys().map(String::as_str).collect();
        assert_eq!(
            &keys[..7],
            [
                "change_id",
                "change_date",
                "detected_at",
                "baseline_date",
                "run_id",
                "event_id",
                "kind"
            ]
        );
        assert_eq!(line["kind"], "submitted");
        assert_eq!(line["from_status"], "open");
        assert_eq!(line["to_close_date"], "2026-12-02");
        assert_eq!(line["from_close_date"], Value::Null);
        assert_eq!(line["facility_name"], "Cincinnati, OH");
        assert_eq!(line["area_name"], Value::Null);
        assert_eq!(
            line["change_id"],
            change(ChangeKind::Submitted).change_id(date(2026, 12, 3))
        );
        assert!(line.values().all(|v| !v.is_array() && !v.is_object()));
    }

    #[test]
    fn every_kind_is_counted_even_when_zero() {
        let counts = count_kinds(&[change(ChangeKind::Submitted), change(ChangeKind::Submitted)]);
        assert_eq!(counts.len(), 7);
        assert_eq!(counts["submitted"], 2);
        assert_eq!(counts["vanished"], 0);
    }
}
