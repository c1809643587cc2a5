// Page 1: the planner's worklist for the signed-in organisation
// (ContinuityViews.GetWorklist), most urgent first, live, filtered by kind,
// due date and claimant; items claimed and released (Worklists).

import * as api from './api.js';
import {
  h, append, replaceChildren, field, select, errorAlert, withheldNotice, enumLabel,
  fmtTime, ago, clientLink, refresher, badge, spinner, timeEl, isSet, changed,
} from './dom.js';
import { runCommand } from './actions.js';

// Every kind the worklist may hold (views.proto WorklistItemKind).
export const WORKLIST_KINDS = [
  'WORKLIST_ITEM_KIND_TRANSITION_DUE',
  'WORKLIST_ITEM_KIND_FOLLOW_UP_DUE',
  'WORKLIST_ITEM_KIND_STALE_REFERRAL',
  'WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER',
  'WORKLIST_ITEM_KIND_SERVICE_ENDED_WITHOUT_SUCCESSOR',
];

const DUE_CHOICES = [
  ['overdue', 'Overdue only'],
  ['7', 'Due within 7 days'],
  ['30', 'Due within 30 days'],
  ['90', 'Due within 90 days'],
  ['365', 'Due within a year'],
];

// Who of the organisation holds an item, since when, and their note; null
// when nobody does (WorklistItem.claimed_by_user_id).
export function claimOf(item) {
  if (!item.claimed_by_user_id) return null;
  return { user: item.claimed_by_user_id, at: item.claimed_at || '', note: item.claim_note || '' };
}

// Worklists.ClaimWorklistItem / ReleaseWorklistItem of an item: it is named
// by its client, kind, subject and organisation (care_record.proto).
function claimRequest(item, method) {
  const name = { kind: item.kind, subject_id: item.subject_id, organization_id: item.organization_id };
  return method === 'ClaimWorklistItem'
    ? { client_id: item.client_id, worklist_item_claimed: name }
    : { client_id: item.client_id, worklist_item_released: name };
}

function itemKey(item) {
  return `${item.kind}/${item.client_id}/${item.subject_id}`;
}

export function render(container, { query }, ctx) {
  const me = ctx.session.user_id;
  const org = ctx.session.organization_id;
  const kind = select([['', 'All kinds'], ...WORKLIST_KINDS.map((k) => [k, enumLabel(k)])],
                      { id: 'wl-kind', value: query.get('kind') || '' });
  const due = select(DUE_CHOICES, { id: 'wl-due', value: query.get('due') || '30' });
  const claimant = select([['', 'Anyone'], ['unclaimed', 'Unclaimed'], ['me', `Claimed by me (${me})`]],
                          { id: 'wl-claimant', value: query.get('claimant') || '' });
  const count = h('p.worklist-count.mb-1', { 'aria-live': 'polite' });
  const withheld = h('div');
  const body = h('div.worklist-body', spinner());
  const status = h('div', { 'aria-live': 'polite' });
  let items = [];
  let minPosition = '';
  let lastLoad = null;
  let seen = null;
  let arrived = new Set();  // item keys of the previous load: newer ones are marked new
  const memo = {};

  append(container, [
    h('div.d-flex.flex-wrap.align-items-baseline.gap-3',
      h('h1.h3', { text: `Worklist — ${ctx.session.organization_name || org}` }),
      h('span.text-muted', { text: 'most urgent first; updates live' })),
    h('form.row.g-2.align-items-end.worklist-filters', { role: 'search', 'aria-label': 'Filter the worklist' },
      h('div.col-auto', field('Kind', kind, { cls: '' })),
      h('div.col-auto', field('Due', due, { cls: '' })),
      h('div.col-auto', field('Claimant', claimant, { cls: '' }))),
    status, withheld, count, body,
  ]);

  function claimantChoices() {
    // Everyone who holds a claim, so a planner can see a colleague's items.
    const people = new Set();
    for (const item of items) {
      const c = claimOf(item);
      if (c && c.user !== me) people.add(c.user);
    }
    const current = claimant.value;
    const options = [['', 'Anyone'], ['unclaimed', 'Unclaimed'], ['me', `Claimed by me (${me})`],
      ...[...people].sort().map((p) => [`user:${p}`, `Claimed by ${p}`])];
    replaceChildren(claimant, options.map(([value, label]) => h('option', { value, text: label })));
    claimant.value = options.some(([v]) => v === current) ? current : '';
  }

  function visible() {
    const wanted = claimant.value;
    return items.filter((item) => {
      if (due.value === 'overdue' && !item.overdue) return false;
      const c = claimOf(item);
      if (wanted === 'unclaimed') return !c;
      if (wanted === 'me') return c && c.user === me;
      if (wanted.startsWith('user:')) return c && c.user === wanted.slice(5);
      return true;
    });
  }

  function claimCell(item) {
    const c = claimOf(item);
    const result = h('div', { 'aria-live': 'polite' });
    const key = itemKey(item);
    const act = (label, method, tone) => {
      const btn = h('button.btn.btn-sm', {
        type: 'button', class: `btn-${tone}`, text: label,
        'aria-label': `${label} ${enumLabel(item.kind).toLowerCase()} ${item.subject_id} of client ${item.client_id}`,
        dataset: { action: method, focusKey: `${key}/${method}` },
      });
      btn.addEventListener('click', async () => {
        const r = await runCommand('Worklists', method, claimRequest(item, method), result, { busy: [btn] });
        if (r) {
          minPosition = r.last_global_position || r.global_position || minPosition;
          loader.now();
        }
      });
      return btn;
    };
    const canAct = ctx.hasRole('agency');
    if (!c) {
      return h('div', h('span.text-muted.claim-state', { text: 'Unclaimed', dataset: { claimant: '' } }),
               canAct ? h('div', act('Claim', 'ClaimWorklistItem', 'outline-primary')) : null, result);
    }
    // Any person of the organisation may release a claim (a hand-over).
    const mine = c.user === me;
    return h('div',
      h('span.claim-state', { dataset: { claimant: c.user } },
        badge(mine ? 'Claimed by you' : `Claimed by ${c.user}`, mine ? 'primary' : 'info'),
        isSet(c.at) ? h('small.d-block.text-muted', { text: ago(c.at) }) : null,
        c.note ? h('small.d-block', { text: c.note }) : null),
      canAct ? h('div', act('Release', 'ReleaseWorklistItem', 'outline-secondary')) : null,
      result);
  }

  function renderItems() {
    const shown = visible();
    const overdue = shown.filter((i) => i.overdue).length;
    count.textContent = `${shown.length} item${shown.length === 1 ? '' : 's'} shown, ${overdue} overdue` +
      (shown.length !== items.length ? ` (of ${items.length})` : '') +
      (lastLoad && lastLoad.truncated ? ' — more items than one screen can hold; narrow the filters' : '');
    if (!shown.length) {
      replaceChildren(body, h('p.text-muted.fst-italic.empty', { text: 'Nothing on the worklist for these filters.' }));
      return;
    }
    const rows = shown.map((item) => h('tr.worklist-item', {
      class: [item.overdue ? 'overdue' : '', arrived.has(itemKey(item)) ? 'table-info just-arrived' : ''].join(' '),
      dataset: { kind: item.kind, client: item.client_id, subject: item.subject_id, claimant: (claimOf(item) || {}).user || '' },
    },
    h('td.text-nowrap', timeEl(item.due, fmtTime(item.due)), h('small.d-block', {
      class: item.overdue ? 'text-danger fw-semibold' : 'text-muted',
      text: item.overdue ? `overdue, ${ago(item.due).replace(' ago', '')}` : `due ${ago(item.due)}`,
    })),
    h('td', badge(enumLabel(item.kind), kindTone(item.kind)),
      arrived.has(itemKey(item)) ? h('span.badge.text-bg-info.ms-1', { text: 'new' }) : null),
    h('td.text-nowrap', clientLink(item.client_id)),
    h('td.worklist-description', { text: item.description }),
    h('td.claim-cell', claimCell(item))));
    const table = h('table.table.table-sm.align-middle.worklist-table',
      h('caption.visually-hidden', { text: 'Worklist items, most urgent first' }),
      h('thead', h('tr', ['Due', 'Kind', 'Client', 'What to do', 'Claim'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', rows));
    replaceChildren(body, h('div.table-responsive', table));
  }

  async function load() {
    const request = {
      organization_id: org,
      horizon_days: due.value === 'overdue' ? 1 : Number(due.value),
      kinds: kind.value ? [kind.value] : [],
      page_size: 1000,
    };
    if (minPosition) request.min_position = minPosition;
    try {
      const started = performance.now();
      lastLoad = await api.callAllPages('ContinuityViews', 'GetWorklist', request, 'items', { maxPages: 5 });
      if (loader.disposed) return;
      container.dataset.loadedAt = String(Date.now());
      container.dataset.viewPosition = lastLoad.view_position || '';
      if (!changed(memo, 'worklist', [lastLoad.items, lastLoad.withheld]) && !status.firstChild) return;
      items = lastLoad.items.slice().sort((a, b) => (a.due < b.due ? -1 : a.due > b.due ? 1 : 0));
      const keys = new Set(items.map(itemKey));
      arrived = seen ? new Set([...keys].filter((k) => !seen.has(k))) : new Set();
      seen = keys;
      replaceChildren(status);
      replaceChildren(withheld, withheldNotice(lastLoad.withheld, 'worklist items'));
      claimantChoices();
      renderItems();
      container.dataset.renderMs = String(Math.round(performance.now() - started));
    } catch (err) {
      if (loader.disposed) return;
      delete memo.worklist;
      replaceChildren(status, errorAlert(err));
      replaceChildren(body);
    }
  }

  const loader = refresher(load);
  // A filter change is not an arrival: nothing is marked new.
  kind.addEventListener('change', () => { seen = null; loader.now(); });
  due.addEventListener('change', () => { seen = null; loader.now(); });
  claimant.addEventListener('change', () => renderItems());
  loader.now();

  return {
    onChange: () => loader.soon(),
    dispose: () => loader.dispose(),
  };
}

function kindTone(kind) {
  if (kind.endsWith('DISCHARGE_WITHOUT_ACCEPTED_RECEIVER')) return 'danger';
  if (kind.endsWith('SERVICE_ENDED_WITHOUT_SUCCESSOR')) return 'danger';
  if (kind.endsWith('FOLLOW_UP_DUE')) return 'warning';
  if (kind.endsWith('TRANSITION_DUE')) return 'primary';
  return 'secondary';
}
