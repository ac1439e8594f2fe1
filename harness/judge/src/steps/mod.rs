//! The steps that act on a whole world: storms of connects, restarts and delayed answers.

pub mod fault;
pub mod storm;
