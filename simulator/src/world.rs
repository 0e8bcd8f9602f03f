//! The simulated organisation's events, as a pure function of the simulator's inputs.
//!
//! Events are numbered in creation order; a steady number of them is created each day from
//! a fixed *genesis* day well before the start date, so the world is already in its steady
//! state when the simulator starts. An event's creation day follows from its index alone,
//! its lifecycle from its own random stream, so the state on any day depends only on
//! `(seed, events, start date, day)` — never on which days were visited before.

use crate::activities::{ACTIVITIES, Activity};
use crate::calendar::Day;
use crate::catalog::Catalog;
use crate::lifecycle::{Status, Timeline};
use crate::rng::{Purpose, Rng};

/// The id of the first event; ids follow creation order.
pub const FIRST_EVENT_ID: u64 = 240_000;
/// The widest `past_days` window the API accepts.
pub const MAX_PAST_DAYS: u32 = 180;
/// Days simulated before the start date: any lifetime plus the widest window (about 840
/// days) plus eight months, so the lists are in their steady state from well before the
/// start date.
const WARM_UP_DAYS: i32 = 1095;
/// Timelines sampled to calibrate the creation rate.
const CALIBRATION_SAMPLE: u32 = 8192;

/// Which day `past_days` compares with for recently closed events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClosedFilter {
    /// The submission day (`close_date`): a late approval may never be seen.
    CloseDate,
    /// The approval day.
    ApprovalDate,
}

/// One of the API's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// `type=open`.
    Open,
    /// `type=holding`.
    Holding,
    /// `type=recent_closed`, closed within the last `past_days` days.
    RecentClosed {
        /// Width of the window, `1..=180`.
        past_days: u32,
    },
}

impl List {
    /// The list's `type` value.
    pub fn name(self) -> &'static str {
        match self {
            List::Open => "open",
            List::Holding => "holding",
            List::RecentClosed { .. } => "recent_closed",
        }
    }
}

/// An event in a list, with its status on the day of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    /// The event's index (its id less [`FIRST_EVENT_ID`]).
    pub index: u32,
    /// Its status that day.
    pub status: Status,
}

/// Every event there ever is, and the organisation they belong to.
#[derive(Debug)]
pub struct World {
    seed: u64,
    genesis: Day,
    /// Events created per 1000 days.
    rate_milli: u64,
    closed_filter: ClosedFilter,
    catalog: Catalog,
    max_lifetime: i32,
}

impl World {
    /// A world with about `events` events in its lists (open, holding, closed within 180
    /// days) on `start`.
    pub fn new(seed: u64, events: u32, start: Day, closed_filter: ClosedFilter) -> Self {
        let max_lead = ACTIVITIES.iter().map(|a| a.lead_days).max().unwrap_or(0);
        let mut world = Self {
            seed,
            genesis: start.plus(-WARM_UP_DAYS),
            rate_milli: 0,
            closed_filter,
            catalog: Catalog::new(seed, events),
            max_lifetime: Timeline::max_lifetime(max_lead),
        };
        world.rate_milli = world.calibrated_rate(events);
        world
    }

    /// The facilities and people.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The event id of the event at `index`.
    pub fn event_id(index: u32) -> u64 {
        FIRST_EVENT_ID + u64::from(index)
    }

    /// How many events were created on or before `day`.
    pub fn created_through(&self, day: Day) -> u32 {
        self.created_before(day.plus(1))
    }

    /// The index of the first event created on or after `day`.
    fn created_before(&self, day: Day) -> u32 {
        let days = day.since(self.genesis).max(0) as u64;
        (days * self.rate_milli / 1000) as u32
    }

    /// The creation day of the event at `index`.
    pub fn created_on(&self, index: u32) -> Day {
        // The first day `d` (counted from genesis) with `(d + 1) * rate / 1000 > index`.
        let days = ((u64::from(index) + 1) * 1000).div_ceil(self.rate_milli.max(1)) - 1;
        self.genesis.plus(days as i32)
    }

    /// The event's activity, and its details stream positioned just after drawing it.
    pub fn activity(&self, index: u32) -> (usize, &'static Activity, Rng) {
        let mut rng = Rng::keyed(self.seed, u64::from(index), Purpose::Details);
        let chosen = rng.weighted(ACTIVITIES.iter().map(|a| a.weight));
        (chosen, &ACTIVITIES[chosen], rng)
    }

    /// A fresh stream for `purpose` of the event at `index`.
    pub fn stream(&self, index: u32, purpose: Purpose) -> Rng {
        Rng::keyed(self.seed, u64::from(index), purpose)
    }

    /// Every status change of the event at `index`.
    pub fn timeline(&self, index: u32) -> Timeline {
        self.timeline_from(index, self.created_on(index))
    }

    /// The timeline the event at `index` would have if it were created on `created`.
    fn timeline_from(&self, index: u32, created: Day) -> Timeline {
        let lead = self.activity(index).1.lead_days;
        let mut rng = self.stream(index, Purpose::Lifecycle);
        Timeline::draw(&mut rng, created, lead)
    }

    /// The events in `list` on `today`, in event-id order.
    pub fn list(&self, list: List, today: Day) -> Vec<Listed> {
        // Older events have reached their final status; `oldest` bounds the scan.
        let window = match list {
            List::RecentClosed { past_days } => past_days as i32,
            List::Open | List::Holding => 0,
        };
        let oldest = self.created_before(today.plus(-self.max_lifetime - window));
        (oldest..self.created_through(today))
            .filter_map(|index| {
                let status = self.timeline(index).status_on(today)?;
                self.belongs(list, status, today)
                    .then_some(Listed { index, status })
            })
            .collect()
    }

    /// Whether an event with `status` on `today` is in `list`.
    fn belongs(&self, list: List, status: Status, today: Day) -> bool {
        match (list, status) {
            (List::Open, Status::Open) | (List::Holding, Status::Holding { .. }) => true,
            (
                List::RecentClosed { past_days },
                Status::Closed {
                    submitted,
                    approved,
                },
            ) => {
                let day = match self.closed_filter {
                    ClosedFilter::CloseDate => submitted,
                    ClosedFilter::ApprovalDate => approved,
                };
                day >= today.plus(-(past_days as i32))
            }
            _ => false,
        }
    }

    /// Events created per 1000 days so that about `events` are listed on a steady-state day.
    fn calibrated_rate(&self, events: u32) -> u64 {
        // Little's law over a sample of lifetimes: listed = rate * mean days listed, which
        // is the days open or holding plus the days closed inside the 180-day window.
        let listed_days: f64 = (0..CALIBRATION_SAMPLE)
            .map(|index| {
                let timeline = self.timeline_from(index, Day(0));
                let listed_closed = match timeline.status_on(timeline.end()) {
                    Some(Status::Closed {
                        submitted,
                        approved,
                    }) => {
                        let filtered = match self.closed_filter {
                            ClosedFilter::CloseDate => submitted,
                            ClosedFilter::ApprovalDate => approved,
                        };
                        filtered.plus(MAX_PAST_DAYS as i32 + 1).since(approved)
                    }
                    _ => 0,
                };
                f64::from(timeline.end().since(timeline.created()) + listed_closed)
            })
            .sum();
        let per_event = listed_days / f64::from(CALIBRATION_SAMPLE);
        (f64::from(events) * 1000.0 / per_event).round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::parse_day;

    fn world(events: u32, filter: ClosedFilter) -> (World, Day) {
        let start = parse_day("2026-03-02").unwrap();
        (World::new(11, events, start, filter), start)
    }

    fn sizes(world: &World, day: Day) -> [usize; 3] {
        let closed = List::RecentClosed {
            past_days: MAX_PAST_DAYS,
        };
        [List::Open, List::Holding, closed].map(|list| world.list(list, day).len())
    }

    #[test]
    fn lists_hold_about_the_requested_number_in_ratio_three_one_six() {
        let (world, start) = world(20_000, ClosedFilter::CloseDate);
        let [open, holding, closed] = sizes(&world, start).map(|n| n as f64);
        let total = open + holding + closed;
        assert!((total - 20_000.0).abs() < 1_000.0, "total {total}");
        for (share, want) in [(open, 0.3), (holding, 0.1), (closed, 0.6)] {
            assert!(
                (share / total - want).abs() < 0.04,
                "{open} / {holding} / {closed}"
            );
        }
    }

    #[test]
    fn creation_day_and_counts_agree() {
        let (world, start) = world(500, ClosedFilter::CloseDate);
        for day in [
            start.plus(-WARM_UP_DAYS),
            start.plus(-3),
            start,
            start.plus(40),
        ] {
            let through = world.created_through(day);
            assert!(world.created_on(through - 1) <= day);
            assert!(world.created_on(through) > day);
        }
    }

    #[test]
    fn an_event_is_in_at_most_one_list_and_lists_match_the_status() {
        let (world, start) = world(2_000, ClosedFilter::CloseDate);
        for day in [start.plus(-30), start, start.plus(45)] {
            let open = world.list(List::Open, day);
            let holding = world.list(List::Holding, day);
            let closed = world.list(List::RecentClosed { past_days: 180 }, day);
            let mut ids: Vec<u32> = open
                .iter()
                .chain(&holding)
                .chain(&closed)
                .map(|l| l.index)
                .collect();
            let listed = ids.len();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), listed, "an event is in two lists on {day}");
            assert!(open.iter().all(|l| l.status.close_date().is_none()));
            assert!(
                holding
                    .iter()
                    .all(|l| l.status.close_date().is_some_and(|d| d <= day))
            );
            assert!(
                closed
                    .iter()
                    .all(|l| l.status.approved_on().is_some_and(|d| d <= day))
            );
        }
    }

    #[test]
    fn recent_closed_window_includes_today_minus_past_days_and_not_the_day_before() {
        for filter in [ClosedFilter::CloseDate, ClosedFilter::ApprovalDate] {
            let (world, today) = world(3_000, filter);
            let key = |l: &Listed| match (filter, l.status) {
                (ClosedFilter::CloseDate, Status::Closed { submitted, .. }) => submitted,
                (ClosedFilter::ApprovalDate, Status::Closed { approved, .. }) => approved,
                _ => unreachable!("only closed events are listed"),
            };
            let three = world.list(List::RecentClosed { past_days: 3 }, today);
            assert!(
                three
                    .iter()
                    .all(|l| key(l) >= today.plus(-3) && key(l) <= today)
            );
            let wide = world.list(List::RecentClosed { past_days: 30 }, today);
            let in_three = wide.iter().filter(|l| key(l) >= today.plus(-3)).count();
            assert_eq!(in_three, three.len());
            assert!(wide.iter().any(|l| key(l) == today.plus(-30)));
        }
    }

    #[test]
    fn close_date_filter_misses_late_approvals_that_approval_filter_sees() {
        let (by_close, today) = world(3_000, ClosedFilter::CloseDate);
        let (by_approval, _) = world(3_000, ClosedFilter::ApprovalDate);
        let window = List::RecentClosed { past_days: 3 };
        let close_ids: Vec<u32> = by_close
            .list(window, today)
            .iter()
            .map(|l| l.index)
            .collect();
        let missed = by_approval
            .list(window, today)
            .into_iter()
            .filter(|l| !close_ids.contains(&l.index))
            .count();
        assert!(missed > 0, "no late approval in a 3-day window");
    }

    #[test]
    fn state_on_a_day_does_not_depend_on_days_visited_before() {
        let (walked, start) = world(1_000, ClosedFilter::CloseDate);
        for step in 0..20 {
            walked.list(List::Holding, start.plus(step));
        }
        let (fresh, _) = world(1_000, ClosedFilter::CloseDate);
        for list in [
            List::Open,
            List::Holding,
            List::RecentClosed { past_days: 7 },
        ] {
            assert_eq!(
                walked.list(list, start.plus(19)),
                fresh.list(list, start.plus(19))
            );
        }
    }
}
