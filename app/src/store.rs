//! The port through which pages reach data on the server. `app` declares it, the server
//! implements it over PostgreSQL and provides it as Leptos context; server functions pull it
//! out with [`use_store`] and delegate. Only available with `ssr`.

use std::sync::Arc;

use async_trait::async_trait;
use leptos::prelude::use_context;

use crate::error::AppError;
use crate::model::{FleetOverview, SeverityBreakdown};

/// Read and write access to Bulwark's data, as the user interface needs it.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Fleet-wide numbers, the clusters and the latest reports for the overview page.
    async fn fleet_overview(&self) -> Result<FleetOverview, AppError>;

    /// Open findings by severity, for the whole fleet or for the cluster with this name.
    async fn severity_breakdown(
        &self,
        cluster: Option<String>,
    ) -> Result<SeverityBreakdown, AppError>;
}

/// The store as it travels in Leptos context.
#[derive(Clone)]
pub struct StoreHandle(pub Arc<dyn Store>);

/// The store provided by the server for this request.
pub fn use_store() -> Result<Arc<dyn Store>, AppError> {
    use_context::<StoreHandle>()
        .map(|handle| handle.0)
        .ok_or_else(|| AppError::Internal("store-missing".to_owned()))
}
