//! The playground's pure logic: everything here runs natively in tests and in the browser,
//! and takes the time and the randomness from its caller.

pub mod credentials;
pub mod flow_sim;
pub mod format;
pub mod keygen;
