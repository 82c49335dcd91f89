// Checks the dashboard's transaction encoder (js/tx.js) and keystore signing key import
// against the vector node/src/api/dashboard.rs pins on the Rust side:
//   node node/assets/dashboard/test/close-review-vector.mjs          # exit 0 if equal
// Runs under node 20+ (WebCrypto Ed25519) and, through the same modules, in the browser
// test (testnet/integrations/dashboard_test.py).
import { readFile } from 'node:fs/promises';
import { fromHex } from '../js/bytes.js';
import { importSeed, sign } from '../js/keystore.js';
import { signCloseReview } from '../js/tx.js';

const path = new URL('./close-review-vector.json', import.meta.url);
const vector = JSON.parse(await readFile(path, 'utf8'));
const { key, publicKey } = await importSeed(fromHex(vector.seed, 32));
const signed = await signCloseReview({
  chainId: vector.chain_id, signer: publicKey, nonce: vector.nonce,
  decision: vector.decision, outcome: vector.outcome, notes: vector.notes,
}, (bytes) => sign(key, bytes));
const got = { public_key: publicKey, signing_hash: signed.signingHash, signed_transaction: signed.hex, id: signed.id };
let failed = false;
for (const [field, value] of Object.entries(got)) {
  if (vector[field] !== value) {
    console.error(`${field}: expected ${vector[field]}\n${' '.repeat(field.length)}       got ${value}`);
    failed = true;
  }
}
if (failed) process.exit(1);
console.log('close-review vector: JavaScript and Rust agree');
