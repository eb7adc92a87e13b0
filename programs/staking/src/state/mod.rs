//! Account types, one per file.

pub mod round;
pub mod stake;
pub mod task;

pub use round::*;
pub use stake::*;
pub use task::*;
