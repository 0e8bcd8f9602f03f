//! The life of one event, as a timeline of status changes.
//!
//! An event is created open. It is submitted (holding, `close_date` = the submission day),
//! and a reviewer then either approves it (closed; `close_date` stays the submission day)
//! or sends it back (open again, `close_date` cleared), so an event can go round more than
//! once. A few events are deleted while open or holding and vanish from every list. The
//! whole timeline is drawn up front from the event's own random stream, so the status on
//! any day is a lookup, independent of which days were looked at before.

use crate::calendar::Day;
use crate::rng::Rng;

/// Most times one event is sent back before it is finally approved.
pub const MAX_SEND_BACKS: i32 = 3;
/// Most days an event waits in the holding table before approval.
pub const APPROVAL_DAYS_MAX: i32 = 40;
/// Chance that an event is first submitted after its due date.
const LATE_PER_MILLE: u64 = 250;
/// Most days a quickly approved submission waits.
const QUICK_APPROVAL_DAYS_MAX: i32 = 3;
/// Chance that a submission is approved quickly.
const QUICK_APPROVAL_PER_MILLE: u64 = 150;
/// Most days an event waits in the holding table before it is sent back.
const SEND_BACK_DAYS_MAX: i32 = 10;
/// Most days a sent-back event stays open before it is submitted again.
const REWORK_DAYS_MAX: i32 = 14;
/// Chance, per submission, that the reviewer sends the event back.
const SEND_BACK_PER_MILLE: u64 = 100;
/// Chance that an event is deleted at some point before it would be approved.
const DELETE_PER_MILLE: u64 = 30;
/// Room for every step: open, (holding, open) per send-back, holding, closed, deleted.
const MAX_STEPS: usize = 4 + 2 * MAX_SEND_BACKS as usize;

/// Where an event stands on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Active, not yet submitted.
    Open,
    /// Submitted on `submitted`, waiting for review.
    Holding {
        /// The submission day, reported as `close_date`.
        submitted: Day,
    },
    /// Approved on `approved`; `close_date` is still the submission day.
    Closed {
        /// The submission day, reported as `close_date`.
        submitted: Day,
        /// The approval day.
        approved: Day,
    },
    /// Deleted; appears in no list from this day on.
    Deleted,
}

impl Status {
    /// The lower-case name used by the control endpoints.
    pub fn name(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Holding { .. } => "holding",
            Status::Closed { .. } => "closed",
            Status::Deleted => "deleted",
        }
    }

    /// The `close_date` the API reports for this status.
    pub fn close_date(self) -> Option<Day> {
        match self {
            Status::Holding { submitted } | Status::Closed { submitted, .. } => Some(submitted),
            Status::Open | Status::Deleted => None,
        }
    }

    /// The approval day, for closed events.
    pub fn approved_on(self) -> Option<Day> {
        match self {
            Status::Closed { approved, .. } => Some(approved),
            _ => None,
        }
    }
}

/// One status change: from `day` on, the event has `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The first day with the new status.
    pub day: Day,
    /// The new status.
    pub status: Status,
}

/// Every status change of one event, in day order; the first step is its creation.
#[derive(Debug, Clone)]
pub struct Timeline {
    steps: [Step; MAX_STEPS],
    len: usize,
}

impl Timeline {
    /// Draws the timeline of an event created on `created` whose first due date is
    /// `lead_days` later.
    pub fn draw(rng: &mut Rng, created: Day, lead_days: i32) -> Self {
        let open = Step {
            day: created,
            status: Status::Open,
        };
        let mut timeline = Self {
            steps: [open; MAX_STEPS],
            len: 1,
        };

        let mut reopened = created;
        for round in 0..=MAX_SEND_BACKS {
            let submitted = reopened.plus(if round == 0 {
                first_open_days(rng, lead_days)
            } else {
                rng.between(1, REWORK_DAYS_MAX)
            });
            timeline.push(submitted, Status::Holding { submitted });

            if round < MAX_SEND_BACKS && rng.chance(SEND_BACK_PER_MILLE) {
                reopened = submitted.plus(rng.between(1, SEND_BACK_DAYS_MAX));
                timeline.push(reopened, Status::Open);
                continue;
            }
            let approved = submitted.plus(approval_days(rng));
            timeline.push(
                approved,
                Status::Closed {
                    submitted,
                    approved,
                },
            );
            break;
        }

        let end = timeline.end();
        if rng.chance(DELETE_PER_MILLE) && end.since(created) >= 2 {
            let deleted = created.plus(rng.between(1, end.since(created) - 1));
            timeline.len = timeline.steps().iter().filter(|s| s.day < deleted).count();
            timeline.push(deleted, Status::Deleted);
        }
        timeline
    }

    /// The longest an event with this lead time can stay open or holding.
    pub fn max_lifetime(lead_days: i32) -> i32 {
        first_open_max(lead_days)
            + MAX_SEND_BACKS * (SEND_BACK_DAYS_MAX + REWORK_DAYS_MAX)
            + APPROVAL_DAYS_MAX
    }

    /// The status changes, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps[..self.len]
    }

    /// The creation day.
    pub fn created(&self) -> Day {
        self.steps[0].day
    }

    /// The day the event reached its final status (closed or deleted).
    pub fn end(&self) -> Day {
        self.steps[self.len - 1].day
    }

    /// The status on `day`, or `None` before the event exists.
    pub fn status_on(&self, day: Day) -> Option<Status> {
        // Several changes may fall on one day; the last of them is what the day shows.
        self.steps()
            .iter()
            .rev()
            .find(|s| s.day <= day)
            .map(|s| s.status)
    }

    /// The days on which a reviewer sent the event back.
    pub fn send_backs(&self) -> impl Iterator<Item = Day> + '_ {
        self.steps()[1..]
            .iter()
            .filter(|s| s.status == Status::Open)
            .map(|s| s.day)
    }

    fn push(&mut self, day: Day, status: Status) {
        self.steps[self.len] = Step { day, status };
        self.len += 1;
    }
}

/// Days from creation to the first submission: most events are submitted in the last
/// three quarters of their lead time, one in four only after the due date (overdue for a
/// while, by up to half the lead time or a week).
fn first_open_days(rng: &mut Rng, lead_days: i32) -> i32 {
    if rng.chance(LATE_PER_MILLE) {
        return lead_days + rng.between(1, days_late_max(lead_days));
    }
    rng.between((lead_days / 4).max(1), (lead_days * 85 / 100).max(1))
}

fn first_open_max(lead_days: i32) -> i32 {
    lead_days + days_late_max(lead_days)
}

fn days_late_max(lead_days: i32) -> i32 {
    (lead_days / 2).max(7)
}

/// Days a submission waits for approval, 0–40: about one in seven is approved within
/// three days, the rest wait longer, skewed towards the slow end (the larger of two draws),
/// as review queues do.
fn approval_days(rng: &mut Rng) -> i32 {
    if rng.chance(QUICK_APPROVAL_PER_MILLE) {
        return rng.between(0, QUICK_APPROVAL_DAYS_MAX);
    }
    let first = rng.between(QUICK_APPROVAL_DAYS_MAX + 1, APPROVAL_DAYS_MAX);
    first.max(rng.between(QUICK_APPROVAL_DAYS_MAX + 1, APPROVAL_DAYS_MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;

    fn timelines(count: u64) -> impl Iterator<Item = Timeline> {
        (0..count).map(|key| {
            let mut rng = Rng::keyed(3, key, Purpose::Lifecycle);
            Timeline::draw(&mut rng, Day(1000), [7, 30, 91, 365][key as usize % 4])
        })
    }

    #[test]
    fn approval_keeps_the_submission_day_as_close_date() {
        for timeline in timelines(5000) {
            for pair in timeline.steps().windows(2) {
                if let (
                    Status::Holding { submitted },
                    Status::Closed {
                        submitted: kept, ..
                    },
                ) = (pair[0].status, pair[1].status)
                {
                    assert_eq!(submitted, kept);
                    assert_eq!(submitted, pair[0].day);
                }
            }
        }
    }

    #[test]
    fn send_back_reopens_and_clears_close_date() {
        let mut seen = 0;
        for timeline in timelines(5000) {
            for pair in timeline.steps().windows(2) {
                if matches!(pair[0].status, Status::Holding { .. })
                    && pair[1].status == Status::Open
                {
                    assert_eq!(pair[1].status.close_date(), None);
                    seen += 1;
                }
            }
        }
        assert!(seen > 100, "only {seen} send-backs in 5000 events");
    }

    #[test]
    fn closed_and_deleted_are_final_and_nothing_outlives_the_bound() {
        for (key, timeline) in timelines(20_000).enumerate() {
            let last = timeline.steps().last().unwrap().status;
            assert!(
                matches!(last, Status::Closed { .. } | Status::Deleted),
                "{key}: {last:?}"
            );
            let finals = timeline
                .steps()
                .iter()
                .filter(|s| matches!(s.status, Status::Closed { .. } | Status::Deleted));
            assert_eq!(finals.count(), 1);
            let lead = [7, 30, 91, 365][key % 4];
            assert!(timeline.end().since(timeline.created()) <= Timeline::max_lifetime(lead));
            assert!(timeline.steps().windows(2).all(|p| p[0].day <= p[1].day));
        }
    }

    #[test]
    fn status_is_absent_before_creation_and_open_on_it() {
        let timeline = timelines(1).next().unwrap();
        assert_eq!(timeline.status_on(Day(999)), None);
        assert_eq!(timeline.status_on(Day(1000)), Some(Status::Open));
    }

    #[test]
    fn some_approvals_come_long_after_submission() {
        let late = timelines(5000)
            .filter_map(|t| {
                t.steps()
                    .last()
                    .unwrap()
                    .status
                    .approved_on()
                    .zip(t.status_on(t.end()))
            })
            .filter(|(approved, status)| approved.since(status.close_date().unwrap()) > 30)
            .count();
        assert!(late > 200, "only {late} late approvals");
    }
}
