// The dashboard's views. Each renders into `root` from signed reads of the node's API
// and keeps nothing but what it shows. Lists are paged by the API's cursor (`next`).

import { ApiError, get, query } from './api.js';
import { allEvents, download, fhirBundle, toCsv, EXPORT_EVENTS_MAX } from './export.js';
import { sha256 } from '../vendor/crypto.js';
import { toHex, utf8 } from './bytes.js';
import { sign } from './keystore.js';
import { OUTCOMES, signCloseReview } from './tx.js';

export const PAGE_ROWS = 50;

export const AUDIT_KINDS = ['consent-recorded', 'consent-amended', 'consent-revoked', 'patient-key-bound',
  'patient-key-replaced', 'patient-key-revoked', 'identity-registered', 'identity-suspended', 'identity-reactivated',
  'identity-revoked', 'identity-key-rotated', 'access-decision', 'break-glass', 'review-closed', 'document-delivered',
  'document-registered', 'document-erased', 'risk-assessed', 'risk-attested', 'risk-parameters-changed',
  'device-quarantined', 'device-mitigated', 'device-released', 'governance-proposed', 'governance-voted',
  'governance-decided', 'epoch-changed', 'misbehaviour-reported', 'product-registered', 'product-attested',
  'product-revoked', 'self-assessment-recorded', 'connection-allowed', 'connection-removed', 'unexpected-connection',
  'course-defined', 'training-policy-changed', 'training-issued', 'training-revoked'];

// --- DOM helpers -------------------------------------------------------------------

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const time = (ms) => (ms === undefined || ms === null ? '' : new Date(Number(ms)).toISOString().replace('T', ' ').replace('.000Z', 'Z'));
const short = (hex) => (hex ? `${String(hex).slice(0, 12)}…` : '');
const code = (hex) => (hex ? h('code', { title: hex }, short(hex)) : '');

function table(id, headers, rows, empty = 'Nothing to show.') {
  if (!rows.length) return h('p', { id, class: 'empty' }, empty);
  return h('table', { id },
    h('thead', {}, h('tr', {}, headers.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))));
}

export function errorBox(error) {
  const text = error instanceof ApiError ? error.describe() : `Error: ${error.message ?? error}`;
  return h('p', { class: 'error', role: 'alert', dataset: { status: error.status ?? '' } }, text);
}

// Runs `load` and shows its error in `slot` instead of throwing.
async function guarded(slot, load) {
  try {
    await load();
  } catch (error) {
    slot.replaceChildren(errorBox(error));
  }
}

async function organisations() {
  try {
    const orgs = await get('/v1/organisations');
    return (Array.isArray(orgs) ? orgs : orgs.organisations ?? []).map((o) => o.id);
  } catch {
    return [];
  }
}

function orgSelect(id, orgs, selected, blank) {
  return h('select', { id, name: 'org' },
    blank ? h('option', { value: '' }, blank) : null,
    orgs.map((o) => h('option', { value: o, selected: o === selected }, o)));
}

// A pager over a cursor API: `fetchPage(after)` gives `{rows, next}`.
function pager(prefix, render, fetchPage) {
  const cursors = [undefined];
  const body = h('div', { id: `${prefix}-results` });
  const prev = h('button', { id: `${prefix}-prev`, type: 'button', disabled: true }, '← Previous');
  const next = h('button', { id: `${prefix}-next`, type: 'button', disabled: true }, 'Next →');
  const status = h('span', { class: 'page', id: `${prefix}-page` });
  async function show(index) {
    body.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
    await guarded(body, async () => {
      const page = await fetchPage(cursors[index]);
      body.replaceChildren(render(page));
      cursors.length = index + 1;
      if (page.next !== undefined && page.next !== null) cursors.push(page.next);
      prev.disabled = index === 0;
      next.disabled = cursors.length <= index + 1;
      status.textContent = `page ${index + 1}`;
      current = index;
    });
  }
  let current = 0;
  prev.addEventListener('click', () => show(current - 1));
  next.addEventListener('click', () => show(current + 1));
  return { element: h('div', { class: 'pager' }, body, h('nav', { class: 'pages' }, prev, status, next)), show };
}

// --- Chain health ------------------------------------------------------------------

export async function health(root) {
  const slot = h('div');
  root.replaceChildren(h('section', { id: 'view-health' }, h('h2', {}, 'Chain health'), slot));
  await guarded(slot, async () => {
    const [status, validators] = await Promise.all([get('/v1/status'), get('/v1/validators')]);
    const heights = [];
    for (let height = status.height; height > 0 && heights.length < 8; height--) heights.push(height);
    const blocks = await Promise.all(heights.map((height) => get(`/v1/blocks/${height}`).catch(() => null)));
    slot.replaceChildren(
      h('dl', { id: 'health-status', class: 'facts' },
        ...[['Chain', status.chain_id], ['Node', `${status.moniker} (${status.role})`], ['Height', status.height],
          ['Round', status.round], ['Last block', time(status.block_time)],
          ['Catching up', status.catching_up ? 'yes' : 'no'],
          ['Validators reachable', `${status.validators_reachable}${status.quorum_reachable ? ' (quorum)' : ' (NO QUORUM)'}`],
          ['Peers', status.peers.length], ['Pool', `${status.mempool_transactions} transactions`],
          ['Version', status.version]].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))])),
      h('h3', {}, `Validators (epoch ${validators.epoch}, quorum ${validators.quorum})`),
      table('health-validators', ['Index', 'Organisation', 'Key'],
        validators.validators.map((v) => [String(v.index), v.org ?? '', code(v.key)])),
      h('h3', {}, 'Last commits'),
      table('health-blocks', ['Height', 'Time', 'Round', 'Proposer', 'Transactions', 'Block id', 'Certified'],
        blocks.filter(Boolean).map((b) => [String(b.height), time(b.time), String(b.round), String(b.author),
          String(b.transaction_count), code(b.id), b.certificate ? 'yes' : 'with a later block'])),
      h('h3', {}, 'Peers'),
      h('ul', { id: 'health-peers' }, status.peers.map((p) => h('li', {}, h('code', {}, p)))));
  });
}

// --- Audit trail -------------------------------------------------------------------

function eventRows(events) {
  return events.map((e) => {
    const entity = e.entity ?? {};
    const agents = (e.agents ?? []).map((a) => [a.org, a.role].filter(Boolean).join(' / ') || short(a.key)).join(', ');
    return [String(e.seq), time(e.recorded), e.kind, e.outcome, agents,
      entity.patient ? h('a', { href: `#/accounting?patient=${entity.patient}`, title: entity.patient }, short(entity.patient)) : '',
      code(entity.decision), e.purpose ?? '', entity.data_class ?? entity.finding ?? ''];
  });
}

function toMs(value) {
  return value ? new Date(`${value}Z`).getTime() : undefined;
}

export async function audit(root, session, params) {
  const orgs = await organisations();
  const field = (name, label, input) => h('label', {}, label, input);
  const form = h('form', { id: 'audit-filters', class: 'filters' },
    field('patient', 'Patient', h('input', { name: 'patient', id: 'audit-patient', placeholder: '64 hex digits', value: params.get('patient') ?? '' })),
    field('org', 'Organisation', orgSelect('audit-org', orgs, params.get('org'), 'any')),
    field('identity', 'Identity', h('input', { name: 'identity', id: 'audit-identity', placeholder: 'identity id', value: params.get('identity') ?? '' })),
    field('kind', 'Kind', h('select', { name: 'kind', id: 'audit-kind' }, h('option', { value: '' }, 'any'),
      AUDIT_KINDS.map((k) => h('option', { value: k, selected: k === params.get('kind') }, k)))),
    field('from', 'From (UTC)', h('input', { name: 'from', id: 'audit-from', type: 'datetime-local', step: 1 })),
    field('to', 'To (UTC)', h('input', { name: 'to', id: 'audit-to', type: 'datetime-local', step: 1 })),
    h('button', { type: 'submit', id: 'audit-search' }, 'Search'));
  const exportStatus = h('span', { id: 'export-status', role: 'status' });
  const exportCsv = h('button', { type: 'button', id: 'export-csv' }, 'Export CSV');
  const exportFhir = h('button', { type: 'button', id: 'export-fhir' }, 'Export FHIR Bundle');
  const results = h('div');
  root.replaceChildren(h('section', { id: 'view-audit' }, h('h2', {}, 'Audit trail'), form,
    h('div', { class: 'toolbar' }, exportCsv, exportFhir, exportStatus), results));

  const filters = () => {
    const data = new FormData(form);
    return {
      patient: data.get('patient').trim().toLowerCase(), org: data.get('org'),
      identity: data.get('identity').trim().toLowerCase(), kind: data.get('kind'),
      from: toMs(data.get('from')), to: toMs(data.get('to')),
    };
  };
  const search = () => {
    const current = filters();
    const list = pager('audit', (page) => table('audit-table',
      ['Seq', 'Recorded', 'Kind', 'Outcome', 'Agents', 'Patient', 'Decision', 'Purpose', 'Data / finding'],
      eventRows(page.events), 'No audit event matches these filters.'),
    (after) => session.get(`/v1/audit/events${query({ ...current, after, limit: PAGE_ROWS })}`));
    results.replaceChildren(list.element);
    return list.show(0);
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    search();
  });
  const exporting = (make) => async () => {
    exportStatus.replaceChildren('Exporting…');
    try {
      exportStatus.replaceChildren(await make(filters()));
    } catch (error) {
      exportStatus.replaceChildren(errorBox(error));
    }
  };
  exportCsv.addEventListener('click', exporting(async (f) => {
    const { events, truncated } = await allEvents(session, f, (n) => { exportStatus.textContent = `Exporting… ${n} events`; });
    download('panacea-audit.csv', 'text/csv', toCsv(events));
    return `CSV: ${events.length} events${truncated ? ` (the first ${EXPORT_EVENTS_MAX}; narrow the filters)` : ''}.`;
  }));
  exportFhir.addEventListener('click', exporting(async (f) => {
    const bundle = await fhirBundle(session, f, (n) => { exportStatus.textContent = `Exporting… ${n} events`; });
    download('panacea-audit-bundle.json', 'application/fhir+json', JSON.stringify(bundle, null, 1));
    return `FHIR Bundle: ${bundle.entry.length} AuditEvent resources.`;
  }));
  await search();
}

// --- Accounting of disclosures -----------------------------------------------------

function patientForm(id, params, label) {
  const input = h('input', { id: `${id}-patient`, name: 'patient', placeholder: 'patient reference, 64 hex digits',
    required: true, pattern: '[0-9a-fA-F]{64}', value: params.get('patient') ?? '' });
  const form = h('form', { id: `${id}-form`, class: 'filters' }, h('label', {}, 'Patient', input),
    h('button', { type: 'submit', id: `${id}-show` }, label));
  return { form, input };
}

export async function accounting(root, session, params) {
  const { form, input } = patientForm('accounting', params, 'Show disclosures');
  const results = h('div');
  root.replaceChildren(h('section', { id: 'view-accounting' }, h('h2', {}, 'Accounting of disclosures'),
    h('p', { class: 'hint' }, 'Every permitted access to and delivery of the patient\'s data, in order (HIPAA 164.528).'),
    form, results));
  const show = () => {
    const patient = input.value.trim().toLowerCase();
    const list = pager('accounting', (page) => table('accounting-table',
      ['Date', 'Recipient organisation', 'Recipient', 'Data', 'Document', 'Purpose', 'Emergency', 'Event'],
      page.disclosures.map((d) => [time(d.date), d.recipient_org ?? '', code(d.recipient), d.data_class ?? '',
        code(d.document), d.purpose ?? '', d.emergency ? h('strong', { class: 'emergency' }, 'break-glass') : 'no',
        String(d.seq)]), 'No disclosure on record.'),
    (after) => session.get(`/v1/patients/${encodeURIComponent(patient)}/accounting${query({ after, limit: PAGE_ROWS })}`));
    results.replaceChildren(list.element);
    return list.show(0);
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    show();
  });
  if (input.value) await show();
}

// --- Consents ----------------------------------------------------------------------

function provisionSummary(terms) {
  const provision = terms.provision ?? {};
  const kind = provision.type ?? provision.kind ?? '';
  return [terms.status, kind, (terms.custodians ?? []).join(', ')].filter(Boolean).join(' · ');
}

export async function consents(root, session, params) {
  const { form, input } = patientForm('consents', params, 'Show consents');
  const results = h('div', { id: 'consents-list' });
  root.replaceChildren(h('section', { id: 'view-consents' }, h('h2', {}, 'Consents'),
    h('p', { class: 'hint' }, 'Each consent of the patient with every version, oldest first.'), form, results));
  const show = async () => {
    const patient = input.value.trim().toLowerCase();
    results.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
    await guarded(results, async () => {
      const list = await session.get(`/v1/patients/${encodeURIComponent(patient)}/consents`);
      if (!list.length) {
        results.replaceChildren(h('p', { class: 'empty' }, 'No consent on record for this patient (or none this key may read).'));
        return;
      }
      const blocks = [];
      for (const consent of list) {
        const versions = await session.get(`/v1/consents/${consent.id}`);
        blocks.push(h('article', { class: 'consent', dataset: { consent: consent.id } },
          h('h3', {}, 'Consent ', code(consent.id), ` — ${versions.length} version${versions.length === 1 ? '' : 's'}`),
          table(null, ['Version', 'Recorded', 'Recorded by', 'Status and scope', 'Terms'],
            versions.map((v) => [String(v.version), time(v.recorded_at),
              Object.entries(v.recorder ?? {}).map(([k, r]) => `${k}${r?.org ? ` ${r.org}` : ''}`).join(''),
              provisionSummary(v.terms),
              h('details', {}, h('summary', {}, 'terms'), h('pre', {}, JSON.stringify(v.terms, null, 1)))]))));
      }
      results.replaceChildren(...blocks);
    });
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    show();
  });
  if (input.value) await show();
}

// --- Break-glass reviews -----------------------------------------------------------

function reviewRows(views, closable) {
  return views.map(({ review, decision }) => {
    const status = review.status === 'open' ? 'open' : review.status.closed;
    const cells = [code(review.decision), time(decision?.decided_at), decision?.requester_org ?? '',
      code(decision?.requester), decision?.patient ? h('a', { href: `#/accounting?patient=${decision.patient}` }, short(decision.patient)) : '',
      decision?.data_class ?? '', code(decision?.justification)];
    if (status === 'open') {
      cells.push(closable(review));
    } else {
      cells.push(h('span', { class: `finding ${status.outcome}` }, status.outcome), time(status.at), code(status.auditor), code(status.notes));
    }
    return cells;
  });
}

export async function reviews(root, session, params) {
  const orgs = await organisations();
  const select = orgSelect('reviews-org', orgs, params.get('org') ?? orgs[0]);
  const message = h('div', { id: 'reviews-message', role: 'status' });
  const open = h('div', { id: 'reviews-open' });
  const closed = h('div', { id: 'reviews-closed' });
  root.replaceChildren(h('section', { id: 'view-reviews' }, h('h2', {}, 'Break-glass accesses and their reviews'),
    h('form', { class: 'filters' }, h('label', {}, 'Custodian', select)), message,
    h('h3', {}, 'Open reviews'), open, h('h3', {}, 'Closed reviews'), closed));
  const base = ['Decision', 'Decided', 'Requester organisation', 'Requester', 'Patient', 'Data', 'Justification'];

  const closer = (review) => {
    const outcome = h('select', { class: 'outcome', 'aria-label': 'finding' }, OUTCOMES.map((o) => h('option', { value: o }, o)));
    const notes = h('input', { class: 'notes', placeholder: 'notes (kept here; only their SHA-256 goes on chain)', 'aria-label': 'notes' });
    const button = h('button', { type: 'button', class: 'close-review', dataset: { decision: review.decision } }, 'Close review');
    button.addEventListener('click', async () => {
      button.disabled = true;
      message.replaceChildren(h('p', {}, 'Signing and submitting…'));
      try {
        const { next_nonce: nonce } = await get(`/v1/accounts/${session.publicKey}/nonce`);
        const text = notes.value.trim();
        const signed = await signCloseReview({
          chainId: session.chainId, signer: session.publicKey, nonce, decision: review.decision,
          outcome: outcome.value, notes: text ? toHex(sha256(utf8(text))) : null,
        }, (bytes) => sign(session.key, bytes));
        const status = await session.submit(signed.hex);
        if (status.status !== 'committed') {
          message.replaceChildren(h('p', { class: 'warning' }, `Submitted as ${signed.id}; not committed yet. Reload to follow it.`));
        } else if (status.receipt?.outcome?.failed) {
          const failed = status.receipt.outcome.failed;
          message.replaceChildren(h('p', { class: 'error', role: 'alert' }, `The chain refused it (${failed.code}): ${failed.message}`));
        } else {
          message.replaceChildren(h('p', { class: 'ok' }, `Review closed as ${outcome.value} at height ${status.height}.`));
          await load();
          return;
        }
      } catch (error) {
        message.replaceChildren(errorBox(error));
      }
      button.disabled = false;
    });
    return h('span', { class: 'close' }, outcome, notes, button);
  };

  let openList;
  let closedList;
  async function load() {
    const org = encodeURIComponent(select.value);
    openList = pager('reviews-open', (page) => table('reviews-open-table', [...base, 'Review'],
      reviewRows(page.reviews, closer), 'No open review.'),
    (after) => session.get(`/v1/organisations/${org}/reviews${query({ status: 'open', after, limit: PAGE_ROWS })}`));
    closedList = pager('reviews-closed', (page) => table('reviews-closed-table', [...base, 'Finding', 'Closed', 'Auditor', 'Notes'],
      reviewRows(page.reviews, closer), 'No closed review.'),
    (after) => session.get(`/v1/organisations/${org}/reviews${query({ status: 'closed', after, limit: PAGE_ROWS })}`));
    open.replaceChildren(openList.element);
    closed.replaceChildren(closedList.element);
    await Promise.all([openList.show(0), closedList.show(0)]);
  }
  select.addEventListener('change', () => {
    message.replaceChildren();
    load();
  });
  await load();
}

// --- Risk and governance -----------------------------------------------------------

export async function risk(root, session, params) {
  const orgs = await organisations();
  const select = orgSelect('risk-org', orgs, params.get('org') ?? orgs[0]);
  const slot = h('div', { id: 'risk-summary' });
  root.replaceChildren(h('section', { id: 'view-risk' }, h('h2', {}, 'Risk per organisation'),
    h('form', { class: 'filters' }, h('label', {}, 'Organisation', select)), slot));
  const load = () => guarded(slot, async () => {
    const view = await session.get(`/v1/organisations/${encodeURIComponent(select.value)}/risk`);
    slot.replaceChildren(
      h('dl', { class: 'facts' }, h('dt', {}, 'Risk parameters'), h('dd', {}, view.parameters ? 'set' : 'none (consortium defaults)'),
        h('dt', {}, 'Assessments on record'), h('dd', {}, String(view.assessments.length)),
        h('dt', {}, 'Devices in quarantine'), h('dd', {}, String(view.quarantined.length))),
      table('risk-assessments', ['Assessed', 'Submitted by', 'Attestations', 'Details'],
        view.assessments.map((a) => [time(a.at ?? a.submitted_at ?? a.recorded_at), code(a.submitter ?? a.by),
          String((a.attestations ?? []).length),
          h('details', {}, h('summary', {}, 'assessment'), h('pre', {}, JSON.stringify(a, null, 1)))]),
        'No risk assessment on record.'),
      table('risk-quarantine', ['Device', 'Details'], view.quarantined.map((q) => [code(q.device ?? q.identity),
        h('details', {}, h('summary', {}, 'quarantine'), h('pre', {}, JSON.stringify(q, null, 1)))]), 'No device in quarantine.'));
  });
  select.addEventListener('change', load);
  await load();
}

export async function governance(root, session) {
  const slot = h('div');
  root.replaceChildren(h('section', { id: 'view-governance' }, h('h2', {}, 'Governance'), slot));
  await guarded(slot, async () => {
    const [view, proposals, orgs] = await Promise.all([get('/v1/governance'),
      session.get('/v1/governance/proposals?limit=50'), get('/v1/organisations')]);
    const members = Array.isArray(orgs) ? orgs : orgs.organisations ?? [];
    const threshold = view.rules?.threshold;
    const list = Array.isArray(proposals) ? proposals : proposals.proposals ?? [];
    slot.replaceChildren(
      h('dl', { id: 'governance-summary', class: 'facts' },
        h('dt', {}, 'Threshold'), h('dd', {}, threshold ? `more than ${threshold.numerator}/${threshold.denominator} of active members` : ''),
        h('dt', {}, 'Epoch'), h('dd', {}, String(view.epoch?.epoch ?? '')),
        h('dt', {}, 'Pending validator set'), h('dd', {}, view.pending ? `decided at ${view.pending.decided_at}` : 'none'),
        h('dt', {}, 'Open proposals'), h('dd', {}, String(view.open.length)),
        h('dt', {}, 'Authority reads'), h('dd', {}, JSON.stringify(view.parameters?.authority_reads ?? {}))),
      h('h3', {}, 'Members'),
      table('governance-members', ['Organisation', 'Name', 'Kind', 'Status', 'Admins (threshold)'],
        members.map((m) => [m.id, m.name ?? '', m.kind ?? '', m.status ?? '',
          `${(m.admin_keys ?? []).length} (${m.admin_threshold ?? 1})`])),
      h('h3', {}, 'Proposals, newest first'),
      table('governance-proposals', ['Proposal', 'Status', 'Proposer', 'Deadline', 'Action'],
        list.map((p) => [code(p.id), typeof p.status === 'string' ? p.status : Object.keys(p.status ?? {})[0] ?? '',
          p.proposer ?? '', time(p.deadline), h('details', {}, h('summary', {}, 'action'), h('pre', {}, JSON.stringify(p.action, null, 1)))]),
        'No proposal on record.'));
  });
}
