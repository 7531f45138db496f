//! One file per page. A page owns its resources and actions; what it renders comes from
//! `components`.

pub mod account;
pub mod approvals;
pub mod audit;
pub mod estate;
pub mod events;
pub mod finding;
pub mod findings;
pub mod image;
pub mod login;
pub mod not_found;
pub mod overview;
pub mod sla;
pub mod tokens;
