//! One event as the API returns it: the documented fields in the vendor's order, then the
//! undocumented extras some lists add.
//!
//! Extras: holding results carry `submitted_by` and `comment_count`; a few results of any
//! list carry a nested `metadata` object. About one event in eight has comments: notes by
//! the assignee, and a reviewer's note each time the event was sent back. A comment is
//! shown only from its own date on.

use serde::Serialize;

use crate::calendar::Day;
use crate::catalog::{ASSIGNEES_PER_FACILITY, INFO, NOTES, RECOMMENDATIONS, SEND_BACK_NOTES};
use crate::lifecycle::Status;
use crate::rng::Purpose;
use crate::world::{List, Listed, World};

/// Sources named in the undocumented `metadata` object.
const METADATA_SOURCES: [&str; 3] = ["mobile", "web", "import"];

/// A result record; field order is the wire order.
#[derive(Debug, Serialize)]
pub struct Record<'w> {
    area_id: u32,
    area_name: &'w str,
    assignment_id: u32,
    assignment_name: &'w str,
    citation: &'w str,
    citation_link: &'w str,
    close_date: Option<Day>,
    comments: Vec<Comment<'w>>,
    due_date: Day,
    event_activity: &'w str,
    event_description: &'w str,
    event_id: u64,
    event_info: &'w str,
    event_parent_id: u32,
    event_parent_type: &'w str,
    event_recommendation: Option<&'w str>,
    facility_id: u32,
    facility_name: &'w str,
    is_closed: bool,
    is_overdue: bool,
    is_regulatory: Option<bool>,
    required_checklist_id: Option<u32>,
    required_checklist_name: Option<&'w str>,
    requires_attachment: bool,
    type_id: u32,
    type_name: &'w str,
    #[serde(skip_serializing_if = "Option::is_none")]
    submitted_by: Option<&'w str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment_count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata>,
}

/// One entry of `comments`.
#[derive(Debug, Serialize)]
pub struct Comment<'w> {
    comment_id: u64,
    author: &'w str,
    date: Day,
    text: &'w str,
}

/// The undocumented nested object a few results carry.
#[derive(Debug, Serialize)]
pub struct Metadata {
    source: &'static str,
    revision: u32,
}

impl<'w> Record<'w> {
    /// The record of `listed` as `list` shows it on `today`.
    pub fn new(world: &'w World, listed: &Listed, list: List, today: Day) -> Self {
        let index = listed.index;
        let event_id = World::event_id(index);
        let catalog = world.catalog();
        let (activity_index, activity, mut rng) = world.activity(index);

        // Draw every detail in a fixed order, whatever the outcome of earlier draws.
        let facility_index = rng.below(catalog.facilities.len() as u64) as usize;
        let slot = rng.below(ASSIGNEES_PER_FACILITY as u64) as usize;
        let info = pick(rng.chance(200), rng.below(INFO.len() as u64), &INFO);
        let recommendation = pick(rng.chance(80), rng.below(4), &RECOMMENDATIONS);
        let metadata = rng.chance(30).then(|| Metadata {
            source: METADATA_SOURCES[rng.below(3) as usize],
            revision: 1 + rng.below(5) as u32,
        });
        let other_submitter = rng.chance(100);
        let other_slot = (slot + 1 + rng.below(ASSIGNEES_PER_FACILITY as u64 - 1) as usize)
            % ASSIGNEES_PER_FACILITY;

        let facility = &catalog.facilities[facility_index];
        let people = &catalog.people[facility_index * ASSIGNEES_PER_FACILITY..];
        let assignee = &people[slot];
        let created = world.created_on(index);
        let due_date = created.plus(activity.lead_days);
        let comments = comments(
            world,
            index,
            assignee.name.as_str(),
            activity.lead_days,
            today,
        );
        let is_closed = matches!(listed.status, Status::Closed { .. });
        let holding = list == List::Holding;
        let submitter = if other_submitter {
            &people[other_slot]
        } else {
            assignee
        };

        Self {
            area_id: activity.area.0,
            area_name: activity.area.1,
            assignment_id: assignee.id,
            assignment_name: &assignee.name,
            citation: activity.citation.0,
            citation_link: activity.citation.1,
            close_date: listed.status.close_date(),
            due_date,
            event_activity: activity.name,
            event_description: activity.description,
            event_id,
            event_info: info.unwrap_or(""),
            event_parent_id: 14_000 + 16 * facility_index as u32 + activity_index as u32,
            event_parent_type: "Plan",
            event_recommendation: recommendation,
            facility_id: facility.id,
            facility_name: facility.name,
            is_closed,
            is_overdue: !is_closed && due_date < today,
            is_regulatory: activity.regulatory,
            required_checklist_id: activity.checklist.map(|c| c.0),
            required_checklist_name: activity.checklist.map(|c| c.1),
            requires_attachment: activity.requires_attachment,
            type_id: activity.kind.0,
            type_name: activity.kind.1,
            submitted_by: holding.then_some(submitter.name.as_str()),
            comment_count: holding.then_some(comments.len()),
            comments,
            metadata,
        }
    }
}

fn pick(yes: bool, which: u64, from: &[&'static str]) -> Option<&'static str> {
    yes.then(|| from[which as usize % from.len()])
}

/// The comments of the event at `index` dated on or before `today`, oldest first.
fn comments<'w>(
    world: &'w World,
    index: u32,
    assignee: &'w str,
    lead_days: i32,
    today: Day,
) -> Vec<Comment<'w>> {
    let mut rng = world.stream(index, Purpose::Comments);
    let created = world.created_on(index);
    let event_id = World::event_id(index);
    let mut all = Vec::new();

    // Notes by the assignee on about one event in sixteen.
    if rng.chance(60) {
        for n in 0..1 + rng.below(2) {
            all.push(Comment {
                comment_id: event_id * 10 + n,
                author: assignee,
                date: created.plus(rng.between(0, lead_days)),
                text: NOTES[rng.below(NOTES.len() as u64) as usize],
            });
        }
    }

    // A reviewer's note for every send-back.
    for (n, day) in world.timeline(index).send_backs().enumerate() {
        all.push(Comment {
            comment_id: event_id * 10 + 2 + n as u64,
            author: &world.catalog().reviewer(rng.next_u64()).name,
            date: day,
            text: SEND_BACK_NOTES[rng.below(SEND_BACK_NOTES.len() as u64) as usize],
        });
    }

    all.retain(|c| c.date <= today);
    all.sort_by_key(|c| (c.date, c.comment_id));
    all
}
