// Exports of the audit trail: CSV (one row per event) and a FHIR R4 Bundle of AuditEvent
// (mapped by the node, /v1/audit/events/fhir, as for any FHIR client). Both follow the
// API's cursor to the end of the filtered trail, up to EXPORT_EVENTS_MAX events.

import { query } from './api.js';

export const EXPORT_EVENTS_MAX = 10000;
const PAGE = 1000;

const COLUMNS = ['seq', 'recorded', 'height', 'kind', 'action', 'outcome', 'purpose', 'patient', 'decision',
  'consent', 'document', 'identity', 'data_class', 'finding', 'attachment', 'agents', 'prev'];

// A spreadsheet must not read a cell as a formula (CSV injection): such cells get a quote.
function cell(value) {
  let text = value === undefined || value === null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function eventRow(e) {
  const entity = e.entity ?? {};
  const agents = (e.agents ?? []).map((a) =>
    [a.org ?? '', a.role ?? '', a.identity ?? a.key ?? '', a.requestor ? 'requestor' : ''].join(':')).join(' ');
  return {
    seq: e.seq, recorded: new Date(e.recorded).toISOString(), height: e.height, kind: e.kind, action: e.action,
    outcome: e.outcome, purpose: e.purpose ?? '', patient: entity.patient ?? '', decision: entity.decision ?? '',
    consent: entity.consent ? `${entity.consent[0]}/${entity.consent[1]}` : '', document: entity.document ?? '',
    identity: entity.identity ?? '', data_class: entity.data_class ?? '', finding: entity.finding ?? '',
    attachment: entity.attachment ?? '', agents, prev: e.prev,
  };
}

export function toCsv(events) {
  const lines = [COLUMNS.join(',')];
  for (const e of events) {
    const row = eventRow(e);
    lines.push(COLUMNS.map((c) => cell(row[c])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

// Every event matching `filters`, following the cursor.
export async function allEvents(session, filters, onProgress = () => {}) {
  const events = [];
  let after;
  do {
    const page = await session.get(`/v1/audit/events${query({ ...filters, after, limit: PAGE })}`);
    events.push(...page.events);
    after = page.next ?? undefined;
    onProgress(events.length);
  } while (after !== undefined && events.length < EXPORT_EVENTS_MAX);
  return { events: events.slice(0, EXPORT_EVENTS_MAX), truncated: after !== undefined };
}

// One FHIR Bundle (collection) of every AuditEvent matching `filters`, page by page.
export async function fhirBundle(session, filters, onProgress = () => {}) {
  const entry = [];
  let path = `/v1/audit/events/fhir${query({ ...filters, limit: PAGE })}`;
  while (path && entry.length < EXPORT_EVENTS_MAX) {
    const page = await session.get(path);
    entry.push(...(page.entry ?? []));
    path = (page.link ?? []).find((l) => l.relation === 'next')?.url;
    onProgress(entry.length);
  }
  return { resourceType: 'Bundle', type: 'collection', entry };
}

// Hands `text` to the browser as a download named `name`.
export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
