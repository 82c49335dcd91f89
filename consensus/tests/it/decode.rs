//! Bytes from the network: whatever arrives decodes to a message or to an error, never
//! a panic, and decoding is bounded.

use panacea_consensus::{Message, SafetyState};
use panacea_primitives::codec::CodecError;
use proptest::prelude::*;

use crate::replica_steps::Net;

#[test]
fn oversized_message_is_refused_before_decoding() {
    let bytes = vec![0u8; panacea_consensus::MESSAGE_BYTES_MAX + 1];
    assert!(matches!(Message::decode(&bytes), Err(CodecError::TooLong { .. })));
}

#[test]
fn real_messages_round_trip() {
    let mut net = Net::new(4);
    let proposal = net.propose(1);
    let bytes = proposal.encode();
    assert_eq!(Message::decode(&bytes).unwrap(), proposal);
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Message::decode(&bytes);
        let _ = SafetyState::decode(&bytes);
    }

    #[test]
    fn mutated_proposals_never_panic(position: usize, value: u8, cut: usize) {
        let mut net = Net::new(4);
        let mut bytes = net.propose(1).encode();
        let position = position % bytes.len();
        bytes[position] = value;
        if let Ok(message) = Message::decode(&bytes) {
            // Whatever decodes re-encodes identically (canonical), and a replica
            // handles it without panicking.
            prop_assert_eq!(message.encode(), bytes.clone());
            net.deliver_to(2, panacea_primitives::ValidatorIndex(1), message);
        }
        let cut = cut % bytes.len();
        prop_assert!(Message::decode(&bytes[..cut]).is_err());
    }
}
