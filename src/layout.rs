//! Every object key of the output tree, in one place. The tree is the public contract that
//! the Athena tables point at; the README documents it key by key.
//!
//! ```text
//! {prefix}/raw/event_type={list}/snapshot_date=YYYY-MM-DD/response.json[.gz]
//! {prefix}/snapshots/event_type={list}/snapshot_date=YYYY-MM-DD/events.jsonl[.gz]
//! {prefix}/raw/event_type=reconciliation/snapshot_date=YYYY-MM-DD/response.json[.gz]
//! {prefix}/changes/change_date=YYYY-MM-DD/changes.jsonl[.gz]
//! {prefix}/state/state_date=YYYY-MM-DD/ledger.jsonl[.gz]
//! {prefix}/runs/run_date=YYYY-MM-DD/manifest.json
//! {prefix}/rejects/reject_date=YYYY-MM-DD/rejects.jsonl[.gz]
//! {prefix}/locks/run.lock
//! ```
//!
//! The reconciliation response exists only on days when it was pulled, the rejects file only
//! on days with results set aside, and the lock only while a run is under way.

use jiff::civil::Date;

use crate::api::EventList;
use crate::config::Compression;

/// Builds keys under one prefix with one compression.
#[derive(Debug, Clone)]
pub struct Layout {
    prefix: String,
    compression: Compression,
}

impl Layout {
    /// `prefix` has no leading or trailing `/` and may be empty.
    pub fn new(prefix: &str, compression: Compression) -> Self {
        Layout {
            prefix: prefix.trim_matches('/').to_owned(),
            compression,
        }
    }

    /// The key prefix, without leading or trailing `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The folder of one raw response for one date (ends with `/`); `name` is a list or
    /// [`RECONCILIATION`].
    pub fn raw_partition(&self, name: &str, date: Date) -> String {
        self.join(&format!("raw/event_type={name}/snapshot_date={date}/"))
    }

    /// The API's response bytes, unchanged.
    pub fn raw_key(&self, name: &str, date: Date) -> String {
        format!(
            "{}response.json{}",
            self.raw_partition(name, date),
            self.compression.suffix()
        )
    }

    /// The folder holding every date's change log (ends with `/`).
    pub fn changes_root(&self) -> String {
        self.join("changes/")
    }

    /// The folder holding every date's ledger (ends with `/`).
    pub fn state_root(&self) -> String {
        self.join("state/")
    }

    /// The folder of one date's change log (ends with `/`).
    pub fn changes_partition(&self, date: Date) -> String {
        self.join(&format!("changes/change_date={date}/"))
    }

    pub fn changes_key(&self, date: Date) -> String {
        format!(
            "{}changes.jsonl{}",
            self.changes_partition(date),
            self.compression.suffix()
        )
    }

    /// The folder of the ledger written for one date (ends with `/`).
    pub fn state_partition(&self, date: Date) -> String {
        self.join(&format!("state/state_date={date}/"))
    }

    pub fn state_key(&self, date: Date) -> String {
        format!(
            "{}ledger.jsonl{}",
            self.state_partition(date),
            self.compression.suffix()
        )
    }

    /// The folder of one date's results set aside (ends with `/`).
    pub fn rejects_partition(&self, date: Date) -> String {
        self.join(&format!("rejects/reject_date={date}/"))
    }

    /// Results that could not be taken as events, with the reason; written only when any.
    pub fn rejects_key(&self, date: Date) -> String {
        format!(
            "{}rejects.jsonl{}",
            self.rejects_partition(date),
            self.compression.suffix()
        )
    }

    /// The lock that keeps runs on this destination one at a time.
    pub fn lock_key(&self) -> String {
        self.join("locks/run.lock")
    }

    /// Where every run's manifest lives (ends with `/`).
    pub fn runs_root(&self) -> String {
        self.join("runs/")
    }

    /// The manifest of one date's run, never compressed.
    pub fn manifest_key(&self, date: Date) -> String {
        self.join(&format!("runs/run_date={date}/manifest.json"))
    }

    /// The run date of a manifest key under [`Layout::runs_root`], if it is one.
    pub fn manifest_date(&self, key: &str) -> Option<Date> {
        if !key.ends_with("/manifest.json") {
            return None;
        }
        partition_date(key, &self.runs_root(), "run_date=")
    }

    /// The folder of one list's snapshot for one date (ends with `/`).
    pub fn snapshot_partition(&self, list: EventList, date: Date) -> String {
        self.join(&format!(
            "snapshots/event_type={list}/snapshot_date={date}/"
        ))
    }

    /// One event per line.
    pub fn snapshot_key(&self, list: EventList, date: Date) -> String {
        format!(
            "{}events.jsonl{}",
            self.snapshot_partition(list, date),
            self.compression.suffix()
        )
    }

    fn join(&self, rest: &str) -> String {
        if self.prefix.is_empty() {
            rest.to_owned()
        } else {
            format!("{}/{rest}", self.prefix)
        }
    }
}

/// The `event_type` folder of the extra recently-closed pull that reconciles vanish
/// candidates.
pub const RECONCILIATION: &str = "reconciliation";

/// The date of a key `{root}{marker}YYYY-MM-DD/…`, if it is one.
pub fn partition_date(key: &str, root: &str, marker: &str) -> Option<Date> {
    let rest = key.strip_prefix(root)?.strip_prefix(marker)?;
    let (date, _) = rest.split_once('/')?;
    date.parse().ok()
}

/// Whether a key holds gzip data.
pub fn is_gzip(key: &str) -> bool {
    key.ends_with(".gz")
}

/// The content type stored with an object, from its key.
pub fn content_type(key: &str) -> &'static str {
    if key.ends_with(".gz") {
        "application/gzip"
    } else if key.ends_with(".jsonl") {
        "application/x-ndjson"
    } else {
        "application/json"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn keys_follow_the_documented_layout() {
        let layout = Layout::new("lake/plantrak/", Compression::Gzip);
        let day = date(2026, 12, 3);
        assert_eq!(
            layout.raw_key(EventList::RecentClosed.as_str(), day),
            "lake/plantrak/raw/event_type=recent_closed/snapshot_date=2026-12-03/response.json.gz"
        );
        assert_eq!(
            layout.snapshot_key(EventList::Open, day),
            "lake/plantrak/snapshots/event_type=open/snapshot_date=2026-12-03/events.jsonl.gz"
        );
    }

    #[test]
    fn change_log_keys_follow_the_documented_layout() {
        let layout = Layout::new("p", Compression::Gzip);
        let day = date(2026, 12, 3);
        assert_eq!(
            layout.changes_key(day),
            "p/changes/change_date=2026-12-03/changes.jsonl.gz"
        );
        assert_eq!(
            layout.state_key(day),
            "p/state/state_date=2026-12-03/ledger.jsonl.gz"
        );
        assert_eq!(
            layout.manifest_key(day),
            "p/runs/run_date=2026-12-03/manifest.json"
        );
        assert_eq!(layout.manifest_date(&layout.manifest_key(day)), Some(day));
        assert_eq!(
            layout.manifest_date("p/runs/run_date=2026-12-03/other.json"),
            None
        );
        assert_eq!(
            layout.raw_key(RECONCILIATION, day),
            "p/raw/event_type=reconciliation/snapshot_date=2026-12-03/response.json.gz"
        );
    }

    #[test]
    fn an_empty_prefix_gives_keys_at_the_bucket_root() {
        let layout = Layout::new("", Compression::None);
        assert_eq!(
            layout.snapshot_key(EventList::Holding, date(2026, 1, 9)),
            "snapshots/event_type=holding/snapshot_date=2026-01-09/events.jsonl"
        );
    }

    #[test]
    fn content_types_follow_the_suffix() {
        assert_eq!(content_type("a/events.jsonl.gz"), "application/gzip");
        assert_eq!(content_type("a/events.jsonl"), "application/x-ndjson");
        assert_eq!(content_type("a/response.json"), "application/json");
    }
}
