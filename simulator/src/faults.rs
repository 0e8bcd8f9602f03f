//! Fault rules: what to break in the next matching API responses.
//!
//! Rules are kept in the order they were added. Each well-formed, authorised API request
//! (one that would otherwise get a 200) takes the first rule that matches its list and
//! still has uses left, and uses it up by one. Requests that get a 401 or 400 never consume
//! a rule.

use serde::{Deserialize, Serialize};

use crate::world::List;

/// Which lists a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListMatch {
    /// `type=open` only.
    Open,
    /// `type=holding` only.
    Holding,
    /// `type=recent_closed` only.
    RecentClosed,
    /// Every list.
    Any,
}

/// How one record of a response is corrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BadRecord {
    /// `event_id` is left out.
    MissingEventId,
    /// `event_id` is a string of digits.
    StringEventId,
    /// `due_date` is an impossible date (February 30th).
    BadDate,
}

/// What goes wrong with a response.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// An error status, optionally with a `Retry-After` header value.
    Status {
        /// The HTTP status, 300–599.
        status: u16,
        /// The `Retry-After` header value, sent as given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<String>,
    },
    /// The connection is closed without any response.
    Reset {},
    /// The body pauses for `ms` milliseconds right after its opening bytes.
    Stall {
        /// Length of the pause.
        ms: u64,
    },
    /// A 200 whose body stops about half-way, then the connection ends.
    Truncate {},
    /// A 200 whose body is an HTML page rather than JSON.
    InvalidJson {},
    /// `count` is one more than the number of results.
    WrongCount {},
    /// `type` names another list.
    WrongType {},
    /// `type` is left out.
    MissingType {},
    /// The middle result is corrupted.
    BadRecord {
        /// How it is corrupted.
        record: BadRecord,
    },
}

/// A fault and the requests it applies to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Which lists it matches; `any` when left out.
    #[serde(default = "any_list")]
    pub list: ListMatch,
    /// How many matching requests it still applies to; 1 when left out.
    #[serde(default = "once")]
    pub times: u32,
    /// What goes wrong.
    pub fault: Fault,
}

fn any_list() -> ListMatch {
    ListMatch::Any
}

fn once() -> u32 {
    1
}

impl Rule {
    /// Checks the values serde cannot: use count, status range and header syntax.
    pub fn validate(&self) -> Result<(), String> {
        if self.times == 0 {
            return Err("`times` must be at least 1".into());
        }
        if let Fault::Status {
            status,
            retry_after,
        } = &self.fault
        {
            if !(300..=599).contains(status) {
                return Err(format!("status `{status}` is not in 300..=599"));
            }
            let printable = |v: &String| v.bytes().all(|b| (b' '..=b'~').contains(&b));
            if retry_after.as_ref().is_some_and(|v| !printable(v)) {
                return Err("`retry_after` must be printable ASCII".into());
            }
        }
        Ok(())
    }

    fn matches(&self, list: List) -> bool {
        match self.list {
            ListMatch::Any => true,
            ListMatch::Open => list == List::Open,
            ListMatch::Holding => list == List::Holding,
            ListMatch::RecentClosed => matches!(list, List::RecentClosed { .. }),
        }
    }
}

/// The pending rules, in the order they were added.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Rule>,
}

impl Faults {
    /// Appends rules after the pending ones.
    pub fn add(&mut self, rules: Vec<Rule>) {
        self.rules.extend(rules);
    }

    /// Drops every pending rule.
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The pending rules with their remaining uses.
    pub fn pending(&self) -> &[Rule] {
        &self.rules
    }

    /// Uses up the first rule matching `list`, returning its fault.
    pub fn take(&mut self, list: List) -> Option<Fault> {
        let position = self
            .rules
            .iter()
            .position(|r| r.times > 0 && r.matches(list))?;
        let rule = &mut self.rules[position];
        rule.times -= 1;
        let fault = rule.fault.clone();
        if rule.times == 0 {
            self.rules.remove(position);
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: &str) -> Vec<Rule> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn rules_apply_in_order_and_are_used_up() {
        let mut faults = Faults::default();
        faults.add(rules(
            r#"[{"list":"holding","fault":{"kind":"reset"}},
                {"times":2,"fault":{"kind":"status","status":503,"retry_after":"0"}}]"#,
        ));
        let status = Fault::Status {
            status: 503,
            retry_after: Some("0".into()),
        };
        assert_eq!(faults.take(List::Open), Some(status.clone()));
        assert_eq!(faults.take(List::Holding), Some(Fault::Reset {}));
        assert_eq!(faults.take(List::Holding), Some(status));
        assert_eq!(faults.take(List::Holding), None);
        assert!(faults.pending().is_empty());
    }

    #[test]
    fn list_specific_rules_skip_other_lists() {
        let mut faults = Faults::default();
        faults.add(rules(
            r#"[{"list":"recent_closed","fault":{"kind":"truncate"}}]"#,
        ));
        assert_eq!(faults.take(List::Open), None);
        assert_eq!(
            faults.take(List::RecentClosed { past_days: 3 }),
            Some(Fault::Truncate {})
        );
    }

    #[test]
    fn every_documented_fault_kind_parses() {
        let kinds = [
            r#"{"kind":"status","status":429}"#,
            r#"{"kind":"reset"}"#,
            r#"{"kind":"stall","ms":500}"#,
            r#"{"kind":"truncate"}"#,
            r#"{"kind":"invalid_json"}"#,
            r#"{"kind":"wrong_count"}"#,
            r#"{"kind":"wrong_type"}"#,
            r#"{"kind":"missing_type"}"#,
            r#"{"kind":"bad_record","record":"missing_event_id"}"#,
            r#"{"kind":"bad_record","record":"string_event_id"}"#,
            r#"{"kind":"bad_record","record":"bad_date"}"#,
        ];
        for kind in kinds {
            let rule: Rule = serde_json::from_str(&format!(r#"{{"fault":{kind}}}"#)).unwrap();
            assert_eq!(rule.validate(), Ok(()), "{kind}");
        }
    }

    #[test]
    fn malformed_rules_are_rejected() {
        let bad = [
            r#"{"fault":{"kind":"explode"}}"#,
            r#"{"fault":{"kind":"stall"}}"#,
            r#"{"fault":{"kind":"reset","extra":1}}"#,
            r#"{"list":"closed","fault":{"kind":"reset"}}"#,
        ];
        for json in bad {
            assert!(serde_json::from_str::<Rule>(json).is_err(), "{json}");
        }
        let zero: Rule = serde_json::from_str(r#"{"times":0,"fault":{"kind":"reset"}}"#).unwrap();
        assert!(zero.validate().is_err());
        let success: Rule =
            serde_json::from_str(r#"{"fault":{"kind":"status","status":200}}"#).unwrap();
        assert!(success.validate().is_err());
    }
}
