//! A genesis document (a file an operator is handed): parsing and validating it never
//! panics; a valid one starts a chain.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panacea_contracts::membership::Genesis;

fuzz_target!(|data: &[u8]| {
    let Ok(genesis) = serde_json::from_slice::<Genesis>(data) else { return };
    let store = panacea_contracts::state::MemoryStore::new();
    let _ = panacea_contracts::genesis(&store, &genesis);
});
