//! `/v1/nodes`: the enrolled edge nodes and their sessions.

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;

use super::error::ApiError;
use super::page::{paged, PageQuery};
use super::views::NodeView;
use super::{data, ApiResult, Caller};
use crate::context::Context;

pub(super) async fn list_nodes(
    State(ctx): State<Context>,
    _c: Caller,
    Query(q): Query<PageQuery>,
) -> ApiResult {
    let p = q.paging()?;
    let store = ctx.store();
    let page = store.nodes_page(p.after.as_deref(), p.limit)?;
    let views = page
        .items
        .iter()
        .map(|n| Ok(NodeView::new(n, &store.node_ingest(&n.id)?)))
        .collect::<Result<Vec<_>, netpulse_engine::state::StateError>>()?;
    Ok(paged(views, page.next))
}

pub(super) async fn get_node(
    State(ctx): State<Context>,
    _c: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let n = ctx
        .store()
        .node(&id)?
        .ok_or_else(|| ApiError::not_found(format!("node {id}")))?;
    let ingest = ctx.store().node_ingest(&id)?;
    Ok(data(NodeView::new(&n, &ingest)).into_response())
}
