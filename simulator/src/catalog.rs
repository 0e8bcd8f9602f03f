//! The organisation behind the events: facilities, people, and the free text they write.
//!
//! Tables are fixed; which facility and assignee an event gets is drawn from the event's
//! own details stream (see `record`), so it never changes as the event moves through its
//! lifecycle. The number of facilities grows with the size of the world (8 for a hundred
//! events, 30 for hundreds of thousands).

use crate::rng::{Purpose, Rng};

const FACILITIES: [&str; 30] = [
    "Cincinnati, OH",
    "Dayton, OH",
    "Gary, IN",
    "Columbus, OH",
    "Toledo, OH",
    "Fort Wayne, IN",
    "Louisville, KY",
    "Akron, OH",
    "Indianapolis, IN",
    "Detroit, MI",
    "Evansville, IN",
    "Lexington, KY",
    "Hamilton, OH",
    "Pittsburgh, PA",
    "Joliet, IL",
    "Flint, MI",
    "Erie, PA",
    "Peoria, IL",
    "Middletown, OH",
    "South Bend, IN",
    "Grand Rapids, MI",
    "Covington, KY",
    "Lima, OH",
    "Rockford, IL",
    "Muncie, IN",
    "Lansing, MI",
    "Mansfield, OH",
    "Terre Haute, IN",
    "Springfield, OH",
    "Chicago, IL",
];

const FIRST_NAMES: [&str; 16] = [
    "Albert", "Maria", "James", "Linda", "Robert", "Patricia", "David", "Jennifer", "Michael",
    "Susan", "Thomas", "Karen", "Daniel", "Nancy", "Steven", "Angela",
];

const LAST_NAMES: [&str; 16] = [
    "Phillips", "Garcia", "Turner", "Nguyen", "Brooks", "Kowalski", "Hughes", "Ramirez",
    "Sullivan", "Patel", "Foster", "Jenkins", "Weber", "Coleman", "Murphy", "Schmidt",
];

/// People per facility who are assigned its events.
pub const ASSIGNEES_PER_FACILITY: usize = 4;
/// Reviewers who approve or send back submissions, shared by all facilities.
const REVIEWERS: usize = 3;

/// A facility of the organisation.
#[derive(Debug)]
pub struct Facility {
    /// `facility_id`.
    pub id: u32,
    /// `facility_name`.
    pub name: &'static str,
}

/// A user who is assigned events, or reviews them.
#[derive(Debug)]
pub struct Person {
    /// `assignment_id`.
    pub id: u32,
    /// `assignment_name`, and the author of comments.
    pub name: String,
}

/// The facilities and people of one simulated organisation.
#[derive(Debug)]
pub struct Catalog {
    /// The facilities, in id order.
    pub facilities: Vec<Facility>,
    /// Assignees (facility `f` has `f * ASSIGNEES_PER_FACILITY ..` of them), then reviewers.
    pub people: Vec<Person>,
}

impl Catalog {
    /// The organisation for a world of about `events` events under `seed`.
    pub fn new(seed: u64, events: u32) -> Self {
        let count = (8 + 2 * (events / 100).max(1).ilog2() as usize).min(FACILITIES.len());
        let facilities = (0..count)
            .map(|k| Facility {
                id: 498 + 17 * k as u32 + (k * k % 7) as u32,
                name: FACILITIES[k],
            })
            .collect();

        let mut rng = Rng::keyed(seed, 0, Purpose::Catalog);
        let (first, last) = (rng.below(16) as usize, rng.below(16) as usize);
        let people = (0..count * ASSIGNEES_PER_FACILITY + REVIEWERS)
            .map(|k| Person {
                id: 2747 + 13 * k as u32,
                name: format!(
                    "{} {}",
                    FIRST_NAMES[(k + first) % FIRST_NAMES.len()],
                    LAST_NAMES[(k / FIRST_NAMES.len() + last) % LAST_NAMES.len()]
                ),
            })
            .collect();
        Self { facilities, people }
    }

    /// A reviewer, chosen by `pick`.
    pub fn reviewer(&self, pick: u64) -> &Person {
        &self.people[self.people.len() - REVIEWERS + (pick % REVIEWERS as u64) as usize]
    }
}

/// Values of `event_info` (most events have an empty one).
pub const INFO: [&str; 6] = [
    "Outfall 002",
    "Tank farm B",
    "Building 4 dock",
    "East boiler house",
    "Line 3",
    "Yard",
];

/// Values of `event_recommendation` (most events have `null`).
pub const RECOMMENDATIONS: [&str; 4] = [
    "Replace the cracked containment liner.",
    "Re-train second-shift staff on spill response.",
    "Add a drip pan under the transfer pump.",
    "Relabel the satellite accumulation drums.",
];

/// Comments left by assignees while working on an event.
pub const NOTES: [&str; 5] = [
    "Scheduled with the contractor.",
    "Waiting on lab results.",
    "Photos uploaded to the shared drive.",
    "Access blocked by construction; will retry next week.",
    "Completed with the plant manager present.",
];

/// Comments left by a reviewer who sends a submission back.
pub const SEND_BACK_NOTES: [&str; 3] = [
    "Returned: please attach the signed checklist.",
    "Returned: readings are missing for two tanks.",
    "Returned: wrong reporting period.",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facility_count_scales_from_eight_to_thirty() {
        assert_eq!(Catalog::new(1, 200).facilities.len(), 10);
        assert_eq!(Catalog::new(1, 50).facilities.len(), 8);
        assert_eq!(Catalog::new(1, 500_000).facilities.len(), 30);
    }

    #[test]
    fn ids_and_names_are_unique() {
        let catalog = Catalog::new(9, 1_000_000);
        let mut names: Vec<&str> = catalog.people.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), catalog.people.len());
        assert!(catalog.facilities.windows(2).all(|w| w[0].id < w[1].id));
        assert!(catalog.people.windows(2).all(|w| w[0].id < w[1].id));
    }
}
