//! The playground's state: one [`yew::Reducible`] type per view, each a pure function of its
//! previous value and an action.

pub mod cert;
pub mod decode;
pub mod flow;
pub mod mint;
pub mod payload;
pub mod setup;
