//! One run, step by step: pick the date, pull the three lists, check and flatten them, write
//! the raw responses and the snapshots, remove what an earlier run for the same date left
//! that this one did not write, and report.
//!
//! Nothing is written until all three lists have been downloaded and checked, so a failed
//! pull leaves the destination as it was.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use bytes::Bytes;
use jiff::civil::Date;
use jiff::{Timestamp, ZonedDateTime};
use serde::Serialize;

use crate::api::response::{self, ResponseError};
use crate::api::{ApiClient, ApiError, Download, EventList};
use crate::config::{Config, ConfigError};
use crate::encode::{Encoder, encode};
use crate::layout::Layout;
use crate::secret::TokenSource;
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
    pub timezone: String,
    pub past_days: u16,
    pub destination: String,
    pub lists: BTreeMap<&'static str, ListSummary>,
    pub objects_written: Vec<String>,
    pub objects_removed: Vec<String>,
    pub duration_ms: u64,
}

/// What one list contributed.
#[derive(Debug, Clone, Serialize)]
pub struct ListSummary {
    pub events: u64,
    pub response_bytes: usize,
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
        }
    }
}

/// One list, checked and ready to write.
struct Pulled {
    list: EventList,
    download: Download,
    events: u64,
    raw: Vec<u8>,
    snapshot: Vec<u8>,
}

impl Syncer {
    /// Today's date where the customer is, which names the run's files.
    pub fn today(&self) -> Date {
        ZonedDateTime::new(Timestamp::now(), self.config.timezone.clone()).date()
    }

    /// Does one run.
    pub async fn run(&self, request: RunRequest) -> Result<Summary, SyncError> {
        let started = Instant::now();
        let run_id = uuid::Uuid::new_v4().to_string();
        let as_of = self.check_as_of(request.as_of)?;
        let past_days = request.past_days.unwrap_or(self.config.past_days);
        let span = tracing::info_span!("run", %run_id, %as_of, past_days);
        let _entered = span.enter();
        tracing::info!(destination = %self.config.destination, "run started");

        let mut pulled = Vec::with_capacity(EventList::ALL.len());
        for list in EventList::ALL {
            let days = (list == EventList::RecentClosed).then_some(past_days);
            let download = self
                .api
                .download(list, days, &self.tokens, request.deadline)
                .await?;
            pulled.push(self.flatten(download)?);
        }

        let mut written = Vec::new();
        for item in &pulled {
            written.push(
                self.write(self.layout.raw_key(item.list, as_of), &item.raw)
                    .await?,
            );
            written.push(
                self.write(self.layout.snapshot_key(item.list, as_of), &item.snapshot)
                    .await?,
            );
        }
        let removed = self.remove_leftovers(as_of, &written).await?;

        let lists = pulled
            .iter()
            .map(|item| (item.list.as_str(), list_summary(item)))
            .collect();
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::info!(objects = written.len(), duration_ms, "run finished");
        Ok(Summary {
            run_id,
            as_of,
            timezone: self.config.timezone_name.clone(),
            past_days,
            destination: self.config.destination.to_string(),
            lists,
            objects_written: written,
            objects_removed: removed,
            duration_ms,
        })
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

    /// Checks one response and turns it into its raw file and its snapshot file.
    fn flatten(&self, download: Download) -> Result<Pulled, SyncError> {
        let list = download.list;
        let snapshot_at = download
            .pulled_at
            .strftime("%Y-%m-%d %H:%M:%S%.3f")
            .to_string();
        let compression = self.layout.compression();
        let mut snapshot = Encoder::new(compression);
        let mut line = Vec::with_capacity(1024);
        let events = response::parse(&download.body, list, &mut |event| {
            line.clear();
            event.write_snapshot_line(&snapshot_at, &mut line);
            snapshot.write(&line);
        })
        .map_err(|source| SyncError::InvalidResponse { list, source })?;
        tracing::info!(%list, events, "checked");
        Ok(Pulled {
            list,
            raw: encode(compression, &download.body),
            snapshot: snapshot.finish(),
            download,
            events,
        })
    }

    async fn write(&self, key: String, bytes: &[u8]) -> Result<String, SyncError> {
        self.store.put(&key, Bytes::copy_from_slice(bytes)).await?;
        Ok(key)
    }

    /// Deletes objects in this date's partitions that this run did not write (for example
    /// files of the other compression from an earlier run for the same date).
    async fn remove_leftovers(
        &self,
        as_of: Date,
        written: &[String],
    ) -> Result<Vec<String>, SyncError> {
        let keep: BTreeSet<&str> = written.iter().map(String::as_str).collect();
        let mut removed = Vec::new();
        for list in EventList::ALL {
            for partition in [
                self.layout.raw_partition(list, as_of),
                self.layout.snapshot_partition(list, as_of),
            ] {
                for key in self.store.list(&partition).await? {
                    if !keep.contains(key.as_str()) {
                        self.store.delete(&key).await?;
                        tracing::info!(%key, "removed an object an earlier run left");
                        removed.push(key);
                    }
                }
            }
        }
        Ok(removed)
    }
}

fn list_summary(item: &Pulled) -> ListSummary {
    ListSummary {
        events: item.events,
        response_bytes: item.download.body.len(),
        attempts: item.download.attempts,
        pulled_at: item
            .download
            .pulled_at
            .strftime("%Y-%m-%d %H:%M:%S%.3f")
            .to_string(),
    }
}
