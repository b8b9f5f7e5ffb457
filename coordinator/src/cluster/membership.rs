//! Adding and removing coordinators, and the cluster status.
//!
//! Membership changes run on the leader; a follower that receives one forwards it. A new member
//! is first added as a learner (blocking until it has caught up) and then promoted to voter, so
//! it never counts towards a quorum before it holds the log.

use std::collections::BTreeSet;
use std::time::Duration;

use openraft::{BasicNode, ChangeMembers, ServerState};

use super::messages::{ClusterStatus, ForwardError, MemberStatus, PeerRequest, PeerResponse};
use crate::context::Context;
use netpulse_engine::command::CommandResponse;

/// How long a membership change may take (a learner catching up on a large log).
pub const MEMBERSHIP_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `req` on the leader: here if we lead, else forwarded once.
async fn on_leader(ctx: &Context, req: PeerRequest) -> Result<CommandResponse, ForwardError> {
    if ctx.is_leader() {
        return match req {
            PeerRequest::AddMember { id, addr } => add_here(ctx, id, addr).await,
            PeerRequest::RemoveMember { id } => remove_here(ctx, id).await,
            _ => Err(ForwardError::Failed("not a membership request".into())),
        };
    }
    let Some((_, addr)) = ctx.leader() else {
        return Err(ForwardError::NotLeader {
            leader: None,
            leader_addr: None,
        });
    };
    match ctx.peers().call(&addr, &req, MEMBERSHIP_TIMEOUT).await {
        Ok(PeerResponse::Write(r)) => r,
        Ok(_) => Err(ForwardError::Failed("unexpected answer from leader".into())),
        Err(e) => Err(ForwardError::Failed(e.to_string())),
    }
}

/// Adds coordinator `id` at `addr` as a voter.
pub async fn add_member(
    ctx: &Context,
    id: u64,
    addr: String,
) -> Result<CommandResponse, ForwardError> {
    on_leader(ctx, PeerRequest::AddMember { id, addr }).await
}

/// Removes coordinator `id` from the cluster.
pub async fn remove_member(ctx: &Context, id: u64) -> Result<CommandResponse, ForwardError> {
    on_leader(ctx, PeerRequest::RemoveMember { id }).await
}

/// Membership request handled by a peer on our behalf (the peer server calls this).
pub async fn handle(ctx: &Context, req: PeerRequest) -> Result<CommandResponse, ForwardError> {
    if !ctx.is_leader() {
        let (leader, leader_addr) = ctx
            .leader()
            .map(|(i, a)| (Some(i), Some(a)))
            .unwrap_or((None, None));
        return Err(ForwardError::NotLeader {
            leader,
            leader_addr,
        });
    }
    on_leader(ctx, req).await
}

async fn add_here(ctx: &Context, id: u64, addr: String) -> Result<CommandResponse, ForwardError> {
    let failed = |e: String| ForwardError::Failed(e);
    let membership = ctx
        .raft()
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .clone();
    if membership.voter_ids().any(|v| v == id) {
        return Ok(CommandResponse::Ok);
    }
    ctx.raft()
        .add_learner(id, BasicNode { addr }, true)
        .await
        .map_err(|e| failed(e.to_string()))?;
    ctx.raft()
        .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
        .await
        .map_err(|e| failed(e.to_string()))?;
    tracing::info!(member = id, "coordinator added to the cluster");
    Ok(CommandResponse::Ok)
}

async fn remove_here(ctx: &Context, id: u64) -> Result<CommandResponse, ForwardError> {
    let membership = ctx
        .raft()
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .clone();
    let voters: BTreeSet<u64> = membership.voter_ids().collect();
    if !voters.contains(&id) && membership.get_node(&id).is_none() {
        return Err(ForwardError::Failed(format!(
            "coordinator {id} is not a member"
        )));
    }
    if voters.len() == 1 && voters.contains(&id) {
        return Err(ForwardError::Failed("cannot remove the last voter".into()));
    }
    let change = if voters.contains(&id) {
        ChangeMembers::RemoveVoters(BTreeSet::from([id]))
    } else {
        ChangeMembers::RemoveNodes(BTreeSet::from([id]))
    };
    ctx.raft()
        .change_membership(change, false)
        .await
        .map_err(|e| ForwardError::Failed(e.to_string()))?;
    tracing::info!(member = id, "coordinator removed from the cluster");
    Ok(CommandResponse::Ok)
}

/// This coordinator's view of the cluster (lags are known only on the leader).
pub fn local_status(ctx: &Context) -> ClusterStatus {
    let m = ctx.raft().metrics().borrow().clone();
    let membership = m.membership_config.membership();
    let voters: BTreeSet<u64> = membership.voter_ids().collect();
    let last = m.last_log_index.unwrap_or(0);
    let leading = m.state == ServerState::Leader;
    let members = membership
        .nodes()
        .map(|(id, node)| {
            let role = if Some(*id) == m.current_leader {
                "leader"
            } else if voters.contains(id) {
                "follower"
            } else {
                "learner"
            };
            let lag = if *id == m.id {
                leading.then_some(0)
            } else {
                m.replication
                    .as_ref()
                    .and_then(|r| r.get(id))
                    .map(|matched| last.saturating_sub(matched.map(|l| l.index).unwrap_or(0)))
            };
            MemberStatus {
                id: *id,
                addr: node.addr.clone(),
                role: role.into(),
                lag,
            }
        })
        .collect();
    ClusterStatus {
        leader: m.current_leader,
        term: m.current_term,
        last_log_index: m.last_log_index,
        members,
    }
}

/// The leader's view of the cluster when it can be asked, else our own.
pub async fn status(ctx: &Context) -> ClusterStatus {
    if ctx.is_leader() {
        return local_status(ctx);
    }
    if let Some((_, addr)) = ctx.leader() {
        if let Ok(PeerResponse::Status(Ok(s))) = ctx
            .peers()
            .call(&addr, &PeerRequest::Status, Duration::from_secs(2))
            .await
        {
            return s;
        }
    }
    local_status(ctx)
}
