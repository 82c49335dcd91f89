//! Integration tests of the contracts: the state-transition function as a whole.

mod decisions;
mod patient_keys;
mod transition;
