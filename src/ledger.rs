//! The ledger: what the sync knows about every event it has seen, one compact entry each.
//!
//! The ledger is the state one run hands to the next. The diff reads the previous run's
//! ledger as its baseline and writes a new one. It is stored as JSON lines, one entry a line,
//! sorted by `event_id`, keys in the order of [`LedgerEntry`]'s fields:
//!
//! ```text
//! {"event_id":7,"status":"holding","is_closed":false,"close_date":"2026-03-02",
//!  "first_seen":"2026-02-20","last_seen":"2026-03-04","status_since":"2026-03-03"}
//! ```
//!
//! (shown on two lines here; it is one line in the file). An entry is 32 bytes in memory, so
//! a ledger of a million events fits in 32 MB.

use std::io::{self, BufRead, Write};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::event::Status;

/// What the sync knows about one event after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerEntry {
    /// The vendor's event identifier.
    pub event_id: i64,
    /// The lifecycle status last observed; always the one `is_closed` and `close_date` give.
    pub status: Status,
    /// `is_closed` as last observed.
    pub is_closed: bool,
    /// `close_date` (the submission date) as last observed.
    pub close_date: Option<Date>,
    /// The run date the event was first seen on.
    pub first_seen: Date,
    /// The latest run date the event was seen in any list, the reconciliation pull included.
    pub last_seen: Date,
    /// The run date the current status was first observed on.
    pub status_since: Date,
}

/// Why bytes cannot be read as a ledger.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger line {line} could not be read")]
    Read {
        line: usize,
        #[source]
        source: io::Error,
    },
    #[error("ledger line {line} is not a valid entry")]
    Parse {
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("ledger line {line} has event `{event_id}` after event `{previous}`, not in id order")]
    OutOfOrder {
        line: usize,
        event_id: i64,
        previous: i64,
    },
    #[error("ledger line {line} gives event `{event_id}` status `{status}`, its fields `{fields}`")]
    StatusMismatch {
        line: usize,
        event_id: i64,
        status: Status,
        fields: Status,
    },
}

/// Appends the ledger's JSON lines to `out`, sorted by `event_id` whatever the input order.
///
/// `entries` must not repeat an id (a ledger from the diff never does); a repeated id would
/// be written twice and [`read_ledger`] would then reject the file.
pub fn write_ledger(entries: &[LedgerEntry], out: &mut impl Write) -> io::Result<()> {
    let mut sorted: Vec<&LedgerEntry> = entries.iter().collect();
    sorted.sort_by_key(|entry| entry.event_id);

    for entry in sorted {
        serde_json::to_writer(&mut *out, entry)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Reads a ledger written by [`write_ledger`]. Lines are numbered from 1 in errors.
///
/// Every line must be an entry: a blank line is an error, except that the final newline may
/// be missing. Ids must be strictly increasing, and each status must match its fields, so
/// the entries returned are sorted, unique and consistent.
pub fn read_ledger(reader: impl BufRead) -> Result<Vec<LedgerEntry>, LedgerError> {
    let mut entries: Vec<LedgerEntry> = Vec::new();
    let mut lines = reader.split(b'\n').enumerate().peekable();
    while let Some((index, text)) = lines.next() {
        let line = index + 1;
        let text = text.map_err(|source| LedgerError::Read { line, source })?;
        // A file holding only a newline is an empty ledger.
        if text.is_empty() && index == 0 && lines.peek().is_none() {
            break;
        }
        let entry: LedgerEntry =
            serde_json::from_slice(&text).map_err(|source| LedgerError::Parse { line, source })?;

        if let Some(previous) = entries.last().map(|last| last.event_id) {
            if entry.event_id <= previous {
                return Err(LedgerError::OutOfOrder {
                    line,
                    event_id: entry.event_id,
                    previous,
                });
            }
        }

        // `from_fields` only asks whether a close date is present.
        let fields = Status::from_fields(entry.is_closed, entry.close_date.map(|_| ""));
        if fields != entry.status {
            return Err(LedgerError::StatusMismatch {
                line,
                event_id: entry.event_id,
                status: entry.status,
                fields,
            });
        }

        entries.push(entry);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn entry(event_id: i64, status: Status, close_date: Option<Date>) -> LedgerEntry {
        LedgerEntry {
            event_id,
            status,
            is_closed: status == Status::Closed,
            close_date,
            first_seen: date(2026, 2, 20),
            last_seen: date(2026, 3, 4),
            status_since: date(2026, 3, 3),
        }
    }

    fn sample() -> Vec<LedgerEntry> {
        vec![
            entry(31, Status::Closed, Some(date(2026, 1, 5))),
            entry(7, Status::Holding, Some(date(2026, 3, 2))),
            entry(12, Status::Open, None),
        ]
    }

    #[test]
    fn ledger_round_trips_through_write_and_read() {
        let mut out = Vec::new();
        write_ledger(&sample(), &mut out).unwrap();

        let mut expected = sample();
        expected.sort_by_key(|entry| entry.event_id);
        assert_eq!(read_ledger(&out[..]).unwrap(), expected);
    }

    #[test]
    fn written_lines_are_sorted_by_id_with_keys_in_field_order() {
        let mut out = Vec::new();
        write_ledger(&sample(), &mut out).unwrap();

        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(text.ends_with('\n'));
        assert_eq!(
            lines[0],
            concat!(
                r#"{"event_id":7,"status":"holding","is_closed":false,"#,
                r#""close_date":"2026-03-02","first_seen":"2026-02-20","#,
                r#""last_seen":"2026-03-04","status_since":"2026-03-03"}"#,
            )
        );
        assert!(
            lines[1].starts_with(
                r#"{"event_id":12,"status":"open","is_closed":false,"close_date":null,"#
            )
        );
        assert!(lines[2].starts_with(r#"{"event_id":31,"status":"closed","is_closed":true,"#));
    }

    #[test]
    fn empty_ledger_reads_as_no_entries_and_final_newline_is_optional() {
        assert!(read_ledger(&b""[..]).unwrap().is_empty());
        assert!(read_ledger(&b"\n"[..]).is_ok());

        let mut out = Vec::new();
        write_ledger(&sample(), &mut out).unwrap();
        out.pop();
        assert_eq!(read_ledger(&out[..]).unwrap().len(), 3);
    }

    #[test]
    fn bad_line_is_reported_with_its_number() {
        let mut out = Vec::new();
        write_ledger(&sample()[..1], &mut out).unwrap();
        out.extend_from_slice(b"{\"event_id\":40}\n");

        let err = read_ledger(&out[..]).unwrap_err();
        assert!(matches!(err, LedgerError::Parse { line: 2, .. }), "{err:?}");
        assert_eq!(err.to_string(), "ledger line 2 is not a valid entry");

        let blank = read_ledger(&b"\n\n"[..]).unwrap_err();
        assert!(
            matches!(blank, LedgerError::Parse { line: 1, .. }),
            "{blank:?}"
        );
    }

    #[test]
    fn unknown_keys_and_bad_dates_are_rejected() {
        let mut out = Vec::new();
        write_ledger(&sample()[..1], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();

        let extra = text.replace("}\n", ",\"note\":1}\n");
        assert!(read_ledger(extra.as_bytes()).is_err());
        let bad_date = text.replace("2026-01-05", "2026-13-05");
        assert!(read_ledger(bad_date.as_bytes()).is_err());
    }

    #[test]
    fn ids_out_of_order_or_repeated_are_rejected() {
        let first = entry(12, Status::Open, None);
        for second in [entry(7, Status::Open, None), entry(12, Status::Open, None)] {
            let mut out = Vec::new();
            serde_json::to_writer(&mut out, &first).unwrap();
            out.push(b'\n');
            serde_json::to_writer(&mut out, &second).unwrap();

            let err = read_ledger(&out[..]).unwrap_err();
            assert!(matches!(
                err,
                LedgerError::OutOfOrder {
                    line: 2,
                    previous: 12,
                    ..
                }
            ));
        }
    }

    #[test]
    fn status_contradicting_its_fields_is_rejected() {
        let wrong = entry(5, Status::Holding, None);
        let mut out = Vec::new();
        write_ledger(&[wrong], &mut out).unwrap();

        let err = read_ledger(&out[..]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ledger line 1 gives event `5` status `holding`, its fields `open`"
        );
    }

    #[test]
    fn entry_stays_compact() {
        assert!(
            size_of::<LedgerEntry>() <= 32,
            "{}",
            size_of::<LedgerEntry>()
        );
    }
}
