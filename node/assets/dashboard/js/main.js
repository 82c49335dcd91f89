// The auditor dashboard: sign-in with a keystore file, then the views (js/views.js).
// The session (a non-extractable signing key) lives in this module's memory only: never
// in storage, cookies or the URL. Closing or reloading the page signs out.

import { get, Session } from './api.js';
import { KeystoreError, unlock } from './keystore.js';
import * as views from './views.js';

const VIEWS = {
  health: { title: 'Chain health', show: views.health },
  audit: { title: 'Audit trail', show: views.audit },
  accounting: { title: 'Accounting of disclosures', show: views.accounting },
  consents: { title: 'Consents', show: views.consents },
  reviews: { title: 'Break-glass reviews', show: views.reviews },
  risk: { title: 'Risk', show: views.risk },
  governance: { title: 'Governance', show: views.governance },
};

let session = null;

const $ = (id) => document.getElementById(id);

function route() {
  const [name, search] = location.hash.replace(/^#\/?/, '').split('?');
  return { name: VIEWS[name] ? name : 'health', params: new URLSearchParams(search ?? '') };
}

async function render() {
  if (!session) return;
  const { name, params } = route();
  for (const link of document.querySelectorAll('#views a')) {
    link.toggleAttribute('aria-current', link.dataset.view === name);
  }
  document.title = `${VIEWS[name].title} · Panacea audit`;
  const root = $('view');
  root.dataset.view = name;
  root.setAttribute('aria-busy', 'true');
  try {
    await VIEWS[name].show(root, session, params);
  } catch (error) {
    root.replaceChildren(views.errorBox(error));
  } finally {
    root.setAttribute('aria-busy', 'false');
  }
}

async function signIn(event) {
  event.preventDefault();
  const error = $('signin-error');
  const progress = $('progress');
  const button = $('unlock');
  error.textContent = '';
  const file = $('keystore').files[0];
  if (!file) {
    error.textContent = 'Choose your keystore file.';
    return;
  }
  button.disabled = true;
  progress.hidden = false;
  progress.value = 0;
  try {
    const status = await get('/v1/status');
    const unlocked = await unlock(await file.text(), $('passphrase').value, (p) => { progress.value = p; });
    session = new Session({ ...unlocked, chainId: status.chain_id, nodeId: status.node_id });
    $('passphrase').value = '';
    $('keystore').value = '';
    $('whoami').textContent = `${unlocked.purpose} · key ${unlocked.publicKey.slice(0, 16)}… · ${status.chain_id} at ${status.moniker}`;
    $('whoami').title = unlocked.publicKey;
    document.body.classList.add('signed-in');
    await render();
  } catch (e) {
    error.textContent = e instanceof KeystoreError ? e.message : `Could not sign in: ${e.message}`;
  } finally {
    button.disabled = false;
    progress.hidden = true;
  }
}

function signOut() {
  session = null;
  // A fresh page drops every trace of the key and of what was shown.
  location.hash = '';
  location.reload();
}

function start() {
  const nav = $('views');
  for (const [name, view] of Object.entries(VIEWS)) {
    const link = document.createElement('a');
    link.href = `#/${name}`;
    link.dataset.view = name;
    link.textContent = view.title;
    nav.append(link);
  }
  $('signin').addEventListener('submit', signIn);
  $('signout').addEventListener('click', signOut);
  window.addEventListener('hashchange', render);
  $('signin').hidden = false;
}

start();
