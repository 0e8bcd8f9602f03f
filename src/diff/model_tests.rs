//! Model-based test of the diff: random event histories, the runs a caller makes over them,
//! and an oracle that derives the changes from the true states alone.
//!
//! Each event is created on some day and moves open → holding → closed or back to open,
//! and may be deleted while open or holding; approvals come 0–40 days after submission.
//! Runs skip days and sometimes repeat one. A run pulls what the API would return, with the
//! caller's lookback and reconciliation pull; when an event moved forward on the run day, it
//! may also show up, stale, in the list pulled before the one it is in now.

use std::collections::{BTreeMap, BTreeSet};

use jiff::ToSpan;
use jiff::civil::{Date, date};
use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

/// An event's state at the end of a day; dates are day numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Holding(i64),
    Closed(i64),
}

impl State {
    fn status(self) -> Status {
        match self {
            State::Open => Status::Open,
            State::Holding(_) => Status::Holding,
            State::Closed(_) => Status::Closed,
        }
    }

    fn close_date(self) -> Option<Date> {
        match self {
            State::Open => None,
            State::Holding(day) | State::Closed(day) => Some(on(day)),
        }
    }
}

/// One event's true history: open from `created`, then each step from its day on.
#[derive(Debug, Clone)]
struct History {
    event_id: i64,
    created: i64,
    /// `None` is a deletion.
    steps: Vec<(i64, Option<State>)>,
}

impl History {
    /// Turns random `(choice, delay)` pairs into a lifecycle that follows the vendor's rules.
    fn build(event_id: i64, created: i64, actions: &[(u8, u8)]) -> History {
        let (mut day, mut state, mut steps) = (created, State::Open, Vec::new());
        for &(choice, delay) in actions {
            if matches!(state, State::Closed(_)) {
                break;
            }
            let approve = matches!(state, State::Holding(_)) && choice < 5;
            day += i64::from(if approve { delay } else { delay % 11 });

            let next = match state {
                State::Open if choice < 8 => Some(State::Holding(day)),
                State::Holding(close) if approve => Some(State::Closed(close)),
                State::Holding(_) if choice < 9 => Some(State::Open),
                _ => None,
            };
            steps.push((day, next));
            match next {
                Some(next) => state = next,
                None => break,
            }
        }
        History {
            event_id,
            created,
            steps,
        }
    }

    fn at(&self, day: i64) -> Option<State> {
        if day < self.created {
            return None;
        }
        let mut state = Some(State::Open);
        for (_, next) in self.steps.iter().take_while(|(when, _)| *when <= day) {
            state = *next;
        }
        state
    }
}

fn on(day: i64) -> Date {
    date(2026, 1, 1).checked_add(day.days()).unwrap()
}

/// The list a state is in on `day`; `recent_closed` keeps `close_date >= day − past_days`.
fn listed(state: State, day: i64, past_days: u16) -> Option<EventList> {
    match state {
        State::Open => Some(EventList::Open),
        State::Holding(_) => Some(EventList::Holding),
        State::Closed(close) if close >= day - i64::from(past_days) => {
            Some(EventList::RecentClosed)
        }
        State::Closed(_) => None,
    }
}

fn observe(event_id: i64, state: State, list: EventList) -> Observation {
    Observation {
        event_id,
        list,
        is_closed: state.status() == Status::Closed,
        close_date: state.close_date(),
    }
}

#[derive(Debug, Clone)]
struct Case {
    histories: Vec<History>,
    run_days: Vec<i64>,
    configured: u16,
    stale_pulls: bool,
}

fn case() -> impl Strategy<Value = Case> {
    let event = (0i64..90, vec((0u8..10, 0u8..=40), 0..6));
    let gap = prop_oneof![2 => Just(0i64), 10 => Just(1i64), 3 => 2i64..=20];
    (
        40i64..=90,
        vec(event, 1..=60),
        0i64..10,
        vec(gap, 5..60),
        1u16..=7,
        any::<bool>(),
    )
        .prop_map(|(days, events, first, gaps, configured, stale_pulls)| {
            let histories = events
                .iter()
                .enumerate()
                .map(|(i, (created, actions))| {
                    History::build(100 + 3 * i as i64, *created, actions)
                })
                .collect();
            let mut run_days = vec![first];
            for gap in gaps {
                let next = run_days.last().unwrap() + gap;
                if next >= days {
                    break;
                }
                run_days.push(next);
            }
            Case {
                histories,
                run_days,
                configured,
                stale_pulls,
            }
        })
}

/// One run as the caller makes it; returns the diff and the number of stale duplicates.
fn run(case: &Case, baseline: Option<&Baseline>, day: i64, reverse: bool) -> (Diff, u64, u16) {
    let lookback = lookback_days(case.configured, baseline.map(|b| b.date), on(day));
    let pull = |past_days: u16| -> Vec<Observation> {
        let states = case
            .histories
            .iter()
            .filter_map(|h| h.at(day).map(|s| (h.event_id, s)));
        states
            .filter_map(|(id, state)| listed(state, day, past_days).map(|l| observe(id, state, l)))
            .collect()
    };

    let mut today = pull(lookback.past_days);
    let mut stale = 0;
    for history in case.histories.iter().filter(|_| case.stale_pulls) {
        let (Some(before), Some(now)) = (history.at(day - 1), history.at(day)) else {
            continue;
        };
        let moved_forward = before.status() < now.status();
        if moved_forward && listed(now, day, lookback.past_days).is_some() {
            let list = listed(before, day, MAX_PAST_DAYS).unwrap();
            today.push(observe(history.event_id, before, list));
            stale += 1;
        }
    }

    let candidates = vanish_candidates(baseline, &today);
    let mut reconciliation = Vec::new();
    if !candidates.is_empty() {
        reconciliation = pull(MAX_PAST_DAYS);
        reconciliation.retain(|seen| seen.list == EventList::RecentClosed);
    }
    if reverse {
        today.reverse();
        reconciliation.reverse();
    }

    let diff = diff(baseline, on(day), &today, &reconciliation);
    assert_eq!(diff.notes.candidates, candidates.len() as u64);
    (diff, stale, lookback.past_days)
}

/// The kind the change table gives two true states, `None` for no change.
fn expected_kind(before: State, now: State) -> Option<ChangeKind> {
    match (before, now) {
        (State::Open, State::Holding(_)) => Some(ChangeKind::Submitted),
        (State::Holding(_), State::Closed(_)) => Some(ChangeKind::Approved),
        (State::Open, State::Closed(_)) => Some(ChangeKind::Closed),
        (State::Holding(_) | State::Closed(_), State::Open) => Some(ChangeKind::Reopened),
        (State::Closed(_), State::Holding(_)) => Some(ChangeKind::Reopened),
        (State::Holding(a), State::Holding(b)) | (State::Closed(a), State::Closed(b)) if a != b => {
            Some(ChangeKind::CloseDateChanged)
        }
        _ => None,
    }
}

fn change(event_id: i64, kind: ChangeKind, before: Option<State>, now: Option<State>) -> Change {
    Change {
        event_id,
        kind,
        from_status: before.map(State::status),
        to_status: now.map(State::status),
        from_is_closed: before.map(|s| s.status() == Status::Closed),
        to_is_closed: now.map(|s| s.status() == Status::Closed),
        from_close_date: before.and_then(State::close_date),
        to_close_date: now.and_then(State::close_date),
    }
}

/// The oracle: the changes between each event's true states on the `previous` run day and on
/// `day`, applied to its own ledger `known`; also the window the caller must have pulled.
fn oracle(
    case: &Case,
    known: &mut BTreeMap<i64, LedgerEntry>,
    previous: Option<i64>,
    day: i64,
) -> (Vec<Change>, u16) {
    // Wide enough for every event submitted since the previous run; as configured at first.
    let window = previous.map_or(case.configured, |previous| {
        let needed = (day - previous + 1).clamp(case.configured.into(), MAX_PAST_DAYS.into());
        u16::try_from(needed).unwrap()
    });
    let mut changes = Vec::new();

    for history in &case.histories {
        let id = history.event_id;
        let (then, now) = (previous.and_then(|b| history.at(b)), history.at(day));
        let listed_now = now.filter(|state| listed(*state, day, window).is_some());

        let Some(entry) = known.get_mut(&id) else {
            // Unknown: created since the previous run, or listed on the first run. Anything
            // else was closed outside the window before and stays so.
            let new = match previous {
                None => listed_now,
                Some(_) => now.filter(|_| then.is_none()),
            };
            let Some(now) = new else {
                assert!(then.is_none_or(|then| then.status() == Status::Closed));
                continue;
            };
            changes.push(change(id, ChangeKind::Appeared, None, Some(now)));
            let at = on(day);
            known.insert(id, ledger_entry(id, now, at, at, at));
            continue;
        };

        let before = state_of(entry);
        assert_eq!(
            then,
            Some(before),
            "the oracle's ledger holds the true state"
        );
        let Some(now) = now else {
            assert_ne!(
                before.status(),
                Status::Closed,
                "a closed event is never deleted"
            );
            changes.push(change(id, ChangeKind::Vanished, Some(before), None));
            known.remove(&id);
            continue;
        };

        // Open or holding before and now closed outside the window: the reconciliation pull.
        let reconciled = before.status() != Status::Closed && listed_now.is_none();
        assert!(!reconciled || listed(now, day, MAX_PAST_DAYS).is_some());
        let last_seen = if listed_now.is_some() || reconciled {
            on(day)
        } else {
            entry.last_seen
        };
        let since = if before.status() == now.status() {
            entry.status_since
        } else {
            on(day)
        };
        let kind = expected_kind(before, now);
        changes.extend(kind.map(|kind| change(id, kind, Some(before), Some(now))));
        *entry = ledger_entry(id, now, entry.first_seen, last_seen, since);
    }
    (changes, window)
}

fn ledger_entry(id: i64, state: State, first: Date, last: Date, since: Date) -> LedgerEntry {
    LedgerEntry {
        event_id: id,
        status: state.status(),
        is_closed: state.status() == Status::Closed,
        close_date: state.close_date(),
        first_seen: first,
        last_seen: last,
        status_since: since,
    }
}

fn state_of(entry: &LedgerEntry) -> State {
    let close = entry
        .close_date
        .map(|date| (date - on(0)).get_days().into());
    match (entry.status, close) {
        (Status::Open, _) => State::Open,
        (Status::Holding, Some(close)) => State::Holding(close),
        (Status::Closed, Some(close)) => State::Closed(close),
        (_, None) => unreachable!("the model gives every holding and closed event a date"),
    }
}

fn check(case: &Case) {
    let mut known: BTreeMap<i64, LedgerEntry> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    // The distinct run days so far, each with its diff.
    let mut runs: Vec<(i64, Diff)> = Vec::new();

    for &day in &case.run_days {
        let rerun = runs.last().is_some_and(|(last, _)| *last == day);
        let newest_earlier = runs.len() - usize::from(rerun);
        let baseline = newest_earlier.checked_sub(1).map(|i| Baseline {
            date: on(runs[i].0),
            ledger: &runs[i].1.ledger,
        });
        let (diff, stale, past_days) = run(case, baseline.as_ref(), day, rerun);

        if rerun {
            assert_eq!(diff, runs.last().unwrap().1, "rerun of day {day} differs");
            continue;
        }
        let previous = runs.last().map(|(previous, _)| *previous);
        let (mut expected, window) = oracle(case, &mut known, previous, day);
        assert_eq!(past_days, window, "lookback on day {day}");
        expected.sort_by_key(|change| (change.event_id, change.kind));
        assert_eq!(diff.changes, expected, "changes on day {day}");
        assert_eq!(
            diff.ledger,
            known.values().copied().collect::<Vec<_>>(),
            "ledger on day {day}"
        );
        assert_eq!(diff.notes.in_two_lists, stale);
        let vanished = expected
            .iter()
            .filter(|c| c.kind == ChangeKind::Vanished)
            .count();
        assert_eq!(diff.notes.vanished, vanished as u64);
        for change in &diff.changes {
            assert!(
                ids.insert(change.change_id(on(day))),
                "change id repeated: {change:?}"
            );
        }
        runs.push((day, diff));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn diffs_over_random_histories_match_the_true_lifecycle(case in case()) {
        check(&case);
    }
}
