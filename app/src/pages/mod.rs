//! One file per page. A page owns its resources and actions; what it renders comes from
//! `components`.

pub mod not_found;
pub mod overview;
