//! The change log's files: one line per change, and the manifest that marks a run complete.
//!
//! Both are flat JSON objects with scalar values only, so Athena's Hive JSON SerDe reads them
//! and Power BI sees plain columns.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, BufReader, Read, Write};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::response;
use crate::diff::{Change, ChangeKind, Lookback, Notes};
use crate::event::{DESCRIPTIVE_FIELDS, Descriptive, Status};

/// What every change line of one run shares.
pub struct RunContext<'a> {
    pub run_id: &'a str,
    pub change_date: Date,
    /// UTC, `yyyy-MM-dd HH:mm:ss.SSS`.
    pub detected_at: &'a str,
    pub baseline_date: Option<Date>,
}

/// Where the descriptive fields of changed events are looked up, in order.
pub enum Source {
    /// Snapshot lines of today's lists.
    Snapshot(Box<dyn Read + Send>),
    /// A response of today's (the reconciliation pull), as the API sent it.
    Response(Box<dyn Read + Send>),
    /// Snapshot lines of the baseline's date, for vanished events.
    Baseline(Box<dyn Read + Send>),
}

/// Writes one line per change to `out`. Each change takes its descriptive fields from the
/// first record in `sources` that shows its new status (for a vanished event, from the
/// baseline's snapshots); a change no record describes has them `null`. Lines come in the
/// order records are found, then the undescribed ones; the same inputs give the same file.
pub fn write_changes(
    changes: &[Change],
    sources: Vec<Source>,
    run: &RunContext<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let index: HashMap<i64, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, change)| (change.event_id, i))
        .collect();
    let mut done = vec![false; changes.len()];
    // A record is offered with its id and status; its fields are read only when it
    // describes a change not yet written.
    let mut offer = |event_id: Option<i64>,
                     status: Option<Status>,
                     baseline: bool,
                     describe: &mut dyn FnMut() -> Descriptive| {
        let Some(&i) = event_id.and_then(|id| index.get(&id)) else {
            return Ok(());
        };
        let change = &changes[i];
        let vanished = change.kind == ChangeKind::Vanished;
        let matches = if vanished {
            baseline
        } else {
            !baseline && status == change.to_status
        };
        if done[i] || !matches {
            return Ok(());
        }
        done[i] = true;
        write_line(change, &describe(), run, out)
    };

    for source in sources {
        match source {
            Source::Snapshot(reader) => for_each_line(reader, |line| {
                let (id, status) = (line.event_id, line.status);
                offer(id, status, false, &mut || line.descriptive())
            })?,
            Source::Baseline(reader) => for_each_line(reader, |line| {
                offer(line.event_id, None, true, &mut || line.descriptive())
            })?,
            Source::Response(reader) => {
                let mut failed = None;
                let list = crate::event::EventList::RecentClosed;
                let parsed = response::parse_reader(reader, list, &mut |result| {
                    if let (Ok(event), None) = (result, &failed) {
                        let (id, status) = (Some(event.event_id), Some(event.status));
                        let mut describe = || event.descriptive();
                        failed = offer(id, status, false, &mut describe).err();
                    }
                });
                parsed.map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))?;
                if let Some(err) = failed {
                    return Err(err);
                }
            }
        }
    }

    let unknown = Descriptive::unknown();
    for (change, _) in changes.iter().zip(&done).filter(|(_, done)| !**done) {
        write_line(change, &unknown, run, out)?;
    }
    Ok(())
}

/// The parts of a snapshot line a change line needs; serde skips the other fields without
/// building them.
#[derive(Deserialize, Default)]
#[serde(default)]
struct DescribedLine {
    event_id: Option<i64>,
    status: Option<Status>,
    facility_id: Value,
    facility_name: Value,
    area_id: Value,
    area_name: Value,
    type_id: Value,
    type_name: Value,
    assignment_id: Value,
    assignment_name: Value,
    event_activity: Value,
    due_date: Value,
    is_overdue: Value,
}

impl DescribedLine {
    /// The fields in [`DESCRIPTIVE_FIELDS`] order.
    fn descriptive(&self) -> Descriptive {
        Descriptive(vec![
            self.facility_id.clone(),
            self.facility_name.clone(),
            self.area_id.clone(),
            self.area_name.clone(),
            self.type_id.clone(),
            self.type_name.clone(),
            self.assignment_id.clone(),
            self.assignment_name.clone(),
            self.event_activity.clone(),
            self.due_date.clone(),
            self.is_overdue.clone(),
        ])
    }
}

/// Calls `each` with every line of a JSON-lines stream of snapshot lines.
fn for_each_line(
    reader: Box<dyn Read + Send>,
    mut each: impl FnMut(DescribedLine) -> io::Result<()>,
) -> io::Result<()> {
    for line in BufReader::with_capacity(256 * 1024, reader).split(b'\n') {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        let fields = serde_json::from_slice(&line)
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))?;
        each(fields)?;
    }
    Ok(())
}

fn write_line(
    change: &Change,
    fields: &Descriptive,
    run: &RunContext<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
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
    for (name, value) in DESCRIPTIVE_FIELDS.iter().zip(&fields.0) {
        let flat = match value {
            Value::Array(_) | Value::Object(_) => Value::String(value.to_string()),
            scalar => scalar.clone(),
        };
        line.insert((*name).into(), flat);
    }
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

fn date_value(date: Option<Date>) -> Value {
    date.map_or(Value::Null, |d| Value::String(d.to_string()))
}

/// Changes per kind, every kind present (zero when none).
pub fn count_kinds(changes: &[Change]) -> BTreeMap<&'static str, u64> {
    let mut counts: BTreeMap<&'static str, u64> =
        ChangeKind::ALL.iter().map(|k| (k.as_str(), 0)).collect();
    for change in changes {
        *counts.entry(change.kind.as_str()).or_default() += 1;
    }
    counts
}

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
        let mut snapshot_line = fields.as_object().unwrap().clone();
        snapshot_line.insert("event_id".into(), 41.into());
        snapshot_line.insert("status".into(), "holding".into());
        let text = format!("{}\n", Value::Object(snapshot_line));
        let source = Source::Snapshot(Box::new(std::io::Cursor::new(text)));
        let run = RunContext {
            run_id: "r1",
            change_date: date(2026, 12, 3),
            detected_at: "2026-12-03 06:00:00.000",
            baseline_date: Some(date(2026, 12, 2)),
        };
        let mut out = Vec::new();
        write_changes(
            &[change(ChangeKind::Submitted)],
            vec![source],
            &run,
            &mut out,
        )
        .unwrap();
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
    fn a_snapshot_line_describes_an_event_like_its_fields_do() {
        let mut fields = Map::new();
        for (i, name) in DESCRIPTIVE_FIELDS.iter().enumerate() {
            fields.insert((*name).into(), format!("value {i}").into());
        }
        fields.insert("event_id".into(), 9.into());
        fields.insert("status".into(), "open".into());
        let line: DescribedLine = serde_json::from_value(Value::Object(fields.clone())).unwrap();
        assert_eq!(line.descriptive(), Descriptive::from_fields(&fields));
        assert_eq!((line.event_id, line.status), (Some(9), Some(Status::Open)));
    }

    #[test]
    fn every_kind_is_counted_even_when_zero() {
        let counts = count_kinds(&[change(ChangeKind::Submitted), change(ChangeKind::Submitted)]);
        assert_eq!(counts.len(), 7);
        assert_eq!(counts["submitted"], 2);
        assert_eq!(counts["vanished"], 0);
    }
}
