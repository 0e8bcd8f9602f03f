//! Checking and parsing one list response: `{"count": N, "results": [...], "type": "..."}`.
//!
//! The body is walked once with serde, handing each result to a callback as soon as it is
//! parsed, so the whole list never has to exist as one in-memory tree. A response that
//! contradicts itself (wrong `type`, `count` different from the results, not one JSON object)
//! is an error, not data. A single result that cannot be an event (no integer `event_id`, a
//! malformed date) does not fail the response: it reaches the callback as [`Rejected`], to be
//! set aside.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::event::{Event, EventList, Rejected};

/// Why a response body was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("response is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the spooled response could not be read back: {0}")]
    Unreadable(String),
    #[error("response has no `{0}` field")]
    Missing(&'static str),
    #[error("response `type` is `{got}`, expected `{expected}`")]
    WrongType { expected: &'static str, got: String },
    #[error("response `count` is `{0}`, expected a non-negative integer")]
    BadCount(String),
    #[error("response `count` is {count} but it holds {results} results")]
    CountMismatch { count: u64, results: u64 },
    #[error(
        "response is paginated (`next` is `{0}`), which the API documentation does not describe"
    )]
    Paginated(String),
}

/// A callback for each result, in order: the event, or the rejected result with its index.
pub type OnResult<'a> = &'a mut dyn FnMut(Result<Event, (u64, Rejected)>);

/// Parses `body` as the response to `list`, calling `on_result` for each result in order.
/// Returns the number of results, rejected ones included.
pub fn parse(body: &[u8], list: EventList, on_result: OnResult<'_>) -> Result<u64, ResponseError> {
    check(serde_json::Deserializer::from_slice(body), list, on_result)
}

/// [`parse`] for a response read from a stream, such as a spool file.
pub fn parse_reader(
    reader: impl std::io::Read,
    list: EventList,
    on_result: OnResult<'_>,
) -> Result<u64, ResponseError> {
    check(
        serde_json::Deserializer::from_reader(reader),
        list,
        on_result,
    )
}

fn check<'de, R: serde_json::de::Read<'de>>(
    mut deserializer: serde_json::Deserializer<R>,
    list: EventList,
    on_result: OnResult<'_>,
) -> Result<u64, ResponseError> {
    let invalid = |err: serde_json::Error| {
        if err.is_io() {
            ResponseError::Unreadable(err.to_string())
        } else {
            ResponseError::InvalidJson(err.to_string())
        }
    };
    let top = TopSeed { on_result }
        .deserialize(&mut deserializer)
        .map_err(invalid)?;
    deserializer.end().map_err(invalid)?;

    let results = top.results.ok_or(ResponseError::Missing("results"))?;
    match top.kind {
        None => return Err(ResponseError::Missing("type")),
        Some(Value::String(kind)) if kind == list.as_str() => {}
        Some(other) => {
            let got = other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_owned);
            return Err(ResponseError::WrongType {
                expected: list.as_str(),
                got,
            });
        }
    }
    let count = match top.count {
        None => return Err(ResponseError::Missing("count")),
        Some(value) => value
            .as_u64()
            .ok_or_else(|| ResponseError::BadCount(value.to_string()))?,
    };
    if count != results {
        return Err(ResponseError::CountMismatch { count, results });
    }
    match top.next {
        None | Some(Value::Null) => Ok(results),
        Some(next) => Err(ResponseError::Paginated(next.to_string())),
    }
}

#[derive(Default)]
struct Top {
    count: Option<Value>,
    kind: Option<Value>,
    results: Option<u64>,
    next: Option<Value>,
}

struct TopSeed<'a> {
    on_result: OnResult<'a>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Top;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Top, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object with `count`, `results` and `type`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut top = Top::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "count" => top.count = Some(map.next_value()?),
                "type" => top.kind = Some(map.next_value()?),
                "next" => top.next = Some(map.next_value()?),
                "results" if top.results.is_none() => {
                    let seed = ResultsSeed {
                        on_result: &mut *self.on_result,
                    };
                    top.results = Some(map.next_value_seed(seed)?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }
}

struct ResultsSeed<'a> {
    on_result: &'a mut dyn FnMut(Result<Event, (u64, Rejected)>),
}

impl<'de> DeserializeSeed<'de> for ResultsSeed<'_> {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<u64, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ResultsSeed<'_> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`results` as an array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut index = 0;
        while let Some(value) = seq.next_element::<Value>()? {
            (self.on_result)(Event::from_value(value).map_err(|rejected| (index, rejected)));
            index += 1;
        }
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VENDOR_EXAMPLE: &str = include_str!("../../tests/fixtures/vendor-example-open.json");

    fn ids(body: &str, list: EventList) -> Result<Vec<i64>, ResponseError> {
        let mut ids = Vec::new();
        parse(body.as_bytes(), list, &mut |result| match result {
            Ok(event) => ids.push(event.event_id),
            Err((index, _)) => ids.push(-1 - index as i64),
        })?;
        Ok(ids)
    }

    #[test]
    fn vendor_example_response_parses() {
        let mut events = Vec::new();
        let count = parse(VENDOR_EXAMPLE.as_bytes(), EventList::Open, &mut |e| {
            events.push(e.unwrap())
        });
        assert_eq!(count, Ok(1));
        assert_eq!(events[0].event_id, 244822);
        assert_eq!(events[0].field("facility_name").unwrap(), "Cincinnati, OH");
    }

    #[test]
    fn type_must_echo_the_request() {
        let body = r#"{"count":0,"results":[],"type":"holding"}"#;
        assert_eq!(
            ids(body, EventList::Open),
            Err(ResponseError::WrongType {
                expected: "open",
                got: "holding".into()
            })
        );
        assert_eq!(
            ids(r#"{"count":0,"results":[]}"#, EventList::Open),
            Err(ResponseError::Missing("type"))
        );
    }

    #[test]
    fn count_must_equal_the_number_of_results() {
        let body = r#"{"count":2,"results":[{"event_id":1}],"type":"open"}"#;
        assert_eq!(
            ids(body, EventList::Open),
            Err(ResponseError::CountMismatch {
                count: 2,
                results: 1
            })
        );
        let body = r#"{"results":[],"type":"open"}"#;
        assert_eq!(
            ids(body, EventList::Open),
            Err(ResponseError::Missing("count"))
        );
        let body = r#"{"count":"0","results":[],"type":"open"}"#;
        assert!(matches!(
            ids(body, EventList::Open),
            Err(ResponseError::BadCount(_))
        ));
    }

    #[test]
    fn a_bad_result_is_handed_out_as_rejected_and_counted() {
        let body = r#"{"count":3,"results":[{"event_id":1},{"event_id":"x"},{"event_id":3}],"type":"open"}"#;
        assert_eq!(ids(body, EventList::Open), Ok(vec![1, -2, 3]));
        let mut reasons = Vec::new();
        parse(body.as_bytes(), EventList::Open, &mut |result| {
            if let Err((_, rejected)) = result {
                reasons.push(rejected.error);
            }
        })
        .unwrap();
        assert_eq!(
            reasons,
            [crate::event::RecordError::BadEventId("\"x\"".into())]
        );
    }

    #[test]
    fn truncated_or_trailing_or_non_object_bodies_are_invalid_json() {
        for body in [
            r#"{"count":1,"results":[{"event_id":1}"#,
            r#"{"count":0,"results":[],"type":"open"} x"#,
            "[]",
            "<html>",
        ] {
            assert!(
                matches!(
                    ids(body, EventList::Open),
                    Err(ResponseError::InvalidJson(_))
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn field_order_does_not_matter_and_unknown_top_level_fields_are_ignored() {
        let body =
            r#"{"type":"recent_closed","generated":"now","results":[{"event_id":3}],"count":1}"#;
        assert_eq!(ids(body, EventList::RecentClosed), Ok(vec![3]));
    }

    #[test]
    fn a_paginated_response_is_refused() {
        let body =
            r#"{"count":1,"next":"https://x/?page=2","results":[{"event_id":3}],"type":"open"}"#;
        assert!(matches!(
            ids(body, EventList::Open),
            Err(ResponseError::Paginated(_))
        ));
        let body = r#"{"count":1,"next":null,"results":[{"event_id":3}],"type":"open"}"#;
        assert_eq!(ids(body, EventList::Open), Ok(vec![3]));
    }
}
