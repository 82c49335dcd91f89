//! A client's or a peer's signed transaction: decoding never panics, is canonical, and
//! checking the signature of whatever decodes never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panacea_contracts::SignedTransaction;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = SignedTransaction::decode(data) {
        assert_eq!(tx.encode(), data, "a decoded transaction re-encodes to its bytes");
        let _ = tx.verify();
        let _ = tx.id();
    }
});
