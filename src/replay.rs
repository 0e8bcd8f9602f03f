//! Rebuilding the change log from stored snapshots, without calling the API: for every date
//! in a range that has all three snapshots, in order, the diff runs again against the ledger
//! of the date before, and the date's changes, ledger and manifest are written anew.
//!
//! The stored reconciliation response of a date is used when there is one; a date whose run
//! did not need it has none, and its candidates (if the rebuilt history has any) vanish. The
//! rejects of a date are kept as its run wrote them. Dates after the range are not touched, so
//! their change log was built on the old history: replay up to the newest date to keep the
//! whole log consistent.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use bytes::Bytes;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::api::response;
use crate::changelog::{self, Source};
use crate::diff::{self, Observation};
use crate::event::EventList;
use crate::history;
use crate::layout::RECONCILIATION;
use crate::lock::RunLock;
use crate::pull::Seen;
use crate::sync::{Start, SyncError, Syncer};

/// The report of a replay.
#[derive(Debug, Clone, Serialize)]
pub struct ReplaySummary {
    pub run_id: String,
    pub from: Date,
    pub to: Date,
    /// Dates whose change log was rebuilt, in order.
    pub rebuilt: Vec<Date>,
    /// Dates in the range without all three snapshots; their change log, if any, was removed.
    pub skipped: Vec<Date>,
    /// Changes per kind over all rebuilt dates.
    pub changes: BTreeMap<&'static str, u64>,
    pub objects_written: usize,
    pub duration_ms: u64,
}

impl Syncer {
    /// Rebuilds changes, ledgers and manifests for `from..=to`, holding the lock throughout.
    pub async fn replay(&self, from: Date, to: Date) -> Result<ReplaySummary, SyncError> {
        let run_id = uuid::Uuid::new_v4().to_string();
        let span = tracing::info_span!("replay", %run_id, %from, %to);
        let _entered = span.enter();
        let lock = RunLock::acquire(&self.store, self.layout.lock_key(), &run_id, None).await?;
        self.clear_spools();
        let result = self.replay_locked(&run_id, from, to).await;
        lock.release(&self.store).await;
        result
    }

    async fn replay_locked(
        &self,
        run_id: &str,
        from: Date,
        to: Date,
    ) -> Result<ReplaySummary, SyncError> {
        let started = Instant::now();
        let stored = history::completed_runs(&self.store, &self.layout).await?;
        let mut completed: BTreeSet<Date> = stored
            .iter()
            .copied()
            .filter(|d| *d < from || *d > to)
            .collect();
        let mut summary = ReplaySummary {
            run_id: run_id.to_owned(),
            from,
            to,
            rebuilt: Vec::new(),
            skipped: Vec::new(),
            changes: changelog::count_kinds(&[]),
            objects_written: 0,
            duration_ms: 0,
        };

        let mut day = from;
        while day <= to {
            let rebuilt = self.replay_day(run_id, day, &completed).await?;
            if let Some((kinds, written)) = rebuilt {
                for (kind, n) in kinds {
                    *summary.changes.entry(kind).or_default() += n;
                }
                summary.objects_written += written;
                summary.rebuilt.push(day);
                completed.insert(day);
            } else {
                self.forget_day(day).await?;
                summary.skipped.push(day);
            }
            day = day.tomorrow().map_err(|_| SyncError::OutOfOrder {
                as_of: day,
                newest: to,
            })?;
        }
        summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(summary)
    }

    /// Rebuilds one date; `None` when its snapshots are not all there.
    async fn replay_day(
        &self,
        run_id: &str,
        day: Date,
        completed: &BTreeSet<Date>,
    ) -> Result<Option<(BTreeMap<&'static str, u64>, usize)>, SyncError> {
        let started = (Instant::now(), Timestamp::now());
        let mut snapshots = Vec::new();
        for list in EventList::ALL {
            let partition = self.layout.snapshot_partition(list, day);
            match history::open_partition(&self.store, &partition).await? {
                Some((key, reader)) => snapshots.push((list, partition, key, reader)),
                None => return Ok(None),
            }
        }

        let baseline_date = completed.range(..day).next_back().copied();
        let ledger = match baseline_date {
            Some(date) => history::ledger_of(&self.store, &self.layout, date).await?,
            None => Vec::new(),
        };
        let configured = self.config.past_days;
        let lookback = diff::lookback_days(configured, baseline_date, day);
        let start = Start {
            completed: completed.clone(),
            baseline_date,
            ledger,
            lookback,
            configured,
        };

        let mut seen = Seen::default();
        let mut results = BTreeMap::new();
        for (list, _, key, reader) in snapshots {
            let observations =
                tokio::task::block_in_place(|| history::observations_in(&key, reader, list))?;
            results.insert(list.as_str(), observations.len() as u64);
            seen.observations.extend(observations);
        }
        let partition = self.layout.raw_partition(RECONCILIATION, day);
        let reconciliation = history::open_partition(&self.store, &partition).await?;
        if let Some((_, body)) = reconciliation {
            let list = EventList::RecentClosed;
            let parsed = tokio::task::block_in_place(|| {
                response::parse_reader(body, list, &mut |result| {
                    if let Ok(event) = result {
                        seen.reconciliation.push(Observation {
                            event_id: event.event_id,
                            list,
                            is_closed: event.is_closed,
                            close_date: event.close_date,
                        });
                    }
                })
            });
            let count = parsed.map_err(|source| SyncError::InvalidResponse { list, source })?;
            results.insert(RECONCILIATION, count);
        }
        seen.remarks
            .push("rebuilt from stored snapshots by `plantrak-sync replay`".into());

        // The stored files are read once more, to describe the changed events.
        let outcome = self.compare(day, &start, &mut seen);
        let mut sources = Vec::new();
        for list in EventList::ALL {
            let partition = self.layout.snapshot_partition(list, day);
            if let Some((_, reader)) = history::open_partition(&self.store, &partition).await? {
                sources.push(Source::Snapshot(reader));
            }
        }
        if let Some((_, reader)) = history::open_partition(&self.store, &partition).await? {
            sources.push(Source::Response(reader));
        }
        sources.extend(self.baseline_sources(&outcome, baseline_date).await?);

        let files = self.prepare_change_log(day, run_id, &start, &outcome, sources)?;
        let written = self.put_change_log(day, files, &seen).await?;
        self.remove_stale_change_log(day, &written).await?;
        let manifest = self.manifest(run_id, day, &start, &outcome, &seen, &results, started);
        self.store
            .put(
                &self.layout.manifest_key(day),
                Bytes::from(manifest.to_line()),
            )
            .await?;
        tracing::info!(%day, changes = manifest.changes_total, "rebuilt");
        Ok(Some((
            changelog::count_kinds(&outcome.changes),
            written.len() + 1,
        )))
    }

    /// Removes objects in a date's change-log folders that the rebuild did not write.
    async fn remove_stale_change_log(
        &self,
        day: Date,
        written: &[String],
    ) -> Result<(), SyncError> {
        for partition in [
            self.layout.changes_partition(day),
            self.layout.state_partition(day),
        ] {
            for key in self.store.list(&partition).await? {
                if !written.contains(&key) {
                    self.store.delete(&key).await?;
                }
            }
        }
        Ok(())
    }

    /// A date without snapshots cannot have a change log: remove any it has.
    async fn forget_day(&self, day: Date) -> Result<(), SyncError> {
        let partitions = [
            self.layout.manifest_key(day),
            self.layout.changes_partition(day),
            self.layout.state_partition(day),
        ];
        for partition in partitions {
            for key in self.store.list(&partition).await? {
                tracing::warn!(%key, %day, "removed: the date has no complete snapshots");
                self.store.delete(&key).await?;
            }
        }
        Ok(())
    }
}
