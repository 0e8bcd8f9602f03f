//! What events ask people to do: the activities of the management plans, each with the
//! area, type, schedule and regulatory fields that follow from it.

/// One kind of plan item, with the fields it gives its events.
#[derive(Debug)]
pub struct Activity {
    /// `event_activity`.
    pub name: &'static str,
    /// `event_description`.
    pub description: &'static str,
    /// `area_id` and `area_name`.
    pub area: (u32, &'static str),
    /// `type_id` and `type_name`.
    pub kind: (u32, &'static str),
    /// Days from an event's creation to its due date.
    pub lead_days: i32,
    /// Relative frequency among new events.
    pub weight: u32,
    /// `is_regulatory`.
    pub regulatory: Option<bool>,
    /// `citation` and `citation_link`.
    pub citation: (&'static str, &'static str),
    /// `required_checklist_id` and `required_checklist_name`.
    pub checklist: Option<(u32, &'static str)>,
    /// `requires_attachment`.
    pub requires_attachment: bool,
}

type Named = (u32, &'static str);

const AIR: Named = (3, "Air");
const WATER: Named = (5, "Water");
const STORMWATER: Named = (7, "Stormwater");
const WASTE: Named = (9, "Waste");
const SPILL: Named = (11, "Spill Prevention");
const OTHER: Named = (16, "Other");

const INSPECTION: Named = (2, "Inspection");
const TEST: Named = (4, "Test");
const REPORT: Named = (6, "Report");
const MONITORING: Named = (8, "Monitoring");
const TRAINING: Named = (12, "Training");
const OTHER_TYPE: Named = (16, "Other");

impl Activity {
    /// An activity with `is_regulatory` null, no citation, checklist or attachment.
    const fn new(
        name: &'static str,
        area: Named,
        kind: Named,
        lead_days: i32,
        weight: u32,
    ) -> Self {
        Self {
            name,
            description: "",
            area,
            kind,
            lead_days,
            weight,
            regulatory: None,
            citation: ("", "N/A"),
            checklist: None,
            requires_attachment: false,
        }
    }

    const fn describe(self, description: &'static str) -> Self {
        Self {
            description,
            ..self
        }
    }

    const fn regulatory(self, regulatory: bool) -> Self {
        Self {
            regulatory: Some(regulatory),
            ..self
        }
    }

    const fn cite(self, citation: &'static str, link: &'static str) -> Self {
        Self {
            regulatory: Some(true),
            citation: (citation, link),
            ..self
        }
    }

    const fn checklist(self, id: u32, name: &'static str) -> Self {
        Self {
            checklist: Some((id, name)),
            ..self
        }
    }

    const fn attachment(self) -> Self {
        Self {
            requires_attachment: true,
            ..self
        }
    }
}

/// Every activity an event can have; the weights give a mean lead time of about 115 days.
pub static ACTIVITIES: [Activity; 11] = [
    Activity::new("Weekly SPCC Inspection", SPILL, INSPECTION, 7, 14)
        .describe("Inspect tanks and containment")
        .cite(
            "40 CFR 112.8(c)(6)",
            "https://www.ecfr.gov/current/title-40/part-112",
        )
        .checklist(311, "SPCC Weekly Checklist")
        .attachment(),
    Activity::new("Weekly Waste Inspection", WASTE, INSPECTION, 7, 8)
        .describe("Inspect the accumulation area")
        .cite(
            "40 CFR 262.17(a)(1)(v)",
            "https://www.ecfr.gov/current/title-40/part-262",
        ),
    Activity::new("Monthly Inspection", STORMWATER, INSPECTION, 30, 14)
        .describe("Inspect outfalls and BMPs")
        .regulatory(true)
        .checklist(402, "Stormwater Monthly Checklist"),
    Activity::new("Monthly Eyewash Check", OTHER, INSPECTION, 30, 8)
        .describe("Flush and tag eyewash stations")
        .regulatory(false),
    Activity::new("Monthly Generator Log", AIR, MONITORING, 30, 5)
        .describe("Record generator run hours")
        .cite("Title V Permit Condition 4.2", "N/A"),
    Activity::new("Quarterly Test", OTHER, OTHER_TYPE, 91, 14).describe("Testing"),
    Activity::new("Quarterly Visual Assessment", STORMWATER, TEST, 91, 10)
        .describe("Collect and assess samples")
        .attachment(),
    Activity::new("Semi-Annual Sampling", WATER, MONITORING, 182, 8)
        .describe("Sample and send to the lab")
        .cite("NPDES Permit Part III.B", "N/A")
        .attachment(),
    Activity::new("Annual Report", AIR, REPORT, 365, 8)
        .describe("Prepare and submit the report")
        .cite(
            "40 CFR 70.6(c)(5)",
            "https://www.ecfr.gov/current/title-40/part-70",
        )
        .attachment(),
    Activity::new("Annual SPCC Training", SPILL, TRAINING, 365, 6)
        .describe("Train oil-handling staff")
        .checklist(517, "Training Sign-In Sheet"),
    Activity::new("Annual Plan Review", OTHER, REPORT, 365, 5)
        .describe("Review and update the plan"),
];
