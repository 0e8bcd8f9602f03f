//! One downloaded response, checked and turned into what a run writes and compares: the raw
//! file, the snapshot file, one observation per event, and the results set aside.
//!
//! The response is read back from its spool and the snapshot written to another, so memory
//! holds one result at a time. Nothing here touches the destination.

use std::io::Write;

use serde_json::{Map, Value};

use crate::api::response;
use crate::api::{Download, SpoolTarget};
use crate::diff::Observation;
use crate::event::Rejected;
use crate::layout::RECONCILIATION;
use crate::ledger::LedgerEntry;
use crate::spool::{Spool, SpoolWriter};
use crate::sync::{SyncError, snapshot_time};

/// One pull, checked and ready to write.
pub struct Pulled {
    /// The `event_type` folder: a list, or the reconciliation pull.
    pub name: &'static str,
    /// The response, as the raw object.
    pub raw: Spool,
    /// `None` for the reconciliation pull, which has no snapshot of its own.
    pub snapshot: Option<Spool>,
    /// Results in the response, rejected ones included.
    pub results: u64,
    pub response_bytes: u64,
    pub attempts: u32,
    pub pulled_at: jiff::Timestamp,
}

/// What the pulls of one run tell the diff, gathered across pulls.
#[derive(Default)]
pub struct Seen {
    pub observations: Vec<Observation>,
    pub reconciliation: Vec<Observation>,
    /// One line per result set aside.
    pub rejects: Vec<u8>,
    pub reject_count: u64,
    /// Sentences for the manifest's notes.
    pub remarks: Vec<String>,
}

/// Which pull a response answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// One of the three daily lists.
    List,
    /// The 180-day recently-closed pull that reconciles vanish candidates.
    Reconciliation,
}

/// Checks `download` and flattens it. `ledger` is the baseline (sorted by id); `run_id` goes
/// into reject lines.
pub fn flatten(
    download: Download,
    purpose: Purpose,
    target: &SpoolTarget,
    ledger: &[LedgerEntry],
    seen: &mut Seen,
    run_id: &str,
) -> Result<Pulled, SyncError> {
    let list = download.list;
    let name = match purpose {
        Purpose::List => list.as_str(),
        Purpose::Reconciliation => RECONCILIATION,
    };
    let local = |err: std::io::Error| SyncError::Spool {
        cause: err.to_string(),
    };
    let snapshot_at = snapshot_time(download.pulled_at);
    let mut snapshot = match purpose {
        Purpose::List => Some(SpoolWriter::new(&target.dir, target.compression).map_err(local)?),
        Purpose::Reconciliation => None,
    };
    let mut line = Vec::with_capacity(1024);
    let mut write_error = None;
    let Seen {
        observations,
        reconciliation,
        rejects,
        reject_count,
        ..
    } = seen;
    let observations = match purpose {
        Purpose::List => observations,
        Purpose::Reconciliation => reconciliation,
    };

    let body = download.body.reader().map_err(local)?;
    let results = response::parse_reader(body, list, &mut |result| {
        let event = match result {
            Ok(event) => event,
            Err((index, rejected)) => {
                // A known event whose record is unreadable today keeps its ledger state:
                // it was listed, so it has neither changed nor vanished.
                if let Some(entry) = rejected.event_id().and_then(|id| find(ledger, id)) {
                    observations.push(Observation {
                        event_id: entry.event_id,
                        list,
                        is_closed: entry.is_closed,
                        close_date: entry.close_date,
                    });
                }
                write_reject(name, index, &rejected, run_id, &snapshot_at, rejects);
                *reject_count += 1;
                return;
            }
        };
        observations.push(Observation {
            event_id: event.event_id,
            list,
            is_closed: event.is_closed,
            close_date: event.close_date,
        });
        if let Some(out) = snapshot.as_mut() {
            line.clear();
            event.write_snapshot_line(&snapshot_at, &mut line);
            if let Err(err) = out.write_all(&line) {
                write_error.get_or_insert(err);
            }
        }
    })
    .map_err(|source| SyncError::InvalidResponse { list, source })?;
    if let Some(err) = write_error {
        return Err(local(err));
    }

    tracing::info!(pull = name, results, "checked");
    Ok(Pulled {
        name,
        snapshot: snapshot
            .map(SpoolWriter::finish)
            .transpose()
            .map_err(local)?,
        raw: download.body,
        results,
        response_bytes: download.bytes,
        attempts: download.attempts,
        pulled_at: download.pulled_at,
    })
}

fn find(ledger: &[LedgerEntry], event_id: i64) -> Option<&LedgerEntry> {
    let index = ledger
        .binary_search_by_key(&event_id, |entry| entry.event_id)
        .ok()?;
    Some(&ledger[index])
}

/// One line of the rejects file: where the result came from, why it was set aside, and the
/// result itself as a JSON string.
fn write_reject(
    pull: &str,
    index: u64,
    rejected: &Rejected,
    run_id: &str,
    detected_at: &str,
    out: &mut Vec<u8>,
) {
    let mut line = Map::new();
    line.insert("detected_at".into(), detected_at.into());
    line.insert("run_id".into(), run_id.into());
    line.insert("event_type".into(), pull.into());
    line.insert("result_index".into(), index.into());
    line.insert(
        "event_id".into(),
        rejected.event_id().map_or(Value::Null, Value::from),
    );
    line.insert("reason".into(), rejected.error.to_string().into());
    line.insert("record".into(), rejected.record.to_string().into());
    serde_json::to_writer(&mut *out, &line).expect("writing to a Vec cannot fail");
    out.push(b'\n');
}
