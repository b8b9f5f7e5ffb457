//! Messages between coordinators: Raft RPCs, forwarded writes, membership, status.
//!
//! One request and one response per bi-directional QUIC stream, framed like the edge protocol but
//! with a larger limit ([`PEER_MAX_FRAME`]) because replication carries batches of entries.

use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};

use crate::raft::TypeConfig;
use netpulse_engine::command::{Command, CommandResponse};

/// Largest frame between coordinators.
pub const PEER_MAX_FRAME: usize = 64 * 1024 * 1024;

/// Most entries openraft sends a follower in one AppendEntries (one peer frame); sized with
/// the ingest entry limit so a full payload stays under [`PEER_MAX_FRAME`] (checked where
/// ingest entries are cut, `edge::ingest`).
pub const MAX_PAYLOAD_ENTRIES: u64 = 32;

/// A request from one coordinator to another.
#[derive(Debug, Serialize, Deserialize)]
pub enum PeerRequest {
    /// Raft replication.
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    /// Raft election.
    Vote(VoteRequest<u64>),
    /// Raft snapshot transfer (one chunk).
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// A write that reached a follower, for the leader to commit.
    ClientWrite(Command),
    /// Add a coordinator (as learner, then voter); run by the leader.
    AddMember { id: u64, addr: String },
    /// Remove a coordinator from the voters; run by the leader.
    RemoveMember { id: u64 },
    /// The leader's view of the cluster.
    Status,
}

/// The answer to a [`PeerRequest`].
#[derive(Debug, Serialize, Deserialize)]
pub enum PeerResponse {
    /// Answer to `AppendEntries`.
    AppendEntries(Result<AppendEntriesResponse<u64>, RaftError<u64>>),
    /// Answer to `Vote`.
    Vote(Result<VoteResponse<u64>, RaftError<u64>>),
    /// Answer to `InstallSnapshot`.
    InstallSnapshot(Result<InstallSnapshotResponse<u64>, RaftError<u64, InstallSnapshotError>>),
    /// Answer to `ClientWrite`: the response and the entry's log index, so the forwarding
    /// coordinator can wait until it has applied the write itself (read-your-writes).
    ClientWrite(Result<Committed, ForwardError>),
    /// Answer to `AddMember`, `RemoveMember`.
    Write(Result<CommandResponse, ForwardError>),
    /// Answer to `Status`.
    Status(Result<ClusterStatus, ForwardError>),
}

/// A committed write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Committed {
    /// What applying it returned.
    pub response: CommandResponse,
    /// Its log index.
    pub log_index: u64,
}

/// Why a forwarded request failed on the receiving coordinator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ForwardError {
    /// The receiver is not the leader either (leadership moved); retry at `leader`.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader {
        leader: Option<u64>,
        leader_addr: Option<String>,
    },
    /// The request could not be carried out.
    #[error("{0}")]
    Failed(String),
}

/// The cluster as the leader sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// Leader id.
    pub leader: Option<u64>,
    /// Current term.
    pub term: u64,
    /// Last log index on the leader.
    pub last_log_index: Option<u64>,
    /// Members and learners.
    pub members: Vec<MemberStatus>,
}

/// One member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberStatus {
    /// Raft node id.
    pub id: u64,
    /// QUIC address.
    pub addr: String,
    /// `leader`, `follower` or `learner`.
    pub role: String,
    /// Entries behind the leader (`None` when unknown: not reported by the leader).
    pub lag: Option<u64>,
}

/// First message of a joining coordinator: proof that it knows the join secret, bound to this
/// TLS connection (HMAC-SHA256 of `"client" || exporter`), and the address peers should dial.
#[derive(Debug, Serialize, Deserialize)]
pub struct JoinRequest {
    /// HMAC proof.
    pub proof: Vec<u8>,
    /// QUIC address of the joining coordinator as the others will dial it.
    pub addr: String,
}

/// Answer to a [`JoinRequest`].
#[derive(Debug, Serialize, Deserialize)]
pub enum JoinReply {
    /// Accepted: the server's own proof (`"server" || exporter`), the new member's id and the
    /// cluster CA (certificate and key, so every coordinator can issue node certificates) and
    /// the secret key that seals channel credentials (base64), so every coordinator can send.
    Accepted {
        proof: Vec<u8>,
        node_id: u64,
        ca_cert_pem: String,
        ca_key_pem: String,
        secret_key: String,
    },
    /// Refused, with a reason.
    Refused(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::{CommittedLeaderId, LogId, Vote};

    fn round_trip<T: Serialize + serde::de::DeserializeOwned + std::fmt::Debug>(v: &T) -> T {
        let bytes = netpulse_protocol::frame::encode_limited(v, PEER_MAX_FRAME).expect("encode");
        let mut dec = netpulse_protocol::FrameDecoder::with_max(PEER_MAX_FRAME);
        dec.push(&bytes);
        dec.next_frame::<T>().expect("decode").expect("complete")
    }

    #[test]
    fn raft_messages_and_errors_survive_postcard() {
        let vote = Vote::new(3, 1);
        let req = PeerRequest::Vote(VoteRequest::new(
            vote,
            Some(LogId::new(CommittedLeaderId::new(2, 1), 7)),
        ));
        assert!(matches!(round_trip(&req), PeerRequest::Vote(v) if v.vote == vote));
        let resp = PeerResponse::Vote(Ok(VoteResponse::new(vote, None, true)));
        assert!(matches!(round_trip(&resp), PeerResponse::Vote(Ok(v)) if v.vote_granted));
        let fatal: RaftError<u64> = RaftError::Fatal(openraft::error::Fatal::Stopped);
        let resp = PeerResponse::Vote(Err(fatal));
        assert!(matches!(
            round_trip(&resp),
            PeerResponse::Vote(Err(RaftError::Fatal(_)))
        ));
        let mismatch = RaftError::APIError(InstallSnapshotError::SnapshotMismatch(
            openraft::error::SnapshotMismatch {
                expect: openraft::SnapshotSegmentId {
                    id: "a".into(),
                    offset: 0,
                },
                got: openraft::SnapshotSegmentId {
                    id: "b".into(),
                    offset: 9,
                },
            },
        ));
        let resp = PeerResponse::InstallSnapshot(Err(mismatch));
        assert!(matches!(
            round_trip(&resp),
            PeerResponse::InstallSnapshot(Err(RaftError::APIError(_)))
        ));
        let resp = PeerResponse::Write(Err(ForwardError::NotLeader {
            leader: Some(2),
            leader_addr: Some("x:1".into()),
        }));
        assert!(matches!(
            round_trip(&resp),
            PeerResponse::Write(Err(ForwardError::NotLeader {
                leader: Some(2),
                ..
            }))
        ));
    }
}
