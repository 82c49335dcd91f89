//! Integration tests of the consensus crate: one binary (see STYLE.md).

mod decode;
mod epochs;
mod replica_steps;
mod simulation;
