//! One run, step by step: pick the date and the baseline (the ledger of the newest completed
//! run before it), pull the three lists, reconcile events that left every list, compare with
//! the baseline, then write the raw responses, the snapshots, the change log and the new
//! ledger, clear what failed or earlier runs left behind, and write the manifest last.
//!
//! Nothing is written until every pull has been downloaded and checked, so a failed pull
//! leaves the destination as it was. The manifest marks a date complete: later runs build
//! only on completed dates, and remove the change log and ledger of any date whose run did not
//! complete.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use bytes::Bytes;
use jiff::civil::Date;
use jiff::{Timestamp, ZonedDateTime};
use serde::Serialize;

use crate::api::SpoolTarget;
use crate::api::response::ResponseError;
use crate::api::{ApiClient, ApiError, EventList};
use crate::changelog::{self, Manifest, RunContext, Source};
use crate::config::{Compression, Config, ConfigError};
use crate::diff::{self, Baseline, ChangeKind, Diff, Lookback, MAX_PAST_DAYS};
use crate::encode::encode;
use crate::history;
use crate::layout::{Layout, RECONCILIATION};
use crate::ledger::{LedgerEntry, write_ledger};
use crate::lock::RunLock;
use crate::pull::{Pulled, Purpose, Seen, flatten};
use crate::secret::TokenSource;
use crate::spool::{Spool, SpoolWriter};
use crate::store::{Store, StoreError};

/// Everything a run needs, built once at start-up and reused by every run.
pub struct Syncer {
    pub config: Config,
    pub api: ApiClient,
    pub tokens: TokenSource,
    pub store: Store,
    pub layout: Layout,
}

/// What one run is asked to do; unset fields fall back to the configuration.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// The run's date; by default today in `PLANTRAK_TIMEZONE`.
    pub as_of: Option<Date>,
    /// The recently-closed window; by default `PLANTRAK_PAST_DAYS`.
    pub past_days: Option<u16>,
    /// When the run must be over (the Lambda's deadline).
    pub deadline: Option<Instant>,
}

/// The report of a completed run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub run_id: String,
    pub as_of: Date,
    pub baseline_date: Option<Date>,
    pub timezone: String,
    pub past_days: u16,
    pub destination: String,
    pub lists: BTreeMap<&'static str, ListSummary>,
    /// Changes per kind, every kind present.
    pub changes: BTreeMap<&'static str, u64>,
    /// Whether the extra 180-day recently-closed pull was made.
    pub reconciliation_pulled: bool,
    pub ledger_events: u64,
    /// Results set aside in the rejects file.
    pub rejects: u64,
    /// Data-quality notes, one sentence each, as in the manifest.
    pub notes: Vec<String>,
    pub objects_written: Vec<String>,
    pub objects_removed: Vec<String>,
    pub duration_ms: u64,
}

/// What one list contributed.
#[derive(Debug, Clone, Serialize)]
pub struct ListSummary {
    pub events: u64,
    pub response_bytes: u64,
    pub attempts: u32,
    pub pulled_at: String,
}

/// Why a run failed. Each kind maps to a stable Lambda `error_type`.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("the `{list}` response was not accepted: {source}")]
    InvalidResponse {
        list: EventList,
        source: ResponseError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the run date `{as_of}` is before `{newest}`, the newest completed run: runs must not go back in time"
    )]
    OutOfOrder { as_of: Date, newest: Date },
    #[error("the stored state at `{location}` cannot be read: {cause}")]
    CorruptState { location: String, cause: String },
    #[error("failed to use the spool directory: {cause}")]
    Spool { cause: String },
    #[error("another run (`{run_id}`) holds the destination's lock until {expires_at}")]
    RunInProgress {
        run_id: String,
        expires_at: Timestamp,
    },
}

impl SyncError {
    /// A name for the kind of failure that stays the same across releases, for alarms and
    /// for the Lambda `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            SyncError::Config(_) => "ConfigError",
            SyncError::Api(ApiError::Secret(_)) => "SecretError",
            SyncError::Api(ApiError::Unauthorized { .. }) => "ApiUnauthorized",
            SyncError::Api(ApiError::Forbidden { .. }) => "ApiForbidden",
            SyncError::Api(ApiError::Rejected { .. }) => "ApiRejected",
            SyncError::Api(ApiError::Throttled { .. }) => "ApiThrottled",
            SyncError::Api(ApiError::Exhausted { .. } | ApiError::OutOfTime { .. }) => {
                "ApiUnavailable"
            }
            SyncError::Api(ApiError::Client(_)) => "ClientError",
            SyncError::InvalidResponse { .. } => "InvalidResponse",
            SyncError::Store(_) => "StorageError",
            SyncError::OutOfOrder { .. } => "RunOutOfOrder",
            SyncError::CorruptState { .. } => "CorruptState",
            SyncError::RunInProgress { .. } => "RunInProgress",
            SyncError::Spool { .. } | SyncError::Api(ApiError::Spool { .. }) => "SpoolError",
        }
    }
}

/// What writing a date left: the keys written and removed, and its manifest.
struct Day {
    written: Vec<String>,
    removed: Vec<String>,
    manifest: Manifest,
}

/// A date's change lines and ledger, spooled and ready to write.
pub(crate) struct ChangeLogFiles {
    pub changes: Spool,
    pub ledger: Spool,
}

/// Where a run starts from: the newest completed run before its date, and its ledger.
pub(crate) struct Start {
    pub completed: BTreeSet<Date>,
    pub baseline_date: Option<Date>,
    /// Sorted by id.
    pub ledger: Vec<LedgerEntry>,
    pub lookback: Lookback,
    pub configured: u16,
}

impl Start {
    pub fn baseline(&self) -> Option<Baseline<'_>> {
        self.baseline_date.map(|date| Baseline {
            date,
            ledger: &self.ledger,
        })
    }
}

impl Syncer {
    /// Today's date where the customer is, which names the run's files.
    pub fn today(&self) -> Date {
        ZonedDateTime::new(Timestamp::now(), self.config.timezone.clone()).date()
    }

    /// Does one run, holding the destination's lock throughout.
    pub async fn run(&self, request: RunRequest) -> Result<Summary, SyncError> {
        let run_id = uuid::Uuid::new_v4().to_string();
        let as_of = self.check_as_of(request.as_of)?;
        let span = tracing::info_span!("run", %run_id, %as_of);
        let _entered = span.enter();

        let deadline = request.deadline.map(|end| {
            let left = end.saturating_duration_since(Instant::now());
            Timestamp::now() + jiff::SignedDuration::try_from(left).unwrap_or_default()
        });
        let lock = RunLock::acquire(&self.store, self.layout.lock_key(), &run_id, deadline).await?;
        self.clear_spools();
        let result = self.run_locked(&run_id, as_of, &request).await;
        lock.release(&self.store).await;
        result
    }

    async fn run_locked(
        &self,
        run_id: &str,
        as_of: Date,
        request: &RunRequest,
    ) -> Result<Summary, SyncError> {
        let started = (Instant::now(), Timestamp::now());
        let configured = request.past_days.unwrap_or(self.config.past_days);

        // Where the newest completed run left off.
        let start = self.starting_point(as_of, configured).await?;

        // The three lists; then, if events left every list, the 180-day reconciliation pull.
        let mut seen = Seen::default();
        let mut pulled = Vec::with_capacity(EventList::ALL.len() + 1);
        for list in EventList::ALL {
            let days = (list == EventList::RecentClosed).then_some(start.lookback.past_days);
            let download = self.download(list, days, request).await?;
            pulled.push(self.flatten(download, Purpose::List, &start, &mut seen, run_id)?);
        }
        let candidates = diff::vanish_candidates(start.baseline().as_ref(), &seen.observations);
        if !candidates.is_empty() {
            tracing::info!(
                candidates = candidates.len(),
                "reconciling events that left every list"
            );
            let list = EventList::RecentClosed;
            let days = Some(MAX_PAST_DAYS);
            let download = self.download(list, days, request).await?;
            let purpose = Purpose::Reconciliation;
            pulled.push(self.flatten(download, purpose, &start, &mut seen, run_id)?);
        }

        // Compare; write the change log (reading the pulls' spools), then the pulls' own
        // files; clean up; and mark the date complete.
        let outcome = self.compare(as_of, &start, &mut seen);
        let mut sources = today_sources(&pulled)?;
        sources.extend(self.baseline_sources(&outcome, start.baseline_date).await?);
        let files = self.prepare_change_log(as_of, run_id, &start, &outcome, sources)?;
        let results: BTreeMap<&str, u64> = pulled
            .iter()
            .map(|item| (item.name, item.results))
            .collect();
        let lists = pulled
            .iter()
            .map(|item| (item.name, list_summary(item)))
            .collect();
        let manifest = || self.manifest(run_id, as_of, &start, &outcome, &seen, &results, started);
        let day = self
            .write_day(as_of, pulled, files, &seen, &start.completed, manifest)
            .await?;
        let Day {
            written,
            removed,
            manifest,
        } = day;

        tracing::info!(
            objects = written.len(),
            changes = manifest.changes_total,
            "run finished"
        );
        Ok(Summary {
            run_id: run_id.to_owned(),
            as_of,
            baseline_date: start.baseline_date,
            timezone: self.config.timezone_name.clone(),
            past_days: start.lookback.past_days,
            destination: self.config.destination.to_string(),
            lists,
            changes: changelog::count_kinds(&outcome.changes),
            reconciliation_pulled: !candidates.is_empty(),
            ledger_events: manifest.ledger_events,
            rejects: manifest.rejects_total,
            notes: changelog::quality_sentences(&start.lookback, &outcome.notes, &seen.remarks),
            objects_written: written,
            objects_removed: removed,
            duration_ms: manifest.duration_ms,
        })
    }

    /// The completed runs, the baseline among them, its ledger, and the window to pull.
    pub(crate) async fn starting_point(
        &self,
        as_of: Date,
        configured: u16,
    ) -> Result<Start, SyncError> {
        let completed = history::completed_runs(&self.store, &self.layout).await?;
        let baseline_date = history::baseline_for(&completed, as_of)?;
        let ledger = match baseline_date {
            Some(date) => history::ledger_of(&self.store, &self.layout, date).await?,
            None => Vec::new(),
        };
        let lookback = diff::lookback_days(configured, baseline_date, as_of);
        let baseline = baseline_date.map(|d| d.to_string());
        tracing::info!(
            baseline,
            past_days = lookback.past_days,
            "starting point read"
        );
        if lookback.gap_exceeds_window {
            tracing::warn!(
                gap_days = lookback.gap_days,
                "the gap since the last run exceeds 180 days"
            );
        }
        Ok(Start {
            completed,
            baseline_date,
            ledger,
            lookback,
            configured,
        })
    }

    fn flatten(
        &self,
        download: crate::api::Download,
        purpose: Purpose,
        start: &Start,
        seen: &mut Seen,
        run_id: &str,
    ) -> Result<Pulled, SyncError> {
        let target = self.spool_target();
        // Parsing a large response is CPU work; keep it off the runtime's async workers.
        tokio::task::block_in_place(|| {
            flatten(download, purpose, &target, &start.ledger, seen, run_id)
        })
    }

    /// The pure diff of the baseline and today's observations.
    pub(crate) fn compare(&self, as_of: Date, start: &Start, seen: &mut Seen) -> Diff {
        let baseline = start.baseline();
        let (today, found) = (&seen.observations, &seen.reconciliation);
        let outcome = diff::diff(baseline.as_ref(), as_of, today, found);
        let changes = outcome.changes.len();
        tracing::info!(changes, ledger_events = outcome.ledger.len(), "compared");
        outcome
    }

    /// Vanished events are in no list today: their newest record is in the baseline's
    /// snapshots, read back only on days that have such events.
    pub(crate) async fn baseline_sources(
        &self,
        outcome: &Diff,
        baseline_date: Option<Date>,
    ) -> Result<Vec<Source>, SyncError> {
        let vanished = outcome
            .changes
            .iter()
            .any(|change| change.kind == ChangeKind::Vanished);
        let Some(date) = baseline_date.filter(|_| vanished) else {
            return Ok(Vec::new());
        };
        let mut sources = Vec::new();
        for list in [EventList::Open, EventList::Holding] {
            let partition = self.layout.snapshot_partition(list, date);
            if let Some((_, reader)) = history::open_partition(&self.store, &partition).await? {
                sources.push(Source::Baseline(reader));
            }
        }
        Ok(sources)
    }

    /// Writes the change lines (describing events from `sources`) and the ledger into spools.
    pub(crate) fn prepare_change_log(
        &self,
        as_of: Date,
        run_id: &str,
        start: &Start,
        outcome: &Diff,
        sources: Vec<Source>,
    ) -> Result<ChangeLogFiles, SyncError> {
        let detected_at = snapshot_time(Timestamp::now());
        let context = RunContext {
            run_id,
            change_date: as_of,
            detected_at: &detected_at,
            baseline_date: start.baseline_date,
        };
        let target = self.spool_target();
        let files = tokio::task::block_in_place(|| {
            let mut changes = SpoolWriter::new(&target.dir, target.compression)?;
            changelog::write_changes(&outcome.changes, sources, &context, &mut changes)?;
            let mut ledger = SpoolWriter::new(&target.dir, target.compression)?;
            write_ledger(&outcome.ledger, &mut ledger)?;
            Ok::<_, std::io::Error>(ChangeLogFiles {
                changes: changes.finish()?,
                ledger: ledger.finish()?,
            })
        });
        files.map_err(|err| SyncError::Spool {
            cause: err.to_string(),
        })
    }

    /// Writes the change lines, the ledger and, when any, the rejects.
    pub(crate) async fn put_change_log(
        &self,
        as_of: Date,
        files: ChangeLogFiles,
        seen: &Seen,
    ) -> Result<Vec<String>, SyncError> {
        let mut written = Vec::new();
        let changes = (self.layout.changes_key(as_of), files.changes);
        let ledger = (self.layout.state_key(as_of), files.ledger);
        for (key, spool) in [changes, ledger] {
            self.store.put_spool(&key, spool).await?;
            written.push(key);
        }
        if seen.reject_count > 0 {
            tracing::warn!(rejects = seen.reject_count, "results were set aside");
            let key = self.layout.rejects_key(as_of);
            written.push(self.write_encoded(key, &seen.rejects).await?);
        }
        Ok(written)
    }

    /// Writes a date's objects, removes what they replace, and writes the manifest last.
    /// The date counts as incomplete from the start (a manifest from an earlier run is
    /// removed first); if any write fails, the date's change log is removed as far as the
    /// store allows, and the next run removes whatever is left.
    async fn write_day(
        &self,
        as_of: Date,
        pulled: Vec<Pulled>,
        files: ChangeLogFiles,
        seen: &Seen,
        completed: &BTreeSet<Date>,
        manifest: impl FnOnce() -> Manifest,
    ) -> Result<Day, SyncError> {
        let manifest_key = self.layout.manifest_key(as_of);
        self.store.delete(&manifest_key).await?;
        let day = async {
            let mut written = self.write_pulls(as_of, pulled).await?;
            written.extend(self.put_change_log(as_of, files, seen).await?);
            let removed = self.clean_up(as_of, completed, &written).await?;
            let manifest = manifest();
            let line = Bytes::from(manifest.to_line());
            written.push(self.write(manifest_key, line).await?);
            Ok::<_, SyncError>(Day {
                written,
                removed,
                manifest,
            })
        }
        .await;
        if day.is_err() {
            self.forget_change_log(as_of).await;
        }
        day
    }

    /// Best effort: removes a date's changes, ledger and rejects after a failed write.
    async fn forget_change_log(&self, as_of: Date) {
        let partitions = [
            self.layout.changes_partition(as_of),
            self.layout.state_partition(as_of),
            self.layout.rejects_partition(as_of),
        ];
        for partition in partitions {
            let keys = self.store.list(&partition).await.unwrap_or_default();
            for key in keys {
                if let Err(err) = self.store.delete(&key).await {
                    tracing::warn!(%key, cause = %err, "could not remove a failed run's object");
                }
            }
        }
    }

    /// Removes what this run replaces: leftovers in this date's folders, and the change log
    /// of dates whose run did not complete.
    pub(crate) async fn clean_up(
        &self,
        as_of: Date,
        completed: &BTreeSet<Date>,
        written: &[String],
    ) -> Result<Vec<String>, SyncError> {
        let mut removed = self.remove_leftovers(as_of, written).await?;
        removed.extend(self.remove_incomplete(as_of, completed).await?);
        Ok(removed)
    }

    /// The manifest of a finished run; `results` counts each pull's results by folder name.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn manifest(
        &self,
        run_id: &str,
        as_of: Date,
        start: &Start,
        outcome: &Diff,
        seen: &Seen,
        results: &BTreeMap<&str, u64>,
        (started, started_at): (Instant, Timestamp),
    ) -> Manifest {
        let count = |name: &str| results.get(name).copied().unwrap_or(0);
        let lookback = &start.lookback;
        let sentences = changelog::quality_sentences(lookback, &outcome.notes, &seen.remarks);
        let mut manifest = Manifest {
            run_id: run_id.to_owned(),
            as_of,
            baseline_date: start.baseline_date,
            timezone: self.config.timezone_name.clone(),
            started_at: snapshot_time(started_at),
            finished_at: snapshot_time(Timestamp::now()),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            past_days_configured: start.configured,
            past_days: lookback.past_days,
            gap_days: lookback.gap_days,
            gap_exceeds_window: lookback.gap_exceeds_window,
            reconciliation_past_days: results
                .contains_key(RECONCILIATION)
                .then_some(MAX_PAST_DAYS),
            events_open: count("open"),
            events_holding: count("holding"),
            events_recent_closed: count("recent_closed"),
            events_reconciliation: count(RECONCILIATION),
            ledger_events: outcome.ledger.len() as u64,
            rejects_total: seen.reject_count,
            notes: Some(sentences.join("; ")).filter(|joined| !joined.is_empty()),
            compression: compression_name(self.layout.compression()),
            ..Manifest::empty()
        };
        manifest.set_counts(&changelog::count_kinds(&outcome.changes), &outcome.notes);
        manifest
    }

    /// Refuses a date after today: its files would claim a state the API has not shown yet.
    fn check_as_of(&self, as_of: Option<Date>) -> Result<Date, SyncError> {
        let today = self.today();
        match as_of {
            None => Ok(today),
            Some(date) if date <= today => Ok(date),
            Some(date) => Err(ConfigError {
                problems: vec![format!(
                    "the run date `{date}` is after today (`{today}` in `{}`)",
                    self.config.timezone_name
                )],
            }
            .into()),
        }
    }

    /// Removes spools a killed run left behind. Called with the lock held: no other run of
    /// this destination can be using them.
    pub(crate) fn clear_spools(&self) {
        let dir = self.spool_target().dir;
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(crate::spool::PREFIX)
            {
                let path = entry.path();
                if let Err(err) = std::fs::remove_file(&path) {
                    tracing::warn!(path = %path.display(), cause = %err, "could not remove a spool");
                }
            }
        }
    }

    /// Writes each pull's raw response and snapshot.
    async fn write_pulls(
        &self,
        as_of: Date,
        pulled: Vec<Pulled>,
    ) -> Result<Vec<String>, SyncError> {
        let mut written = Vec::new();
        for item in pulled {
            let raw_key = self.layout.raw_key(item.name, as_of);
            self.store.put_spool(&raw_key, item.raw).await?;
            written.push(raw_key);
            if let (Some(snapshot), Some(list)) = (item.snapshot, EventList::named(item.name)) {
                let key = self.layout.snapshot_key(list, as_of);
                self.store.put_spool(&key, snapshot).await?;
                written.push(key);
            }
        }
        Ok(written)
    }

    /// Where downloads and outputs are spooled before they are written.
    pub(crate) fn spool_target(&self) -> SpoolTarget {
        SpoolTarget {
            dir: self.store.spool_dir(self.layout.prefix()),
            compression: self.layout.compression(),
        }
    }

    async fn download(
        &self,
        list: EventList,
        past_days: Option<u16>,
        request: &RunRequest,
    ) -> Result<crate::api::Download, SyncError> {
        let target = self.spool_target();
        let download = self
            .api
            .download(list, past_days, &self.tokens, request.deadline, &target);
        Ok(download.await?)
    }

    async fn write(&self, key: String, bytes: Bytes) -> Result<String, SyncError> {
        self.store.put(&key, bytes).await?;
        Ok(key)
    }

    async fn write_encoded(&self, key: String, plain: &[u8]) -> Result<String, SyncError> {
        let bytes = Bytes::from(encode(self.layout.compression(), plain));
        self.write(key, bytes).await
    }

    /// Deletes objects in this date's folders that this run did not write (for example files
    /// of the other compression, or a reconciliation response an earlier run for the same
    /// date pulled and this one did not need).
    async fn remove_leftovers(
        &self,
        as_of: Date,
        written: &[String],
    ) -> Result<Vec<String>, SyncError> {
        let keep: BTreeSet<&str> = written.iter().map(String::as_str).collect();
        let mut partitions = vec![
            self.layout.raw_partition(RECONCILIATION, as_of),
            self.layout.rejects_partition(as_of),
            self.layout.changes_partition(as_of),
            self.layout.state_partition(as_of),
        ];
        for list in EventList::ALL {
            partitions.push(self.layout.raw_partition(list.as_str(), as_of));
            partitions.push(self.layout.snapshot_partition(list, as_of));
        }
        let mut removed = Vec::new();
        for partition in partitions {
            for key in self.store.list(&partition).await? {
                if !keep.contains(key.as_str()) {
                    self.store.delete(&key).await?;
                    tracing::info!(%key, "removed an object an earlier run left");
                    removed.push(key);
                }
            }
        }
        Ok(removed)
    }

    /// Deletes the change log and ledger of dates whose run never completed (no manifest):
    /// they were computed against a baseline that later runs no longer use, and would
    /// otherwise repeat changes in the change log.
    async fn remove_incomplete(
        &self,
        as_of: Date,
        completed: &BTreeSet<Date>,
    ) -> Result<Vec<String>, SyncError> {
        let mut removed = Vec::new();
        for (root, marker) in [
            (self.layout.changes_root(), "change_date="),
            (self.layout.state_root(), "state_date="),
        ] {
            for key in self.store.list(&root).await? {
                let date = crate::layout::partition_date(&key, &root, marker);
                if let Some(date) = date.filter(|d| *d != as_of && !completed.contains(d)) {
                    self.store.delete(&key).await?;
                    tracing::warn!(%key, %date, "removed the output of a run that did not complete");
                    removed.push(key);
                }
            }
        }
        Ok(removed)
    }
}

fn compression_name(compression: Compression) -> &'static str {
    match compression {
        Compression::Gzip => "gzip",
        Compression::None => "none",
    }
}

/// Today's records, for describing changed events: the snapshots, and the reconciliation
/// response as the API sent it.
fn today_sources(pulled: &[Pulled]) -> Result<Vec<Source>, SyncError> {
    let local = |err: std::io::Error| SyncError::Spool {
        cause: err.to_string(),
    };
    let mut sources = Vec::new();
    for item in pulled {
        sources.push(match &item.snapshot {
            Some(snapshot) => Source::Snapshot(snapshot.reader().map_err(local)?),
            None => Source::Response(item.raw.reader().map_err(local)?),
        });
    }
    Ok(sources)
}

/// UTC, `yyyy-MM-dd HH:mm:ss.SSS`: the timestamp format Athena's Hive JSON SerDe reads.
pub fn snapshot_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

fn list_summary(item: &Pulled) -> ListSummary {
    ListSummary {
        events: item.results,
        response_bytes: item.response_bytes,
        attempts: item.attempts,
        pulled_at: snapshot_time(item.pulled_at),
    }
}
