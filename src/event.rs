//! One PlanTRAK event: its lifecycle status and its line in a snapshot file.
//!
//! The vendor documents three states through two fields:
//!
//! | status  | `is_closed` | `close_date` |
//! |---------|-------------|--------------|
//! | open    | false       | null         |
//! | holding | false       | a date       |
//! | closed  | true        | a date       |
//!
//! A snapshot line keeps every documented field with the API's value and flattens what
//! Athena's Hive JSON SerDe cannot read as a column: nested values become JSON strings, and
//! undocumented fields travel together as one JSON object string in `extra`.

use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The fields the vendor documents, in the order of its example response. Each appears in
/// every snapshot line (as `null` when the API left it out).
pub const DOCUMENTED_FIELDS: [&str; 26] = [
    "area_id",
    "area_name",
    "assignment_id",
    "assignment_name",
    "citation",
    "citation_link",
    "close_date",
    "comments",
    "due_date",
    "event_activity",
    "event_description",
    "event_id",
    "event_info",
    "event_parent_id",
    "event_parent_type",
    "event_recommendation",
    "facility_id",
    "facility_name",
    "is_closed",
    "is_overdue",
    "is_regulatory",
    "required_checklist_id",
    "required_checklist_name",
    "requires_attachment",
    "type_id",
    "type_name",
];

/// Columns a snapshot line adds after the documented fields.
pub const DERIVED_FIELDS: [&str; 3] = ["status", "extra", "snapshot_at"];

/// The three lists the API serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventList {
    Open,
    Holding,
    RecentClosed,
}

impl EventList {
    /// All lists, in the order a run pulls them.
    pub const ALL: [EventList; 3] = [EventList::Open, EventList::Holding, EventList::RecentClosed];

    /// The list whose `type` is `name`.
    pub fn named(name: &str) -> Option<EventList> {
        EventList::ALL
            .into_iter()
            .find(|list| list.as_str() == name)
    }

    /// The value of the `type` query parameter, echoed in the response.
    pub fn as_str(self) -> &'static str {
        match self {
            EventList::Open => "open",
            EventList::Holding => "holding",
            EventList::RecentClosed => "recent_closed",
        }
    }
}

impl fmt::Display for EventList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an event stands in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Holding,
    Closed,
}

impl Status {
    /// The status the lifecycle table gives these two fields. `is_closed` decides closure
    /// on its own, as the vendor calls it the final closure status.
    pub fn from_fields(is_closed: bool, close_date: Option<&str>) -> Status {
        match (is_closed, close_date) {
            (true, _) => Status::Closed,
            (false, Some(_)) => Status::Holding,
            (false, None) => Status::Open,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Holding => "holding",
            Status::Closed => "closed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a result cannot be taken as an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("result is not a JSON object")]
    NotAnObject,
    #[error("result has no `event_id`")]
    MissingEventId,
    #[error("result has a non-integer `event_id` `{0}`")]
    BadEventId(String),
    #[error("result {event_id} has a `{field}` `{value}` that is not a YYYY-MM-DD date")]
    BadDate {
        event_id: i64,
        field: &'static str,
        value: String,
    },
}

/// A result that is not a usable event, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub error: RecordError,
    /// The result as the API sent it.
    pub record: Value,
}

impl Rejected {
    /// The result's `event_id` when it is an integer, whatever else is wrong with it.
    pub fn event_id(&self) -> Option<i64> {
        self.record.get("event_id").and_then(Value::as_i64)
    }
}

/// The identity and lifecycle fields of a result: its id, `is_closed` and `close_date`.
fn check_fields(fields: &Map<String, Value>) -> Result<(i64, bool, Option<Date>), RecordError> {
    let event_id = match fields.get("event_id") {
        None | Some(Value::Null) => return Err(RecordError::MissingEventId),
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64().unwrap_or_default(),
        Some(other) => return Err(RecordError::BadEventId(other.to_string())),
    };
    let is_closed = fields
        .get("is_closed")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut dates = [None, None];
    for (slot, name) in dates.iter_mut().zip(["close_date", "due_date"]) {
        *slot = match fields.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if text.is_empty() => None,
            Some(value) => Some(parse_date(value).ok_or_else(|| {
                RecordError::BadDate {
                    event_id,
                    field: name,
                    value: value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned),
                }
            })?),
        };
    }
    Ok((event_id, is_closed, dates[0]))
}

/// An event as the API sent it, with its identity and status picked out.
#[derive(Debug, Clone)]
pub struct Event {
    pub event_id: i64,
    pub status: Status,
    pub is_closed: bool,
    pub close_date: Option<Date>,
    fields: Map<String, Value>,
}

impl Event {
    /// Takes one element of `results`; a result that cannot be an event comes back with
    /// the reason, to be set aside.
    pub fn from_value(value: Value) -> Result<Event, Rejected> {
        let fields = match value {
            Value::Object(fields) => fields,
            other => {
                return Err(Rejected {
                    error: RecordError::NotAnObject,
                    record: other,
                });
            }
        };
        let checked = check_fields(&fields);
        let (event_id, is_closed, close_date) = match checked {
            Ok(identity) => identity,
            Err(error) => {
                return Err(Rejected {
                    error,
                    record: Value::Object(fields),
                });
            }
        };
        let status = Status::from_fields(is_closed, close_date.map(|_| ""));
        Ok(Event {
            event_id,
            status,
            is_closed,
            close_date,
            fields,
        })
    }

    /// Every field as the API sent it.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// A field as the API sent it.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// The fields a change line repeats to say which event changed.
    pub fn descriptive(&self) -> Descriptive {
        Descriptive::from_fields(&self.fields)
    }

    /// Appends this event's snapshot line (with a trailing newline) to `out`.
    pub fn write_snapshot_line(&self, snapshot_at: &str, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, name) in DOCUMENTED_FIELDS.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_key(name, out);
            write_flat(self.fields.get(*name).unwrap_or(&Value::Null), out);
        }

        out.extend_from_slice(b",\"status\":\"");
        out.extend_from_slice(self.status.as_str().as_bytes());
        out.extend_from_slice(b"\",\"extra\":");
        let extra: Map<String, Value> = self
            .fields
            .iter()
            .filter(|(name, _)| !DOCUMENTED_FIELDS.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        if extra.is_empty() {
            out.extend_from_slice(b"null");
        } else {
            write_json_string(&Value::Object(extra).to_string(), out);
        }

        out.extend_from_slice(b",\"snapshot_at\":");
        write_json_string(snapshot_at, out);
        out.extend_from_slice(b"}\n");
    }
}

/// The fields that describe an event in a change line, as the API sent them.
pub const DESCRIPTIVE_FIELDS: [&str; 11] = [
    "facility_id",
    "facility_name",
    "area_id",
    "area_name",
    "type_id",
    "type_name",
    "assignment_id",
    "assignment_name",
    "event_activity",
    "due_date",
    "is_overdue",
];

/// An event's descriptive fields, in [`DESCRIPTIVE_FIELDS`] order (`null` when missing).
#[derive(Debug, Clone, PartialEq)]
pub struct Descriptive(pub Vec<Value>);

impl Descriptive {
    /// Picks the descriptive fields out of a result or a snapshot line.
    pub fn from_fields(fields: &Map<String, Value>) -> Descriptive {
        let values = DESCRIPTIVE_FIELDS
            .iter()
            .map(|name| fields.get(*name).cloned().unwrap_or(Value::Null))
            .collect();
        Descriptive(values)
    }

    /// All fields `null`: nothing is known of the event.
    pub fn unknown() -> Descriptive {
        Descriptive(vec![Value::Null; DESCRIPTIVE_FIELDS.len()])
    }
}

/// A strict `YYYY-MM-DD` date.
pub fn parse_date(value: &Value) -> Option<Date> {
    let text = value.as_str()?;
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    text.parse().ok()
}

fn write_key(name: &str, out: &mut Vec<u8>) {
    write_json_string(name, out);
    out.push(b':');
}

/// Scalars as they are; arrays and objects as a JSON string of their compact text.
fn write_flat(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Array(_) | Value::Object(_) => write_json_string(&value.to_string(), out),
        scalar => serde_json::to_writer(&mut *out, scalar).expect("writing to a Vec cannot fail"),
    }
}

fn write_json_string(text: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, text).expect("writing to a Vec cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line_of(value: Value) -> Map<String, Value> {
        let event = Event::from_value(value).unwrap();
        let mut out = Vec::new();
        event.write_snapshot_line("2026-12-03 06:00:01.250", &mut out);
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn status_follows_the_lifecycle_table() {
        assert_eq!(Status::from_fields(false, None), Status::Open);
        assert_eq!(
            Status::from_fields(false, Some("2026-11-30")),
            Status::Holding
        );
        assert_eq!(
            Status::from_fields(true, Some("2026-11-30")),
            Status::Closed
        );
        assert_eq!(Status::from_fields(true, None), Status::Closed);
    }

    #[test]
    fn event_id_must_be_an_integer() {
        let error = |value: Value| Event::from_value(value).unwrap_err().error;
        assert_eq!(error(json!({})), RecordError::MissingEventId);
        assert_eq!(
            error(json!({"event_id": "12"})),
            RecordError::BadEventId("\"12\"".into())
        );
        assert!(matches!(
            error(json!({"event_id": 1.5})),
            RecordError::BadEventId(_)
        ));
        assert_eq!(error(json!([1])), RecordError::NotAnObject);
        assert_eq!(
            Event::from_value(json!({"event_id": 7})).unwrap().event_id,
            7
        );
        let rejected = Event::from_value(json!({"event_id": "12", "x": 1})).unwrap_err();
        assert_eq!(
            rejected.record,
            json!({"event_id": "12", "x": 1}),
            "the record is kept"
        );
        assert_eq!(rejected.event_id(), None);
    }

    #[test]
    fn dates_must_be_calendar_dates() {
        let event = Event::from_value(json!({"event_id": 7, "close_date": "2026-11-30"})).unwrap();
        assert_eq!(event.close_date, Some(jiff::civil::date(2026, 11, 30)));
        for bad in [json!("2026-02-30"), json!("30/11/2026"), json!(20261130)] {
            for field in ["close_date", "due_date"] {
                let rejected = Event::from_value(json!({"event_id": 7, field: bad})).unwrap_err();
                let named =
                    matches!(rejected.error, RecordError::BadDate { field: f, .. } if f == field);
                assert!(named, "{}", rejected.error);
                assert_eq!(rejected.event_id(), Some(7));
            }
        }
    }

    #[test]
    fn snapshot_line_has_every_documented_field_and_keeps_nulls() {
        let line = line_of(json!({"event_id": 5, "is_closed": false, "close_date": null}));
        for name in DOCUMENTED_FIELDS.iter().chain(DERIVED_FIELDS.iter()) {
            assert!(line.contains_key(*name), "{name}");
        }
        assert_eq!(line["close_date"], Value::Null);
        assert_eq!(line["due_date"], Value::Null);
        assert_eq!(line["status"], "open");
        assert_eq!(line["extra"], Value::Null);
        assert_eq!(line["snapshot_at"], "2026-12-03 06:00:01.250");
    }

    #[test]
    fn nested_values_and_undocumented_fields_become_json_strings() {
        let comments = json!([{"author": "A. Phillips", "text": "done \"early\""}]);
        let line = line_of(json!({
            "event_id": 9,
            "is_closed": false,
            "close_date": "2026-12-01",
            "comments": comments,
            "submitted_by": "Dana Ortiz",
            "metadata": {"revision": 3},
        }));
        assert_eq!(line["status"], "holding");
        let decoded: Value = serde_json::from_str(line["comments"].as_str().unwrap()).unwrap();
        assert_eq!(decoded, comments);
        let extra: Value = serde_json::from_str(line["extra"].as_str().unwrap()).unwrap();
        assert_eq!(
            extra,
            json!({"submitted_by": "Dana Ortiz", "metadata": {"revision": 3}})
        );
        assert!(line.values().all(|v| !v.is_array() && !v.is_object()));
    }
}
