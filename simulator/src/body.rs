//! Response bodies written chunk by chunk as the client reads them.
//!
//! Lists and the truth oracle can run to hundreds of megabytes, so they are never built in
//! memory: a body is a small state machine that serialises the next few hundred records
//! each time the connection asks for more. The same machine injects the body faults: a
//! pause after the opening bytes, or a cut half-way followed by a broken connection.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use serde_json::Value;

use crate::calendar::Day;
use crate::faults::BadRecord;
use crate::record::Record;
use crate::world::{List, Listed, World};

/// Records serialised per chunk (a few hundred kilobytes).
const RECORDS_PER_CHUNK: usize = 512;
/// Pause before a cut connection, so the bytes sent before it are flushed first.
const FLUSH_PAUSE: Duration = Duration::from_millis(50);

/// The next thing a body does.
pub enum Piece {
    /// Send these bytes.
    Data(Vec<u8>),
    /// Send nothing for a while.
    Pause(Duration),
    /// Break the connection.
    Fail,
    /// The body is complete.
    End,
}

/// A body that produces itself piece by piece.
pub trait Pieces: Send + 'static {
    /// The next piece; called again after every `Data` and `Pause`.
    fn next_piece(&mut self) -> Piece;
}

/// Streams `source` as a response body.
pub fn streamed(source: impl Pieces) -> Body {
    let stream = futures_util::stream::unfold(Some(source), |state| async move {
        let mut source = state?;
        loop {
            match source.next_piece() {
                Piece::Data(bytes) => return Some((Ok(Bytes::from(bytes)), Some(source))),
                Piece::Pause(pause) => tokio::time::sleep(pause).await,
                Piece::Fail => return Some((Err(io::Error::other("simulated failure")), None)),
                Piece::End => return None,
            }
        }
    });
    Body::from_stream(stream)
}

/// A body that breaks the connection before any byte of the response is sent.
pub fn reset() -> Body {
    struct Reset;
    impl Pieces for Reset {
        fn next_piece(&mut self) -> Piece {
            Piece::Fail
        }
    }
    streamed(Reset)
}

/// How a list body departs from a correct one.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    /// Added to the true count (`wrong_count` adds one).
    pub extra_count: usize,
    /// The `type` to echo; `None` leaves the key out.
    pub type_name: Option<&'static str>,
    /// Corrupts the middle record.
    pub bad_record: Option<BadRecord>,
    /// Pauses this long after the opening bytes.
    pub stall: Option<Duration>,
    /// Stops about half-way and breaks the connection.
    pub truncate: bool,
}

#[derive(Debug, Clone, Copy)]
enum Stage {
    Head,
    Stall(Duration),
    Records(usize),
    Tail,
    PauseThenFail,
    Fail,
    Done,
}

/// The body of a list response: `{"count":…,"results":[…],"type":…}`.
pub struct ListBody {
    world: Arc<World>,
    list: List,
    today: Day,
    items: Vec<Listed>,
    shape: Shape,
    stage: Stage,
}

impl ListBody {
    /// The body for `items`, the events of `list` on `today`.
    pub fn new(
        world: Arc<World>,
        list: List,
        today: Day,
        items: Vec<Listed>,
        shape: Shape,
    ) -> Self {
        Self {
            world,
            list,
            today,
            items,
            shape,
            stage: Stage::Head,
        }
    }

    fn head(&mut self) -> Piece {
        let count = self.items.len() + self.shape.extra_count;
        let mut head = format!(r#"{{"count":{count},"results":["#).into_bytes();
        self.stage = match self.shape.stall {
            Some(pause) => Stage::Stall(pause),
            None => Stage::Records(0),
        };
        if self.shape.truncate && self.items.is_empty() {
            head.truncate(head.len() / 2);
            self.stage = Stage::PauseThenFail;
        }
        Piece::Data(head)
    }

    fn records(&mut self, first: usize) -> Piece {
        let end = (first + RECORDS_PER_CHUNK).min(self.items.len());
        let middle = self.items.len() / 2;
        let mut chunk = Vec::with_capacity(800 * (end - first));
        for position in first..end {
            if position > 0 {
                chunk.push(b',');
            }
            let start = chunk.len();
            let record = Record::new(&self.world, &self.items[position], self.list, self.today);
            let written = match self.shape.bad_record.filter(|_| position == middle) {
                Some(bad) => serde_json::to_writer(&mut chunk, &corrupted(&record, bad)),
                None => serde_json::to_writer(&mut chunk, &record),
            };
            if written.is_err() {
                return Piece::Fail;
            }
            if self.shape.truncate && position == middle {
                chunk.truncate(start + (chunk.len() - start) / 2);
                self.stage = Stage::PauseThenFail;
                return Piece::Data(chunk);
            }
        }
        self.stage = if end == self.items.len() {
            Stage::Tail
        } else {
            Stage::Records(end)
        };
        Piece::Data(chunk)
    }

    fn tail(&self) -> Vec<u8> {
        match self.shape.type_name {
            Some(name) => format!(r#"],"type":"{name}"}}"#).into_bytes(),
            None => b"]}".to_vec(),
        }
    }
}

impl Pieces for ListBody {
    fn next_piece(&mut self) -> Piece {
        match self.stage {
            Stage::Head => self.head(),
            Stage::Stall(pause) => {
                self.stage = Stage::Records(0);
                Piece::Pause(pause)
            }
            Stage::Records(first) if first < self.items.len() => self.records(first),
            Stage::Records(_) | Stage::Tail => {
                self.stage = Stage::Done;
                Piece::Data(self.tail())
            }
            Stage::PauseThenFail => {
                self.stage = Stage::Fail;
                Piece::Pause(FLUSH_PAUSE)
            }
            Stage::Fail => {
                self.stage = Stage::Done;
                Piece::Fail
            }
            Stage::Done => Piece::End,
        }
    }
}

/// `record` as a JSON value with the requested corruption, other fields in place.
fn corrupted(record: &Record<'_>, bad: BadRecord) -> Value {
    let mut value = serde_json::to_value(record).unwrap_or(Value::Null);
    if let Some(fields) = value.as_object_mut() {
        match bad {
            BadRecord::MissingEventId => {
                fields.shift_remove("event_id");
            }
            BadRecord::StringEventId => {
                let id = fields
                    .get("event_id")
                    .map(Value::to_string)
                    .unwrap_or_default();
                fields.insert("event_id".into(), Value::String(id));
            }
            BadRecord::BadDate => {
                let due = fields
                    .get("due_date")
                    .and_then(Value::as_str)
                    .unwrap_or("2024");
                let bad_date = format!("{}-02-30", &due[..4.min(due.len())]);
                fields.insert("due_date".into(), Value::String(bad_date));
            }
        }
    }
    value
}
