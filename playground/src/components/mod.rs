//! The playground's components, one per file (plus plain helpers in [`form`]).

pub mod app;
pub mod cert_details;
pub mod cert_panel;
pub mod decode_card;
pub mod flow_panel;
pub mod form;
pub mod mint_card;
pub mod object_view;
pub mod payload_panel;
pub mod setup_panel;
pub mod size_meter;
pub mod tabs;
pub mod token_panel;
pub mod token_segments;
