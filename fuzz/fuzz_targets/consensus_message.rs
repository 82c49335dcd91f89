//! A peer's consensus message: decoding never panics, and what decodes re-encodes to the
//! same bytes (the codec is canonical: one value, one byte string).
#![no_main]

use libfuzzer_sys::fuzz_target;
use panacea_consensus::messages::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::decode(data) {
        assert_eq!(message.encode(), data, "a decoded message re-encodes to its bytes");
    }
});
