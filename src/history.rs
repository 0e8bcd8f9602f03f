//! Reading what earlier runs left: which dates completed (a manifest exists), the ledger a run
//! compares with, and stored snapshots (for the descriptive fields of vanished events, and for
//! rebuilding the change log without calling the API).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};

use flate2::read::MultiGzDecoder;

use jiff::civil::Date;
use serde_json::{Map, Value};

use crate::diff::Observation;
use crate::event::{EventList, parse_date};
use crate::layout::{Layout, is_gzip};
use crate::ledger::{LedgerEntry, read_ledger};
use crate::store::Store;
use crate::sync::SyncError;

/// The dates whose run completed, oldest first.
pub async fn completed_runs(store: &Store, layout: &Layout) -> Result<BTreeSet<Date>, SyncError> {
    let keys = store.list(&layout.runs_root()).await?;
    Ok(keys
        .iter()
        .filter_map(|key| layout.manifest_date(key))
        .collect())
}

/// The baseline of a run for `as_of`: the newest completed run before it. A run dated before
/// the newest completed run is refused, since its ledger would rewrite history that later
/// runs already built on.
pub fn baseline_for(completed: &BTreeSet<Date>, as_of: Date) -> Result<Option<Date>, SyncError> {
    if let Some(&newest) = completed.last() {
        if as_of < newest {
            return Err(SyncError::OutOfOrder { as_of, newest });
        }
    }
    Ok(completed.range(..as_of).next_back().copied())
}

/// The one object in `partition` as a stream of its plain bytes (gunzipped when its key says
/// so), with its key; `None` when the folder is empty.
pub async fn open_partition(
    store: &Store,
    partition: &str,
) -> Result<Option<(String, Box<dyn Read + Send>)>, SyncError> {
    let keys = store.list(partition).await?;
    let Some(key) = keys.into_iter().next() else {
        return Ok(None);
    };
    let Some(stored) = store.open(&key).await? else {
        return Ok(None);
    };
    let plain: Box<dyn Read + Send> = if is_gzip(&key) {
        Box::new(BufReader::with_capacity(
            256 * 1024,
            MultiGzDecoder::new(stored),
        ))
    } else {
        stored
    };
    Ok(Some((key, plain)))
}

/// The ledger written by the run for `date`, read as a stream.
pub async fn ledger_of(
    store: &Store,
    layout: &Layout,
    date: Date,
) -> Result<Vec<LedgerEntry>, SyncError> {
    let partition = layout.state_partition(date);
    let (key, reader) = open_partition(store, &partition)
        .await?
        .ok_or_else(|| corrupt(&partition, "the run completed but its ledger is missing"))?;
    let ledger = tokio::task::block_in_place(|| read_ledger(BufReader::new(reader)));
    ledger.map_err(|err| corrupt(&key, &error_chain(&err)))
}

/// The observations a stored snapshot of `list` records, for rebuilding a change log.
pub fn observations_in(
    key: &str,
    reader: impl Read,
    list: EventList,
) -> Result<Vec<Observation>, SyncError> {
    let mut observations = Vec::new();
    for (number, line) in BufReader::new(reader).split(b'\n').enumerate() {
        let bad = |why: &str| corrupt(key, &format!("line {}: {why}", number + 1));
        let line = line.map_err(|err| bad(&err.to_string()))?;
        if line.is_empty() {
            continue;
        }
        let fields: Map<String, Value> =
            serde_json::from_slice(&line).map_err(|err| bad(&err.to_string()))?;
        let event_id = fields
            .get("event_id")
            .and_then(Value::as_i64)
            .ok_or_else(|| bad("no integer `event_id`"))?;
        let is_closed = fields
            .get("is_closed")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let close_date = match fields.get("close_date") {
            None | Some(Value::Null) => None,
            Some(value) => Some(parse_date(value).ok_or_else(|| bad("bad `close_date`"))?),
        };
        observations.push(Observation {
            event_id,
            list,
            is_closed,
            close_date,
        });
    }
    Ok(observations)
}

fn error_chain(err: &dyn std::error::Error) -> String {
    crate::secret::aws_error_chain(err)
}

fn corrupt(location: &str, cause: &str) -> SyncError {
    SyncError::CorruptState {
        location: location.to_owned(),
        cause: cause.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn baseline_is_the_newest_completed_run_before_the_date() {
        let completed: BTreeSet<Date> = [date(2026, 11, 1), date(2026, 11, 4)].into();
        assert_eq!(
            baseline_for(&completed, date(2026, 11, 9)).unwrap(),
            Some(date(2026, 11, 4))
        );
        assert_eq!(
            baseline_for(&completed, date(2026, 11, 4)).unwrap(),
            Some(date(2026, 11, 1))
        );
        assert_eq!(
            baseline_for(&BTreeSet::new(), date(2026, 11, 4)).unwrap(),
            None
        );
        let err = baseline_for(&completed, date(2026, 11, 3)).unwrap_err();
        assert!(matches!(err, SyncError::OutOfOrder { .. }), "{err}");
    }

    #[test]
    fn stored_snapshot_lines_give_observations() {
        let lines: &[u8] = b"{\"event_id\":5,\"is_closed\":false,\"close_date\":\"2026-11-02\"}\n{\"event_id\":6,\"is_closed\":false,\"close_date\":null}\n";
        let observations = observations_in("k", lines, EventList::Holding).unwrap();
        assert_eq!(observations.len(), 2);
        assert_eq!(observations[0].close_date, Some(date(2026, 11, 2)));
        assert!(observations_in("k", &b"{\"close_date\":null}\n"[..], EventList::Open).is_err());
    }
}
