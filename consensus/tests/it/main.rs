//! Integration tests of the consensus crate: one binary (see STYLE.md).

mod decode;
mod epochs;
mod leader_reputation;
mod replica_steps;
mod simulation;
