//! Names, labels and ordering of the status enums of [`crate::model`].
//!
//! Each enum has two spellings: the Statuspage API name (what integrations parse, and what serde
//! writes) and the label a visitor reads. Both live here so the HTML, the JSON, the feeds and the
//! badges cannot drift apart.

use crate::model::{ComponentStatus, Impact, IncidentPhase, MaintenancePhase};

impl ComponentStatus {
    /// Every status, from best to worst by [`ComponentStatus::severity`].
    pub const ALL: [ComponentStatus; 5] = [
        ComponentStatus::Operational,
        ComponentStatus::Maintenance,
        ComponentStatus::Degraded,
        ComponentStatus::PartialOutage,
        ComponentStatus::MajorOutage,
    ];

    /// Severity used by the overall rule: operational < maintenance < degraded < partial outage
    /// < major outage. Maintenance ranks above operational (visitors should know about it) and
    /// below every unplanned problem (an outage during maintenance is still reported as one).
    pub fn severity(self) -> u8 {
        match self {
            ComponentStatus::Operational => 0,
            ComponentStatus::Maintenance => 1,
            ComponentStatus::Degraded => 2,
            ComponentStatus::PartialOutage => 3,
            ComponentStatus::MajorOutage => 4,
        }
    }

    /// The Statuspage API name (`operational`, `degraded_performance`, ...), equal to what serde
    /// writes; the HTML also uses it as a CSS class.
    pub fn api_name(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::Degraded => "degraded_performance",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
            ComponentStatus::Maintenance => "under_maintenance",
        }
    }

    /// Text shown next to a component.
    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::Degraded => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
            ComponentStatus::Maintenance => "Under maintenance",
        }
    }

    /// Statuspage's page-level `indicator`: `none`, `minor`, `major`, `critical` or `maintenance`.
    pub fn indicator(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "none",
            ComponentStatus::Maintenance => "maintenance",
            ComponentStatus::Degraded => "minor",
            ComponentStatus::PartialOutage => "major",
            ComponentStatus::MajorOutage => "critical",
        }
    }

    /// Page-level description, worded as Statuspage words it.
    pub fn description(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "All Systems Operational",
            ComponentStatus::Maintenance => "Service Under Maintenance",
            ComponentStatus::Degraded => "Partially Degraded Service",
            ComponentStatus::PartialOutage => "Partial System Outage",
            ComponentStatus::MajorOutage => "Major System Outage",
        }
    }

    /// The worse of two statuses (the first on a tie), by [`ComponentStatus::severity`].
    pub fn worst(self, other: ComponentStatus) -> ComponentStatus {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }
}

impl IncidentPhase {
    /// Every phase, in the order an incident goes through them.
    pub const ALL: [IncidentPhase; 5] = [
        IncidentPhase::Investigating,
        IncidentPhase::Identified,
        IncidentPhase::Monitoring,
        IncidentPhase::Resolved,
        IncidentPhase::Postmortem,
    ];

    /// The Statuspage API name, equal to what serde writes.
    pub fn api_name(self) -> &'static str {
        match self {
            IncidentPhase::Investigating => "investigating",
            IncidentPhase::Identified => "identified",
            IncidentPhase::Monitoring => "monitoring",
            IncidentPhase::Resolved => "resolved",
            IncidentPhase::Postmortem => "postmortem",
        }
    }

    /// Label of an update in a thread and in feed titles.
    pub fn label(self) -> &'static str {
        match self {
            IncidentPhase::Investigating => "Investigating",
            IncidentPhase::Identified => "Identified",
            IncidentPhase::Monitoring => "Monitoring",
            IncidentPhase::Resolved => "Resolved",
            IncidentPhase::Postmortem => "Postmortem",
        }
    }
}

impl Impact {
    /// Every impact, from none to maintenance.
    pub const ALL: [Impact; 5] = [
        Impact::None,
        Impact::Minor,
        Impact::Major,
        Impact::Critical,
        Impact::Maintenance,
    ];

    /// The Statuspage API name, equal to what serde writes; the HTML also uses it as a CSS class.
    pub fn api_name(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Minor => "minor",
            Impact::Major => "major",
            Impact::Critical => "critical",
            Impact::Maintenance => "maintenance",
        }
    }
}

impl MaintenancePhase {
    /// Every phase, in order.
    pub const ALL: [MaintenancePhase; 3] = [
        MaintenancePhase::Scheduled,
        MaintenancePhase::InProgress,
        MaintenancePhase::Completed,
    ];

    /// The Statuspage API name, equal to what serde writes.
    pub fn api_name(self) -> &'static str {
        match self {
            MaintenancePhase::Scheduled => "scheduled",
            MaintenancePhase::InProgress => "in_progress",
            MaintenancePhase::Completed => "completed",
        }
    }

    /// Label shown next to a maintenance window.
    pub fn label(self) -> &'static str {
        match self {
            MaintenancePhase::Scheduled => "Scheduled",
            MaintenancePhase::InProgress => "In progress",
            MaintenancePhase::Completed => "Completed",
        }
    }
}
