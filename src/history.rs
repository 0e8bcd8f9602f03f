//! Reading what earlier runs left: which dates completed (a manifest exists), the ledger a run
//! compares with, and stored snapshots (for the descriptive fields of vanished events, and for
//! rebuilding the change log without calling the API).

use std::collections::{BTreeSet, HashMap};
use std::io::Read;

use jiff::civil::Date;
use serde_json::{Map, Value};

use crate::diff::Observation;
use crate::event::{Descriptive, EventList, parse_date};
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

/// The one object in `partition`, decoded, or `None` when the folder is empty.
pub async fn read_partition(store: &Store, partition: &str) -> Result<Option<Vec<u8>>, SyncError> {
    let keys = store.list(partition).await?;
    let Some(key) = keys.first() else {
        return Ok(None);
    };
    let Some(bytes) = store.get(key).await? else {
        return Ok(None);
    };
    decode(key, &bytes).map(Some)
}

/// Plain bytes of an object, gunzipped when its key says so.
pub fn decode(key: &str, bytes: &[u8]) -> Result<Vec<u8>, SyncError> {
    if !is_gzip(key) {
        return Ok(bytes.to_vec());
    }
    let mut plain = Vec::with_capacity(bytes.len() * 8);
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut plain)
        .map_err(|err| corrupt(key, &err.to_string()))?;
    Ok(plain)
}

/// The ledger written by the run for `date`.
pub async fn ledger_of(
    store: &Store,
    layout: &Layout,
    date: Date,
) -> Result<Vec<LedgerEntry>, SyncError> {
    let partition = layout.state_partition(date);
    let bytes = read_partition(store, &partition)
        .await?
        .ok_or_else(|| corrupt(&partition, "the run completed but its ledger is missing"))?;
    read_ledger(&bytes).map_err(|err| corrupt(&partition, &err.to_string()))
}

/// Descriptive fields of the events in `ids`, from one stored snapshot's lines.
pub fn descriptive_in(lines: &[u8], ids: &BTreeSet<i64>, found: &mut HashMap<i64, Descriptive>) {
    for line in lines.split(|b| *b == b'\n').filter(|line| !line.is_empty()) {
        let Ok(fields) = serde_json::from_slice::<Map<String, Value>>(line) else {
            continue;
        };
        if let Some(id) = fields.get("event_id").and_then(Value::as_i64) {
            if ids.contains(&id) {
                found.insert(id, Descriptive::from_fields(&fields));
            }
        }
    }
}

/// The observations a stored snapshot of `list` records, for rebuilding a change log.
pub fn observations_in(
    key: &str,
    lines: &[u8],
    list: EventList,
) -> Result<Vec<Observation>, SyncError> {
    let mut observations = Vec::new();
    for (number, line) in lines
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let bad = |why: &str| corrupt(key, &format!("line {}: {why}", number + 1));
        let fields: Map<String, Value> =
            serde_json::from_slice(line).map_err(|err| bad(&err.to_string()))?;
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
    fn stored_snapshot_lines_give_observations_and_descriptions() {
        let lines = b"{\"event_id\":5,\"is_closed\":false,\"close_date\":\"2026-11-02\",\"facility_name\":\"Gary, IN\"}\n{\"event_id\":6,\"is_closed\":false,\"close_date\":null}\n";
        let observations = observations_in("k", lines, EventList::Holding).unwrap();
        assert_eq!(observations.len(), 2);
        assert_eq!(observations[0].close_date, Some(date(2026, 11, 2)));
        let mut found = HashMap::new();
        descriptive_in(lines, &[5].into(), &mut found);
        assert_eq!(found[&5].0[1], "Gary, IN");
        assert!(!found.contains_key(&6));
        assert!(observations_in("k", b"{\"close_date\":null}\n", EventList::Open).is_err());
    }
}
