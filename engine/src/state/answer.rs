//! Typed answers to writes: what each command promises to answer, and accessors that turn a
//! [`CommandResponse`] into that type or into why it was refused.
//!
//! The log carries one response enum (it crosses the wire when a follower forwards a write),
//! so every writer used to match it by hand and end in "unexpected response". Now the shape a
//! command answers is stated once ([`Command::answers`]), a test holds every command to it,
//! and writers call the accessor for their command.

use super::command::{Command, CommandResponse};

/// The shape of a successful answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `Ok`: done, nothing to report.
    Done,
    /// `MonitorWritten`: the monitor's new revision.
    Revision,
    /// `Allocated`: a fresh number.
    Allocated,
    /// `Ingested`: counts and committed sequences.
    Ingested,
    /// `Created`: the id of a record the state machine named (an incident).
    Created,
}

impl Command {
    /// What applying this command answers when it is not refused.
    pub fn answers(&self) -> Answer {
        match self {
            Command::PutMonitor { .. } => Answer::Revision,
            Command::AllocateCoordinatorId => Answer::Allocated,
            Command::OpenIncident { .. } => Answer::Created,
            Command::Ingest(_) | Command::IngestResults(_) => Answer::Ingested,
            _ => Answer::Done,
        }
    }
}

/// Why the state machine did not do what a write asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refused {
    /// The write names something that does not exist (the text names it).
    #[error("{0} not found")]
    NotFound(String),
    /// The write conflicts with what exists.
    #[error("{0}")]
    Conflict(String),
    /// The answer has another shape than the command promises: a bug, reported whole.
    #[error("expected a {expected:?} answer, got {got:?}")]
    Mismatch {
        /// What the accessor expected.
        expected: Answer,
        /// What came.
        got: Box<CommandResponse>,
    },
}

impl CommandResponse {
    fn refused(self, expected: Answer) -> Refused {
        match self {
            CommandResponse::NotFound(what) => Refused::NotFound(what),
            CommandResponse::Conflict(why) => Refused::Conflict(why),
            got => Refused::Mismatch {
                expected,
                got: Box::new(got),
            },
        }
    }

    /// The answer of a command that answers [`Answer::Done`].
    pub fn done(self) -> Result<(), Refused> {
        match self {
            CommandResponse::Ok => Ok(()),
            other => Err(other.refused(Answer::Done)),
        }
    }

    /// The revision a `PutMonitor` wrote.
    pub fn revision(self) -> Result<u64, Refused> {
        match self {
            CommandResponse::MonitorWritten { revision } => Ok(revision),
            other => Err(other.refused(Answer::Revision)),
        }
    }

    /// The number an `AllocateCoordinatorId` allocated.
    pub fn allocated(self) -> Result<u64, Refused> {
        match self {
            CommandResponse::Allocated(n) => Ok(n),
            other => Err(other.refused(Answer::Allocated)),
        }
    }

    /// The highest committed sequence per node after an ingest (what nodes are acknowledged).
    pub fn committed(self) -> Result<Vec<(String, u64)>, Refused> {
        match self {
            CommandResponse::Ingested { committed, .. } => Ok(committed),
            other => Err(other.refused(Answer::Ingested)),
        }
    }

    /// The id an `OpenIncident` created.
    pub fn created(self) -> Result<String, Refused> {
        match self {
            CommandResponse::Created(id) => Ok(id),
            other => Err(other.refused(Answer::Created)),
        }
    }

    /// Whether this response has the shape `cmd` promises (refusals aside).
    pub fn fits(&self, cmd: &Command) -> bool {
        matches!(
            (self, cmd.answers()),
            (
                CommandResponse::NotFound(_) | CommandResponse::Conflict(_),
                _
            ) | (CommandResponse::Ok, Answer::Done)
                | (CommandResponse::MonitorWritten { .. }, Answer::Revision)
                | (CommandResponse::Allocated(_), Answer::Allocated)
                | (CommandResponse::Ingested { .. }, Answer::Ingested)
                | (CommandResponse::Created(_), Answer::Created)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::exercise;
    use crate::state::State;
    use crate::tables::MemTables;

    /// Every command of a log that touches every table answers in the shape it promises, so
    /// the typed accessors never meet a mismatch.
    #[test]
    fn every_command_answers_as_it_promises() {
        let s = State::open(MemTables::new()).expect("open");
        let log = exercise(&s).expect("exercise");
        let replay = State::open(MemTables::new()).expect("open");
        for (i, cmd) in log.iter().enumerate() {
            let applied = replay.apply(cmd, i as u64 + 1).expect("apply");
            assert!(
                applied.response.fits(cmd),
                "{cmd:?} answered {:?}",
                applied.response
            );
        }
    }

    /// Every command variant, by name; a new variant fails to compile here until it is named,
    /// and then fails the test until the exercise log applies it.
    fn variant(cmd: &Command) -> &'static str {
        match cmd {
            Command::CreateApiKey(_) => "CreateApiKey",
            Command::CreateJoinToken(_) => "CreateJoinToken",
            Command::RevokeJoinToken { .. } => "RevokeJoinToken",
            Command::PutMonitor { .. } => "PutMonitor",
            Command::DeleteMonitor { .. } => "DeleteMonitor",
            Command::RegisterNode(_) => "RegisterNode",
            Command::NodeSession(_) => "NodeSession",
            Command::CoordinatorStarted { .. } => "CoordinatorStarted",
            Command::IngestResults(_) => "IngestResults",
            Command::AllocateCoordinatorId => "AllocateCoordinatorId",
            Command::SetPlacement { .. } => "SetPlacement",
            Command::NodesSeen { .. } => "NodesSeen",
            Command::Tick { .. } => "Tick",
            Command::SetRetention(_) => "SetRetention",
            Command::PutChannel(_) => "PutChannel",
            Command::DeleteChannel { .. } => "DeleteChannel",
            Command::PutMaintenance(_) => "PutMaintenance",
            Command::DeleteMaintenance { .. } => "DeleteMaintenance",
            Command::OpenIncident { .. } => "OpenIncident",
            Command::IncidentAction { .. } => "IncidentAction",
            Command::DeliveryAttempted { .. } => "DeliveryAttempted",
            Command::Ingest(_) => "Ingest",
            Command::MovePlacement { .. } => "MovePlacement",
            Command::PutStatusPage { .. } => "PutStatusPage",
            Command::DeleteStatusPage { .. } => "DeleteStatusPage",
        }
    }

    #[test]
    fn the_exercise_log_applies_every_command() {
        let s = State::open(MemTables::new()).expect("open");
        let log = exercise(&s).expect("exercise");
        let seen: std::collections::BTreeSet<&str> = log.iter().map(variant).collect();
        assert_eq!(seen.len(), 25, "commands never applied: seen only {seen:?}");
    }

    #[test]
    fn accessors_keep_refusals_and_report_mismatches() {
        assert_eq!(
            CommandResponse::NotFound("monitor m".into()).revision(),
            Err(Refused::NotFound("monitor m".into()))
        );
        assert_eq!(CommandResponse::Ok.done(), Ok(()));
        assert!(matches!(
            CommandResponse::Ok.revision(),
            Err(Refused::Mismatch {
                expected: Answer::Revision,
                ..
            })
        ));
    }
}
