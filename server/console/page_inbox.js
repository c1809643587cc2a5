// Page 3: the referral inbox of the signed-in organisation
// (ContinuityViews.ListReferrals): new referrals to accept or decline with a
// reason, accepted ones to start and complete, with the time since each was
// sent; and, on the second tab, the referrals it sent and where they stand.

import * as api from './api.js';
import {
  h, append, replaceChildren, field, select, errorAlert, withheldNotice, enumLabel, ago,
  clientLink, refresher, spinner, timeEl, empty, section, changed,
} from './dom.js';
import { referralActions, referralStatusBadge } from './actions.js';

const GROUPS = [
  { title: 'New: accept or decline', statuses: ['requested', 'received'], key: 'new' },
  { title: 'Accepted: start or complete', statuses: ['accepted', 'on-hold'], key: 'accepted' },
  { title: 'In progress: complete', statuses: ['in-progress'], key: 'in-progress' },
  { title: 'Closed', statuses: ['declined', 'completed', 'failed', 'cancelled'], key: 'closed' },
];

export function render(container, { query }, ctx) {
  const org = ctx.session.organization_id;
  const direction = select([
    ['REFERRAL_DIRECTION_RECEIVED', 'Received (our inbox)'],
    ['REFERRAL_DIRECTION_SENT', 'Sent by us'],
  ], { id: 'inbox-direction', value: query.get('direction') || 'REFERRAL_DIRECTION_RECEIVED' });
  const scope = select([['open', 'Open referrals'], ['all', 'Open and closed']],
                       { id: 'inbox-scope', value: query.get('scope') || 'open' });
  const status = h('div', { 'aria-live': 'polite' });
  const body = h('div.inbox-body', spinner());
  let minPosition = '';
  const memo = {};

  append(container, [
    h('div.d-flex.flex-wrap.align-items-baseline.gap-3',
      h('h1.h3', { text: `Referral inbox — ${ctx.session.organization_name || org}` }),
      h('span.text-muted', { text: 'updates live' })),
    h('form.row.g-2.align-items-end.mb-2', { 'aria-label': 'Which referrals' },
      h('div.col-auto', field('Referrals', direction, { cls: '' })),
      h('div.col-auto', field('Show', scope, { cls: '' }))),
    status, body,
  ]);

  const done = (result) => {
    if (result && result.last_global_position) minPosition = result.last_global_position;
    loader.now();
  };

  function rowFor(entry) {
    const r = entry.referral || {};
    const received = entry.direction === 'REFERRAL_DIRECTION_RECEIVED';
    return h('tr.inbox-entry', { dataset: { client: entry.client_id, referral: r.referral_id, status: r.status } },
      h('td', clientLink(entry.client_id), h('small.d-block.text-muted.font-monospace', { text: r.referral_id })),
      h('td', { text: received ? r.from_organization_id : r.to_organization_id }),
      h('td', h('div', { text: enumLabel(r.service_category) }),
        h('small.text-muted', { text: `${enumLabel(r.kind)}, ${enumLabel(r.urgency)}` })),
      h('td', referralStatusBadge(r.status),
        h('small.d-block.text-muted', { text: `changed ${ago(r.status_changed_at)}` })),
      h('td', h('span.time-since-sent', { text: ago(r.sent_at) }), h('small.d-block.text-muted', timeEl(r.sent_at))),
      h('td', { text: (r.shared_data_classes || []).map(enumLabel).join(', ') || 'none' }),
      h('td', ctx.hasRole('agency') ? referralActions(r, entry.client_id, ctx.session, done) : null));
  }

  async function load() {
    const request = {
      organization_id: org,
      direction: direction.value,
      statuses: scope.value === 'all'
        ? ['requested', 'received', 'accepted', 'declined', 'on-hold', 'in-progress', 'completed', 'failed', 'cancelled']
        : [],
      page_size: 1000,
    };
    if (minPosition) request.min_position = minPosition;
    try {
      const answer = await api.callAllPages('ContinuityViews', 'ListReferrals', request, 'entries', { maxPages: 5 });
      if (loader.disposed) return;
      container.dataset.loadedAt = String(Date.now());
      if (!changed(memo, 'inbox', [request.direction, request.statuses, answer.entries, answer.withheld])) return;
      replaceChildren(status, withheldNotice(answer.withheld, 'referrals'));
      const received = direction.value === 'REFERRAL_DIRECTION_RECEIVED';
      const headers = ['Client', received ? 'From' : 'To', 'Service', 'Status', 'Sent', 'Data shared', ''];
      const sections = [];
      for (const group of GROUPS) {
        const entries = answer.entries.filter((e) => group.statuses.includes((e.referral || {}).status));
        if (!entries.length && group.key === 'closed') continue;
        const caption = `${group.title} (${entries.length})`;
        sections.push(h('div', { dataset: { group: group.key } }, section(caption,
          entries.length ? h('div.table-responsive', h('table.table.table-sm.align-middle.inbox-table',
            h('caption.visually-hidden', { text: caption }),
            h('thead', h('tr', headers.map((t) => h('th', { scope: 'col', text: t })))),
            h('tbody', entries.map(rowFor))))
            : empty('None.'))));
      }
      if (answer.truncated) sections.push(h('p.text-muted', { text: 'Only the first 5,000 referrals are shown.' }));
      replaceChildren(body, sections);
    } catch (err) {
      if (loader.disposed) return;
      delete memo.inbox;
      replaceChildren(status, errorAlert(err));
      replaceChildren(body);
    }
  }

  const loader = refresher(load);
  direction.addEventListener('change', () => loader.now());
  scope.addEventListener('change', () => loader.now());
  loader.now();
  return { onChange: () => loader.soon(), dispose: () => loader.dispose() };
}
