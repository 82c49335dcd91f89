// The node's API from the browser: unsigned reads, signed reads (docs/node.md, "Signed
// reads") and transaction submission. A signed read covers the method, the path and
// query exactly as sent, the SHA-256 of the (empty) body, the time, a fresh nonce and the
// node's id, in the chain's ApiRequest signing domain.

import { sha256 } from '../vendor/crypto.js';
import { randomHex, toHex, utf8 } from './bytes.js';
import { sign } from './keystore.js';
import { domainBytes } from './tx.js';

const KIND_API_REQUEST = 17; // SignatureKind::ApiRequest
const EMPTY_SHA256 = toHex(sha256(new Uint8Array(0)));

// An answer other than 2xx: the status and the node's `{code, message}`.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  describe() {
    const what = {
      401: 'Not authenticated',
      403: 'Refused: this key may not read this',
      404: 'Not found',
      429: 'Too many requests; wait a moment',
    }[this.status] ?? 'The node answered with an error';
    return `${what} (HTTP ${this.status} ${this.code}): ${this.message}`;
  }
}

async function answer(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, body?.code ?? 'error', body?.message ?? (text || response.statusText));
  }
  return body;
}

// `path` is '/v1/...' with its query already encoded (URLSearchParams), as it is signed.
export async function get(path) {
  return answer(await fetch(path, { headers: { accept: 'application/json' } }));
}

// A session: the signing key (non-extractable) and the node it signs for.
export class Session {
  constructor({ key, publicKey, purpose, chainId, nodeId }) {
    Object.assign(this, { key, publicKey, purpose, chainId, nodeId });
  }

  async headers(method, pathAndQuery) {
    const timestamp = Date.now().toString();
    const nonce = randomHex(16);
    const message = `panacea-api-v2\n${method}\n${pathAndQuery}\n${EMPTY_SHA256}\n${timestamp}\n${nonce}\n${this.nodeId}`;
    const signature = await sign(this.key, domainBytes(this.chainId, KIND_API_REQUEST, utf8(message)));
    return {
      accept: 'application/json',
      'x-panacea-key': this.publicKey,
      'x-panacea-timestamp': timestamp,
      'x-panacea-nonce': nonce,
      'x-panacea-signature': toHex(signature),
    };
  }

  async get(pathAndQuery) {
    return answer(await fetch(pathAndQuery, { headers: await this.headers('GET', pathAndQuery) }));
  }

  // Submits a signed transaction (hex) and waits for its commit (at most `waitMs`).
  async submit(txHex, waitMs = 20000) {
    const response = await fetch(`/v1/transactions?wait=true&timeout_ms=${waitMs}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ tx: txHex }),
    });
    return answer(response);
  }
}

// A query string from the fields of `params` that are set, in their order.
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.append(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
