//! Prop-driven pieces of the interface. Components render what they are given; they never call
//! server functions (pages do), except the layout, which asks who is signed in.

pub mod format;
pub mod layout;
pub mod severity;
