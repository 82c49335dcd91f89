//! A batch of opaque transactions (the ordering-only chain's API and gossip): framing is
//! checked without panicking, within its limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panacea_primitives::OpaqueBatch;

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = OpaqueBatch::from_framed(data.to_vec()) {
        let _ = batch.check();
    }
});
