//! Every object key of the output tree, in one place. The tree is the public contract that
//! the Athena tables point at; the README documents it key by key.
//!
//! ```text
//! {prefix}/raw/event_type={list}/snapshot_date=YYYY-MM-DD/response.json[.gz]
//! {prefix}/snapshots/event_type={list}/snapshot_date=YYYY-MM-DD/events.jsonl[.gz]
//! ```

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

    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The folder of one list's raw response for one date (ends with `/`).
    pub fn raw_partition(&self, list: EventList, date: Date) -> String {
        self.join(&format!("raw/event_type={list}/snapshot_date={date}/"))
    }

    /// The API's response bytes, unchanged.
    pub fn raw_key(&self, list: EventList, date: Date) -> String {
        format!(
            "{}response.json{}",
            self.raw_partition(list, date),
            self.compression.suffix()
        )
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
            layout.raw_key(EventList::RecentClosed, day),
            "lake/plantrak/raw/event_type=recent_closed/snapshot_date=2026-12-03/response.json.gz"
        );
        assert_eq!(
            layout.snapshot_key(EventList::Open, day),
            "lake/plantrak/snapshots/event_type=open/snapshot_date=2026-12-03/events.jsonl.gz"
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
