// Opens a panacea-keystore-v1 file in the browser (node/src/keys.rs writes it): scrypt
// derives the key from the passphrase, XChaCha20-Poly1305 opens the 32-byte ed25519 seed,
// authenticated with the format, purpose and public key. The seed becomes a
// non-extractable WebCrypto key and every copy of it is wiped: from then on the page can
// sign with it, but no script (not even this one) can read it out.

import { scryptAsync, xchacha20poly1305 } from '../vendor/crypto.js';
import { fromHex, toHex, utf8, concat } from './bytes.js';

export const FORMAT = 'panacea-keystore-v1';
export const LOG_N_MIN = 10;
export const LOG_N_MAX = 18;
const KEYSTORE_BYTES_MAX = 4096;

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): a fixed 16-byte prefix.
const PKCS8_ED25519 = fromHex('302e020100300506032b657004220420');

export class KeystoreError extends Error {}

// Parses and checks the file's fields (not the passphrase).
export function parse(text) {
  if (text.length > KEYSTORE_BYTES_MAX) throw new KeystoreError('This file is larger than a keystore can be.');
  let store;
  try {
    store = JSON.parse(text);
  } catch {
    throw new KeystoreError('This file is not a keystore (not JSON).');
  }
  if (store.format !== FORMAT || store.kdf !== 'scrypt' || store.cipher !== 'xchacha20-poly1305') {
    throw new KeystoreError(`This file is not a ${FORMAT} keystore (scrypt, xchacha20-poly1305).`);
  }
  if (!Number.isInteger(store.log_n) || store.log_n < LOG_N_MIN || store.log_n > LOG_N_MAX ||
      store.r !== 8 || !Number.isInteger(store.p) || store.p < 1 || store.p > 4) {
    throw new KeystoreError(`The keystore's scrypt parameters are outside the accepted range (log_n ${LOG_N_MIN}-${LOG_N_MAX}, r 8, p 1-4).`);
  }
  try {
    return {
      purpose: String(store.purpose),
      publicKey: toHex(fromHex(store.public_key, 32)),
      logN: store.log_n, r: store.r, p: store.p,
      salt: fromHex(store.salt, 16),
      nonce: fromHex(store.nonce, 24),
      ciphertext: fromHex(store.ciphertext, 48),
    };
  } catch (e) {
    throw new KeystoreError(`The keystore is damaged: ${e.message}.`);
  }
}

// Imports a 32-byte seed as a non-extractable signing key; returns it with its public key.
export async function importSeed(seed) {
  const pkcs8 = concat(PKCS8_ED25519, seed);
  try {
    const probe = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
    const jwk = await crypto.subtle.exportKey('jwk', probe);
    const publicKey = toHex(Uint8Array.from(atob(jwk.x.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)));
    const key = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
    return { key, publicKey };
  } finally {
    pkcs8.fill(0);
  }
}

// Opens the keystore `text` with `passphrase`. `onProgress(fraction)` follows scrypt.
export async function unlock(text, passphrase, onProgress = () => {}) {
  const store = parse(text);
  const derived = await scryptAsync(utf8(passphrase), store.salt, {
    N: 2 ** store.logN, r: store.r, p: store.p, dkLen: 32, onProgress, asyncTick: 20,
  });
  const aad = utf8(`${FORMAT}\n${store.purpose}\n${store.publicKey}`);
  let seed;
  try {
    seed = xchacha20poly1305(derived, store.nonce, aad).decrypt(store.ciphertext);
  } catch {
    throw new KeystoreError('Wrong passphrase, or the keystore was altered.');
  } finally {
    derived.fill(0);
  }
  try {
    const { key, publicKey } = await importSeed(seed);
    if (publicKey !== store.publicKey) throw new KeystoreError("The keystore's public key does not match its secret.");
    return { key, publicKey, purpose: store.purpose };
  } finally {
    seed.fill(0);
  }
}

// Signs `message` with a key from `unlock`.
export async function sign(key, message) {
  return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key, message));
}
