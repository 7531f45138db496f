//! The owner picker's candidates for the findings explorer's decision bar: who may own the
//! findings a list filter selects. (The finding page receives its candidates with the finding,
//! [`crate::model::FindingDetail::assignees`].) Assigning is a decision: [`super::triage`].

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{Assignee, ListFilter};

/// The users who may own any finding `filter` selects: active administrators, managers and
/// analysts who see every cluster the filter selects (see
/// [`crate::model::AssigneesFor::Matching`]). Executives are refused (403).
#[server(prefix = "/rpc", endpoint = "triage/assignees")]
pub async fn get_assignees(
    #[server(default)] filter: ListFilter,
) -> Result<Vec<Assignee>, AppError> {
    let viewer = crate::store::require_viewer()?;
    crate::store::use_store()?
        .assignees(
            &viewer,
            crate::model::AssigneesFor::Matching(Box::new(filter)),
        )
        .await
}
