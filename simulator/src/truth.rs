//! The truth oracle's body: the true status of every existing event, day by day.
//!
//! Tests compare what a client made of the lists with this. It is streamed like the lists
//! (see `body`), since a large world has millions of events.

use std::sync::Arc;

use serde::Serialize;

use crate::body::{Piece, Pieces};
use crate::calendar::Day;
use crate::lifecycle::Status;
use crate::world::World;

/// Truth entries serialised per chunk.
const ENTRIES_PER_CHUNK: u32 = 4096;

/// One event in the truth oracle.
#[derive(Debug, Serialize)]
struct TruthEntry {
    event_id: u64,
    status: &'static str,
    close_date: Option<Day>,
    approved_on: Option<Day>,
}

/// The true status of every event that exists on each day of a range: one
/// `{"date":…,"events":[…]}` object, or for a history, `{"days":[…]}` of them.
pub struct TruthBody {
    world: Arc<World>,
    day: Day,
    last: Day,
    history: bool,
    /// Whether the history's opening bytes were sent.
    opened: bool,
    /// The next event to write on `day`; `None` before the day's opening bytes.
    next: Option<u32>,
    done: bool,
}

impl TruthBody {
    /// The truth on each day of `first..=last` (which must not be empty), as a history, or
    /// as a single snapshot when `history` is false and the range is one day.
    pub fn new(world: Arc<World>, first: Day, last: Day, history: bool) -> Self {
        Self {
            world,
            day: first,
            last,
            history,
            opened: false,
            next: None,
            done: false,
        }
    }
}

impl Pieces for TruthBody {
    fn next_piece(&mut self) -> Piece {
        if self.done {
            return Piece::End;
        }
        let mut chunk = Vec::with_capacity(90 * ENTRIES_PER_CHUNK as usize);
        let first = match self.next {
            Some(index) => index,
            None => {
                if self.history {
                    chunk.extend_from_slice(if self.opened { b"," } else { b"{\"days\":[" });
                    self.opened = true;
                }
                chunk
                    .extend_from_slice(format!(r#"{{"date":"{}","events":["#, self.day).as_bytes());
                0
            }
        };

        let existing = self.world.created_through(self.day);
        let end = first.saturating_add(ENTRIES_PER_CHUNK).min(existing);
        for index in first..end {
            if index > 0 {
                chunk.push(b',');
            }
            // Every index below `existing` exists on the day, so the status is present.
            let status = self
                .world
                .timeline(index)
                .status_on(self.day)
                .unwrap_or(Status::Open);
            let entry = TruthEntry {
                event_id: World::event_id(index),
                status: status.name(),
                close_date: status.close_date(),
                approved_on: status.approved_on(),
            };
            if serde_json::to_writer(&mut chunk, &entry).is_err() {
                return Piece::Fail;
            }
        }
        self.next = Some(end);

        if end == existing {
            chunk.extend_from_slice(b"]}");
            self.next = None;
            self.done = self.day >= self.last;
            if self.done && self.history {
                chunk.extend_from_slice(b"]}");
            }
            self.day = self.day.plus(1);
        }
        Piece::Data(chunk)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::calendar::parse_day;
    use crate::world::ClosedFilter;

    fn collect(mut body: TruthBody) -> Value {
        let mut bytes = Vec::new();
        loop {
            match body.next_piece() {
                Piece::Data(chunk) => bytes.extend(chunk),
                Piece::End => break,
                Piece::Pause(_) | Piece::Fail => panic!("the truth never pauses or fails"),
            }
        }
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn history_shows_only_lifecycle_transitions_day_to_day() {
        let start = parse_day("2026-03-02").unwrap();
        let world = Arc::new(World::new(4, 400, start, ClosedFilter::CloseDate));
        let history = collect(TruthBody::new(world, start, start.plus(60), true));
        let days = history["days"].as_array().unwrap();
        assert_eq!(days.len(), 61);

        let mut transitions = std::collections::BTreeSet::new();
        for pair in days.windows(2) {
            let (before, after) = (pair[0]["events"].as_array().unwrap(), &pair[1]["events"]);
            assert!(
                after.as_array().unwrap().len() >= before.len(),
                "events never vanish"
            );
            for (old, new) in before.iter().zip(after.as_array().unwrap()) {
                assert_eq!(old["event_id"], new["event_id"]);
                let step = (
                    old["status"].as_str().unwrap(),
                    new["status"].as_str().unwrap(),
                );
                transitions.insert(step);
                match step {
                    ("holding", "closed") => assert_eq!(old["close_date"], new["close_date"]),
                    ("closed", "closed") => assert_eq!(old, new),
                    ("holding", "open") => assert!(new["close_date"].is_null()),
                    (a, b) if a == b => {}
                    ("open", "holding") | ("open", "deleted") | ("holding", "deleted") => {}
                    // Approval on the day of submission.
                    ("open", "closed") => {}
                    other => panic!("impossible transition {other:?}"),
                }
            }
        }
        for expected in [
            ("open", "holding"),
            ("holding", "closed"),
            ("holding", "open"),
        ] {
            assert!(
                transitions.contains(&expected),
                "{expected:?} never happens"
            );
        }
    }

    #[test]
    fn snapshot_lists_every_event_created_by_the_day() {
        let start = parse_day("2026-03-02").unwrap();
        let world = Arc::new(World::new(4, 300, start, ClosedFilter::CloseDate));
        let truth = collect(TruthBody::new(Arc::clone(&world), start, start, false));
        assert_eq!(truth["date"], "2026-03-02");
        let events = truth["events"].as_array().unwrap();
        assert_eq!(events.len() as u32, world.created_through(start));
        assert_eq!(events[0]["event_id"], 240_000);
    }
}
