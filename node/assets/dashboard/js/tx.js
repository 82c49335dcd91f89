// The one transaction the dashboard writes: an auditor of the custodian closes the review
// of a break-glass access, Call::Access(AccessCall::CloseReview { decision, outcome,
// notes }), in Panacea's canonical encoding (bincode 2, little endian, fixed-width
// integers: primitives/src/codec.rs). Enum variants are u32 indexes in declaration order;
// a String is a u64 length and its bytes; an Option a u8 tag; hashes and keys 32 raw
// bytes, a signature 64. node/src/api/dashboard.rs pins the same vector
// (test/close-review-vector.json) on the Rust side.

import { sha256 } from '../vendor/crypto.js';
import { concat, fromHex, toHex, u8, u32le, u64le, utf8 } from './bytes.js';

const CALL_ACCESS = 2; // Call::{Identity, Consent, Access, ...}
const ACCESS_CLOSE_REVIEW = 1; // AccessCall::{Request, CloseReview}
export const OUTCOMES = ['justified', 'unjustified']; // ReviewOutcome, in order
const KIND_TRANSACTION = 16; // SignatureKind::Transaction

// Domain::signing_bytes: prefix, chain id, epoch 0, kind tag, message.
export function domainBytes(chainId, kindTag, message) {
  const chain = utf8(chainId);
  if (chain.length > 64) throw new Error('a chain id is at most 64 bytes');
  return concat(utf8('panacea-signature-v1\0'), u8(chain.length), chain, u64le(0), u8(kindTag), message);
}

function string(text) {
  const bytes = utf8(text);
  return concat(u64le(bytes.length), bytes);
}

// The Transaction's encoding (before its signature).
export function encodeCloseReview({ chainId, signer, nonce, decision, outcome, notes }) {
  const index = OUTCOMES.indexOf(outcome);
  if (index < 0) throw new Error(`outcome must be one of ${OUTCOMES.join(', ')}`);
  const call = concat(
    u32le(CALL_ACCESS), u32le(ACCESS_CLOSE_REVIEW),
    fromHex(decision, 32), u32le(index),
    notes ? concat(u8(1), fromHex(notes, 32)) : u8(0),
  );
  return concat(string(chainId), fromHex(signer, 32), u64le(nonce), call);
}

// Hash::digest_parts(["panacea-tx-v1", encoding]).
export function signingHash(encoded) {
  const tag = utf8('panacea-tx-v1');
  return sha256(concat(u64le(tag.length), tag, u64le(encoded.length), encoded));
}

// Signs with `sign(bytes) -> Promise<Uint8Array(64)>`; returns the SignedTransaction's
// hex, its signing hash and id.
export async function signCloseReview(fields, sign) {
  const encoded = encodeCloseReview(fields);
  const hash = signingHash(encoded);
  const signature = await sign(domainBytes(fields.chainId, KIND_TRANSACTION, hash));
  if (signature.length !== 64) throw new Error('an ed25519 signature is 64 bytes');
  const idTag = utf8('panacea-tx-id-v2');
  const id = sha256(concat(u64le(idTag.length), idTag, u64le(32), hash, u64le(64), signature));
  return { hex: toHex(concat(encoded, signature)), signingHash: toHex(hash), id: toHex(id) };
}
