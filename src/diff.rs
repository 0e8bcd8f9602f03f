//! The change log's core: the previous run's ledger and today's pulls in, the changes and a
//! new ledger out. A pure function, no I/O.
//!
//! A run pulls `open`, `holding` and `recent_closed`. An event in none of them is either
//! closed with a `close_date` older than the window (not a change: a closed ledger entry is
//! kept as it is), or, if the ledger had it open or holding, one of the
//! [`vanish_candidates`]: it may have been approved weeks after its submission, so its
//! `close_date` is older than the window, or it may have been deleted. The caller pulls
//! `recent_closed` once more with the largest window and passes those results as the
//! reconciliation; a candidate found there gets the change its fields give, one not found
//! has vanished and leaves the ledger.
//!
//! Two cases are reported as vanished although the event still exists; it appears again the
//! next time it is listed. A candidate approved when its `close_date` is already older than
//! [`MAX_PAST_DAYS`] is not in the reconciliation pull. An event sent back from holding to open
//! after the `open` pull but before the `holding` pull is in neither list; reconciliation
//! results are taken from any list by their fields, so a caller that also pulls `open` and
//! `holding` again for the candidates catches it.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::{EventList, Status};
use crate::ledger::LedgerEntry;

/// The largest `past_days` the API accepts.
pub const MAX_PAST_DAYS: u16 = 180;

/// The uuid v5 namespace of change ids. Changing it changes every id ever written.
const CHANGE_ID_NAMESPACE: Uuid = Uuid::from_u128(0xe4cd_631e_5683_4bad_9a80_aff8_1bd6_3087);

/// One result of one pull: an event as one list showed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    pub event_id: i64,
    /// The list the result came from.
    pub list: EventList,
    pub is_closed: bool,
    pub close_date: Option<Date>,
}

impl Observation {
    /// The status these fields give, whatever list they came from.
    pub fn status(&self) -> Status {
        // `from_fields` only asks whether a close date is present.
        Status::from_fields(self.is_closed, self.close_date.map(|_| ""))
    }
}

/// The ledger of the previous run, and its run date.
#[derive(Debug, Clone, Copy)]
pub struct Baseline<'a> {
    /// The run date the ledger was written for; [`lookback_days`] measures the gap from it.
    pub date: Date,
    /// Sorted by id, as `read_ledger` returns it; if an id repeats, its first entry counts.
    pub ledger: &'a [LedgerEntry],
}

/// What a run changed, and the ledger to hand to the next run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// Sorted by `(event_id, kind)`; at most one change an event.
    pub changes: Vec<Change>,
    /// Sorted by `event_id`.
    pub ledger: Vec<LedgerEntry>,
    pub notes: Notes,
}

/// One event's change between the baseline and today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub event_id: i64,
    pub kind: ChangeKind,
    /// `None` for an event that appeared.
    pub from_status: Option<Status>,
    /// `None` for an event that vanished.
    pub to_status: Option<Status>,
    pub from_is_closed: Option<bool>,
    pub to_is_closed: Option<bool>,
    pub from_close_date: Option<Date>,
    pub to_close_date: Option<Date>,
}

/// The kinds of change, in the order changes of one event sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Not in the ledger, listed today.
    Appeared,
    /// Open → holding.
    Submitted,
    /// Holding → closed.
    Approved,
    /// Open → closed: submitted and approved between two runs.
    Closed,
    /// Holding → open, closed → open or closed → holding.
    Reopened,
    /// Same status, another `close_date`.
    CloseDateChanged,
    /// Open or holding in the ledger, in no list today nor in the reconciliation pull.
    Vanished,
}

impl ChangeKind {
    /// Every kind, in this order (the manifest's column order).
    pub const ALL: [ChangeKind; 7] = [
        ChangeKind::Appeared,
        ChangeKind::Submitted,
        ChangeKind::Approved,
        ChangeKind::Closed,
        ChangeKind::Reopened,
        ChangeKind::CloseDateChanged,
        ChangeKind::Vanished,
    ];

    /// The serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Appeared => "appeared",
            ChangeKind::Submitted => "submitted",
            ChangeKind::Approved => "approved",
            ChangeKind::Closed => "closed",
            ChangeKind::Reopened => "reopened",
            ChangeKind::CloseDateChanged => "close_date_changed",
            ChangeKind::Vanished => "vanished",
        }
    }
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Change {
    /// A stable id: the same event, date and kind always give the same id, so a rerun for a
    /// date writes the ids it wrote before.
    pub fn change_id(&self, change_date: Date) -> String {
        let name = format!("{}/{}/{}", self.event_id, change_date, self.kind);
        Uuid::new_v5(&CHANGE_ID_NAMESPACE, name.as_bytes()).to_string()
    }
}

/// Counts for the data-quality report of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notes {
    /// Events seen in more than one list today: they moved between the pulls.
    pub in_two_lists: u64,
    /// Extra results for an event already listed in the same list.
    pub repeated_in_list: u64,
    /// Results whose fields give another status than their list stands for.
    pub wrong_list: u64,
    /// Results marked closed without a `close_date`.
    pub closed_without_date: u64,
    /// Closed ledger entries in no list today, kept unchanged (aged out of the window).
    pub closed_kept: u64,
    /// Open or holding ledger entries in no list today: the vanish candidates.
    pub candidates: u64,
    /// Candidates found by the reconciliation pull.
    pub reconciled: u64,
    /// Reconciliation results for events that were not candidates, and so not used.
    pub reconciliation_ignored: u64,
    /// Candidates not found by the reconciliation pull either.
    pub vanished: u64,
}

/// The `past_days` for today's `recent_closed` pull.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookback {
    pub past_days: u16,
    /// Days from the baseline's run date to today; `None` on a first run.
    pub gap_days: Option<i64>,
    /// The gap needs a window larger than [`MAX_PAST_DAYS`]: events submitted and approved
    /// early in the gap may be missed.
    pub gap_exceeds_window: bool,
}

/// `past_days` = the larger of `configured` and the days since the baseline plus one, at
/// most [`MAX_PAST_DAYS`], so every event submitted since the baseline run is in the window.
/// `configured` is clamped to `1..=180`; configuration reports an out-of-range value.
pub fn lookback_days(configured: u16, baseline: Option<Date>, as_of: Date) -> Lookback {
    let configured = i64::from(configured.clamp(1, MAX_PAST_DAYS));
    let gap_days = baseline.map(|date| i64::from((as_of - date).get_days()));
    let needed = gap_days.map_or(0, |gap| gap + 1);
    let past_days = needed.clamp(configured, i64::from(MAX_PAST_DAYS));

    Lookback {
        past_days: u16::try_from(past_days).unwrap_or(MAX_PAST_DAYS),
        gap_days,
        gap_exceeds_window: needed > i64::from(MAX_PAST_DAYS),
    }
}

/// Ids, sorted, of the baseline's open and holding events that are in none of today's lists.
/// If there are any, the caller pulls `recent_closed` with `past_days` = [`MAX_PAST_DAYS`] and
/// passes the results to [`diff`] as `reconciliation`.
pub fn vanish_candidates(baseline: Option<&Baseline>, today: &[Observation]) -> Vec<i64> {
    let Some(baseline) = baseline else {
        return Vec::new();
    };
    let listed: BTreeSet<i64> = today.iter().map(|seen| seen.event_id).collect();

    let mut ids: Vec<i64> = baseline
        .ledger
        .iter()
        .filter(|entry| entry.status != Status::Closed && !listed.contains(&entry.event_id))
        .map(|entry| entry.event_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Compares today's pulls with the baseline ledger (`None` on a first run, when every listed
/// event has appeared). `as_of` is today's run date, after the baseline's.
///
/// An event in two lists takes the later lifecycle status (closed over holding over open),
/// as the lists are pulled in that order; ties go to the later list, then the later
/// `close_date`. Reconciliation results count only for candidates. The result depends only on
/// the inputs, not on their order.
pub fn diff(
    baseline: Option<&Baseline>,
    as_of: Date,
    today: &[Observation],
    reconciliation: &[Observation],
) -> Diff {
    let (mut listed, mut notes) = merge(today);
    let (found, _) = merge(reconciliation);
    let mut changes = Vec::new();
    let mut ledger = Vec::with_capacity(baseline.map_or(0, |b| b.ledger.len()) + listed.len());

    for before in baseline_entries(baseline) {
        let now = match listed.remove(&before.event_id) {
            Some(now) => now,
            None if before.status == Status::Closed => {
                notes.closed_kept += 1;
                ledger.push(*before);
                continue;
            }
            None => {
                notes.candidates += 1;
                let Some(now) = found.get(&before.event_id) else {
                    notes.vanished += 1;
                    changes.push(vanished(before));
                    continue;
                };
                notes.reconciled += 1;
                *now
            }
        };

        let (entry, change) = advance(before, &now, as_of);
        ledger.push(entry);
        changes.extend(change);
    }

    for now in listed.into_values() {
        let (entry, change) = appeared(&now, as_of);
        ledger.push(entry);
        changes.push(change);
    }

    notes.reconciliation_ignored = found.len() as u64 - notes.reconciled;
    ledger.sort_unstable_by_key(|entry| entry.event_id);
    changes.sort_unstable_by_key(|change| (change.event_id, change.kind));
    Diff {
        changes,
        ledger,
        notes,
    }
}

/// One observation per event, the winner by [`precedence`], and the list counts of [`Notes`].
fn merge(observations: &[Observation]) -> (BTreeMap<i64, Observation>, Notes) {
    // Per event: the winner so far and a bit for each list it came from.
    let mut merged: BTreeMap<i64, (Observation, u8)> = BTreeMap::new();
    let mut notes = Notes::default();

    for seen in observations {
        notes.wrong_list += u64::from(seen.status() != list_status(seen.list));
        notes.closed_without_date += u64::from(seen.is_closed && seen.close_date.is_none());

        let (winner, lists) = merged.entry(seen.event_id).or_insert((*seen, 0));
        if precedence(seen) > precedence(winner) {
            *winner = *seen;
        }
        let bit = 1 << seen.list as u8;
        notes.repeated_in_list += u64::from(*lists & bit != 0);
        *lists |= bit;
    }

    let in_two_lists = merged
        .values()
        .filter(|(_, lists)| lists.count_ones() > 1)
        .count();
    notes.in_two_lists = in_two_lists as u64;
    let winners = merged
        .into_iter()
        .map(|(id, (winner, _))| (id, winner))
        .collect();
    (winners, notes)
}

/// The order in which observations of one event win: a total order, so input order is moot.
fn precedence(seen: &Observation) -> (Status, EventList, Option<Date>, bool) {
    (seen.status(), seen.list, seen.close_date, seen.is_closed)
}

/// The status a list stands for.
fn list_status(list: EventList) -> Status {
    match list {
        EventList::Open => Status::Open,
        EventList::Holding => Status::Holding,
        EventList::RecentClosed => Status::Closed,
    }
}

/// The baseline's entries sorted by id, the first of a repeated id kept.
fn baseline_entries<'a>(baseline: Option<&Baseline<'a>>) -> Vec<&'a LedgerEntry> {
    let mut entries: Vec<&LedgerEntry> = baseline.map_or(&[][..], |b| b.ledger).iter().collect();
    entries.sort_by_key(|entry| entry.event_id);
    entries.dedup_by_key(|entry| entry.event_id);
    entries
}

/// The new entry of a known event seen again, and its change if it has one.
fn advance(before: &LedgerEntry, now: &Observation, as_of: Date) -> (LedgerEntry, Option<Change>) {
    let status = now.status();
    let entry = LedgerEntry {
        event_id: before.event_id,
        status,
        is_closed: now.is_closed,
        close_date: now.close_date,
        first_seen: before.first_seen,
        last_seen: as_of,
        status_since: if status == before.status {
            before.status_since
        } else {
            as_of
        },
    };

    let change =
        transition(before.status, status, before.close_date != now.close_date).map(|kind| Change {
            event_id: before.event_id,
            kind,
            from_status: Some(before.status),
            to_status: Some(status),
            from_is_closed: Some(before.is_closed),
            to_is_closed: Some(now.is_closed),
            from_close_date: before.close_date,
            to_close_date: now.close_date,
        });
    (entry, change)
}

/// The kind of a move from one status to another, `None` if nothing changed.
fn transition(from: Status, to: Status, close_date_changed: bool) -> Option<ChangeKind> {
    match (from, to) {
        (Status::Open, Status::Holding) => Some(ChangeKind::Submitted),
        (Status::Holding, Status::Closed) => Some(ChangeKind::Approved),
        (Status::Open, Status::Closed) => Some(ChangeKind::Closed),
        (Status::Holding | Status::Closed, Status::Open) | (Status::Closed, Status::Holding) => {
            Some(ChangeKind::Reopened)
        }
        _ if close_date_changed => Some(ChangeKind::CloseDateChanged),
        _ => None,
    }
}

fn appeared(now: &Observation, as_of: Date) -> (LedgerEntry, Change) {
    let status = now.status();
    let entry = LedgerEntry {
        event_id: now.event_id,
        status,
        is_closed: now.is_closed,
        close_date: now.close_date,
        first_seen: as_of,
        last_seen: as_of,
        status_since: as_of,
    };
    let change = Change {
        event_id: now.event_id,
        kind: ChangeKind::Appeared,
        from_status: None,
        to_status: Some(status),
        from_is_closed: None,
        to_is_closed: Some(now.is_closed),
        from_close_date: None,
        to_close_date: now.close_date,
    };
    (entry, change)
}

fn vanished(before: &LedgerEntry) -> Change {
    Change {
        event_id: before.event_id,
        kind: ChangeKind::Vanished,
        from_status: Some(before.status),
        to_status: None,
        from_is_closed: Some(before.is_closed),
        to_is_closed: None,
        from_close_date: before.close_date,
        to_close_date: None,
    }
}

#[cfg(test)]
mod model_tests;

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn d(day: i8) -> Date {
        date(2026, 3, day)
    }

    fn open(event_id: i64) -> Observation {
        seen(event_id, EventList::Open, false, None)
    }

    fn holding(event_id: i64, close_date: Date) -> Observation {
        seen(event_id, EventList::Holding, false, Some(close_date))
    }

    fn closed(event_id: i64, close_date: Date) -> Observation {
        seen(event_id, EventList::RecentClosed, true, Some(close_date))
    }

    fn seen(event_id: i64, list: EventList, is_closed: bool, close: Option<Date>) -> Observation {
        Observation {
            event_id,
            list,
            is_closed,
            close_date: close,
        }
    }

    /// A ledger entry first seen on the 1st, in its status since and last seen on the 2nd.
    fn known(now: Observation) -> LedgerEntry {
        LedgerEntry {
            event_id: now.event_id,
            status: now.status(),
            is_closed: now.is_closed,
            close_date: now.close_date,
            first_seen: d(1),
            last_seen: d(2),
            status_since: d(2),
        }
    }

    /// Today's run on the 3rd against a baseline of the 2nd.
    fn run(ledger: &[LedgerEntry], today: &[Observation], reconciliation: &[Observation]) -> Diff {
        let baseline = Baseline { date: d(2), ledger };
        diff(Some(&baseline), d(3), today, reconciliation)
    }

    fn only_change(diff: &Diff) -> Change {
        assert_eq!(diff.changes.len(), 1, "{:?}", diff.changes);
        diff.changes[0]
    }

    fn kind_between(before: Observation, now: Observation) -> Option<ChangeKind> {
        let diff = run(&[known(before)], &[now], &[]);
        assert!(diff.changes.len() <= 1);
        diff.changes.first().map(|change| change.kind)
    }

    #[test]
    fn first_run_reports_every_listed_event_as_appeared() {
        let today = [closed(3, d(1)), open(1), holding(2, d(2))];
        let diff = diff(None, d(3), &today, &[]);

        let kinds: Vec<(i64, ChangeKind)> =
            diff.changes.iter().map(|c| (c.event_id, c.kind)).collect();
        assert_eq!(
            kinds,
            [
                (1, ChangeKind::Appeared),
                (2, ChangeKind::Appeared),
                (3, ChangeKind::Appeared)
            ]
        );
        assert_eq!(
            diff.changes[2],
            Change {
                event_id: 3,
                kind: ChangeKind::Appeared,
                from_status: None,
                to_status: Some(Status::Closed),
                from_is_closed: None,
                to_is_closed: Some(true),
                from_close_date: None,
                to_close_date: Some(d(1)),
            }
        );
        assert_eq!(
            diff.ledger.iter().map(|e| e.event_id).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert!(
            diff.ledger
                .iter()
                .all(|e| [e.first_seen, e.last_seen, e.status_since] == [d(3); 3])
        );
    }

    #[test]
    fn open_to_holding_is_submitted_with_both_sides_recorded() {
        let diff = run(&[known(open(4))], &[holding(4, d(3))], &[]);

        assert_eq!(
            only_change(&diff),
            Change {
                event_id: 4,
                kind: ChangeKind::Submitted,
                from_status: Some(Status::Open),
                to_status: Some(Status::Holding),
                from_is_closed: Some(false),
                to_is_closed: Some(false),
                from_close_date: None,
                to_close_date: Some(d(3)),
            }
        );
        let entry = diff.ledger[0];
        assert_eq!(
            (entry.status, entry.close_date),
            (Status::Holding, Some(d(3)))
        );
        assert_eq!(
            (entry.first_seen, entry.last_seen, entry.status_since),
            (d(1), d(3), d(3))
        );
    }

    #[test]
    fn holding_to_closed_is_approved() {
        let kind = kind_between(holding(4, d(2)), closed(4, d(2)));
        assert_eq!(kind, Some(ChangeKind::Approved));
    }

    #[test]
    fn open_to_closed_between_runs_is_closed() {
        assert_eq!(
            kind_between(open(4), closed(4, d(3))),
            Some(ChangeKind::Closed)
        );
    }

    #[test]
    fn send_back_and_reopening_are_reopened() {
        assert_eq!(
            kind_between(holding(4, d(2)), open(4)),
            Some(ChangeKind::Reopened)
        );
        assert_eq!(
            kind_between(closed(4, d(2)), open(4)),
            Some(ChangeKind::Reopened)
        );
        let back_to_holding = kind_between(closed(4, d(1)), holding(4, d(1)));
        assert_eq!(back_to_holding, Some(ChangeKind::Reopened));
    }

    #[test]
    fn same_status_with_another_close_date_is_close_date_changed() {
        let resubmitted = kind_between(holding(4, d(1)), holding(4, d(3)));
        assert_eq!(resubmitted, Some(ChangeKind::CloseDateChanged));
        let corrected = kind_between(closed(4, d(1)), closed(4, d(2)));
        assert_eq!(corrected, Some(ChangeKind::CloseDateChanged));

        let diff = run(&[known(holding(4, d(1)))], &[holding(4, d(3))], &[]);
        assert_eq!(
            diff.ledger[0].status_since,
            d(2),
            "the status did not change"
        );
    }

    #[test]
    fn unchanged_event_gives_no_change_and_only_moves_last_seen() {
        let before = known(holding(4, d(2)));
        let diff = run(&[before], &[holding(4, d(2))], &[]);

        assert!(diff.changes.is_empty());
        assert_eq!(
            diff.ledger,
            [LedgerEntry {
                last_seen: d(3),
                ..before
            }]
        );
    }

    #[test]
    fn event_in_two_lists_takes_the_later_status_and_is_counted() {
        let today = [
            holding(4, d(3)),
            open(4),
            closed(5, d(3)),
            holding(5, d(3)),
            open(6),
        ];
        let diff = run(&[known(open(4)), known(holding(5, d(3)))], &today, &[]);

        let kinds: Vec<(i64, ChangeKind)> =
            diff.changes.iter().map(|c| (c.event_id, c.kind)).collect();
        assert_eq!(
            kinds,
            [
                (4, ChangeKind::Submitted),
                (5, ChangeKind::Approved),
                (6, ChangeKind::Appeared)
            ]
        );
        assert_eq!(diff.notes.in_two_lists, 2);
        assert_eq!(diff.notes.repeated_in_list, 0);
    }

    #[test]
    fn closed_event_aged_out_of_the_window_is_kept_without_change() {
        let before = known(closed(4, d(1)));
        let diff = run(&[before], &[], &[]);

        assert!(diff.changes.is_empty());
        assert_eq!(diff.ledger, [before]);
        assert_eq!(diff.notes.closed_kept, 1);
        assert_eq!(diff.notes.candidates, 0);
    }

    #[test]
    fn missing_holding_event_found_by_reconciliation_is_approved() {
        let ledger = [known(holding(4, date(2026, 1, 10)))];
        assert_eq!(
            vanish_candidates(
                Some(&Baseline {
                    date: d(2),
                    ledger: &ledger
                }),
                &[]
            ),
            [4]
        );

        let diff = run(&ledger, &[], &[closed(4, date(2026, 1, 10))]);
        let change = only_change(&diff);
        assert_eq!(change.kind, ChangeKind::Approved);
        assert_eq!(change.to_close_date, Some(date(2026, 1, 10)));
        assert_eq!(
            (diff.ledger[0].status, diff.ledger[0].last_seen),
            (Status::Closed, d(3))
        );
        assert_eq!(
            (
                diff.notes.candidates,
                diff.notes.reconciled,
                diff.notes.vanished
            ),
            (1, 1, 0)
        );
    }

    #[test]
    fn missing_open_event_found_by_reconciliation_is_closed() {
        let diff = run(&[known(open(4))], &[], &[closed(4, date(2026, 2, 1))]);

        assert_eq!(only_change(&diff).kind, ChangeKind::Closed);
        assert_eq!(diff.ledger[0].status, Status::Closed);
        assert_eq!(diff.notes.reconciled, 1);
    }

    #[test]
    fn missing_event_not_reconciled_vanishes_and_leaves_the_ledger() {
        let ledger = [known(open(4)), known(holding(5, d(1)))];
        let diff = run(&ledger, &[open(4)], &[]);

        let change = only_change(&diff);
        assert_eq!(change.kind, ChangeKind::Vanished);
        assert_eq!(
            (change.from_status, change.to_status),
            (Some(Status::Holding), None)
        );
        assert_eq!(
            (change.from_close_date, change.to_is_closed),
            (Some(d(1)), None)
        );
        assert_eq!(
            diff.ledger.iter().map(|e| e.event_id).collect::<Vec<_>>(),
            [4]
        );
        assert_eq!((diff.notes.candidates, diff.notes.vanished), (1, 1));
    }

    #[test]
    fn vanished_event_listed_again_appears_again() {
        let gone = run(&[known(open(4))], &[], &[]);
        assert!(gone.ledger.is_empty());

        let later = Baseline {
            date: d(3),
            ledger: &gone.ledger,
        };
        let back = diff(Some(&later), d(4), &[open(4)], &[]);
        assert_eq!(only_change(&back).kind, ChangeKind::Appeared);
        assert_eq!(back.ledger[0].first_seen, d(4));
    }

    #[test]
    fn reconciliation_results_for_non_candidates_are_ignored() {
        let ledger = [known(closed(4, d(1))), known(open(5))];
        let reconciliation = [closed(4, d(2)), closed(5, d(2)), closed(6, d(1))];
        let diff = run(&ledger, &[open(5)], &reconciliation);

        assert!(diff.changes.is_empty(), "{:?}", diff.changes);
        assert_eq!(
            diff.ledger,
            [
                ledger[0],
                LedgerEntry {
                    last_seen: d(3),
                    ..ledger[1]
                }
            ]
        );
        assert_eq!(
            (diff.notes.reconciled, diff.notes.reconciliation_ignored),
            (0, 3)
        );
    }

    #[test]
    fn vanish_candidates_are_the_open_and_holding_entries_missing_today() {
        let ledger = [
            known(holding(9, d(1))),
            known(open(2)),
            known(closed(3, d(1))),
            known(open(5)),
        ];
        let baseline = Baseline {
            date: d(2),
            ledger: &ledger,
        };

        assert_eq!(vanish_candidates(Some(&baseline), &[open(5)]), [2, 9]);
        assert!(vanish_candidates(None, &[open(5)]).is_empty());
    }

    #[test]
    fn result_does_not_depend_on_input_order() {
        let ledger = [
            known(open(1)),
            known(holding(2, d(1))),
            known(open(3)),
            known(closed(4, d(1))),
        ];
        let today = [closed(1, d(3)), open(1), open(2), open(7), holding(7, d(3))];
        let reconciliation = [closed(3, d(1)), closed(8, d(1))];
        let forward = run(&ledger, &today, &reconciliation);

        let mut ledger_rev = ledger;
        ledger_rev.reverse();
        let mut today_rev = today;
        today_rev.reverse();
        let mut reconciliation_rev = reconciliation;
        reconciliation_rev.reverse();
        assert_eq!(run(&ledger_rev, &today_rev, &reconciliation_rev), forward);
        assert_eq!(run(&ledger, &today, &reconciliation), forward);

        let pairs: Vec<(i64, ChangeKind)> = forward
            .changes
            .iter()
            .map(|c| (c.event_id, c.kind))
            .collect();
        let mut sorted = pairs.clone();
        sorted.sort();
        assert_eq!(pairs, sorted);
    }

    #[test]
    fn list_faults_are_counted() {
        let today = [
            seen(1, EventList::Open, false, Some(d(2))),
            seen(2, EventList::RecentClosed, true, None),
            open(3),
            open(3),
        ];
        let notes = diff(None, d(3), &today, &[]).notes;

        assert_eq!(notes.wrong_list, 1);
        assert_eq!(notes.closed_without_date, 1);
        assert_eq!(notes.repeated_in_list, 1);
        assert_eq!(notes.in_two_lists, 0);
    }

    #[test]
    fn lookback_is_the_configured_window_on_a_first_run() {
        let lookback = lookback_days(3, None, d(3));
        assert_eq!(
            lookback,
            Lookback {
                past_days: 3,
                gap_days: None,
                gap_exceeds_window: false,
            }
        );
        assert_eq!(lookback_days(0, None, d(3)).past_days, 1);
        assert_eq!(lookback_days(500, None, d(3)).past_days, 180);
    }

    #[test]
    fn lookback_covers_the_days_since_the_baseline() {
        assert_eq!(lookback_days(3, Some(d(2)), d(3)).past_days, 3);
        assert_eq!(lookback_days(3, Some(d(3)), d(3)).gap_days, Some(0));

        let after_a_week = lookback_days(3, Some(d(1)), d(8));
        assert_eq!(
            (after_a_week.past_days, after_a_week.gap_days),
            (8, Some(7))
        );
        assert!(!after_a_week.gap_exceeds_window);

        let longest = lookback_days(3, Some(date(2026, 1, 1)), date(2026, 6, 29));
        assert_eq!((longest.past_days, longest.gap_days), (180, Some(179)));
        assert!(!longest.gap_exceeds_window);
    }

    #[test]
    fn lookback_flags_a_gap_beyond_the_api_maximum() {
        let lookback = lookback_days(3, Some(date(2026, 1, 1)), date(2026, 9, 1));
        assert_eq!(lookback.past_days, 180);
        assert_eq!(lookback.gap_days, Some(243));
        assert!(lookback.gap_exceeds_window);
        assert!(lookback_days(3, Some(date(2026, 1, 1)), date(2026, 6, 30)).gap_exceeds_window);
    }

    #[test]
    fn change_id_is_deterministic_and_distinct() {
        let submitted = only_change(&run(&[known(open(4))], &[holding(4, d(3))], &[]));
        let id = submitted.change_id(d(3));

        assert_eq!(id, submitted.change_id(d(3)));
        assert_eq!(Uuid::parse_str(&id).unwrap().get_version_num(), 5);
        let other_day = submitted.change_id(d(4));
        let other_event = Change {
            event_id: 5,
            ..submitted
        }
        .change_id(d(3));
        let other_kind = Change {
            kind: ChangeKind::Approved,
            ..submitted
        }
        .change_id(d(3));
        let ids = BTreeSet::from([id, other_day, other_event, other_kind]);
        assert_eq!(ids.len(), 4);
    }

    #[test]
    fn change_kinds_serialize_in_snake_case() {
        for kind in ChangeKind::ALL {
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
        assert_eq!(ChangeKind::CloseDateChanged.as_str(), "close_date_changed");
    }
}
