// Page 4: duplicates review (DuplicationViews.ListFindings): possible
// duplicate clients with the per-field explanation, linked
// (Clients.LinkClientRecords) or dismissed with a reason
// (Clients.DismissDuplicate); overlapping and same-day services and
// duplicate referrals.

import * as api from './api.js';
import {
  h, append, replaceChildren, field, select, input, errorAlert, withheldNotice, enumLabel,
  fmtTime, clientLink, refresher, spinner, empty, badge, table, changed,
} from './dom.js';
import { FINDING_KINDS, FINDING_STATUSES } from './enums.js';
import { runCommand } from './actions.js';

export function render(container, { query }, ctx) {
  const org = ctx.session.organization_id;
  const agency = ctx.hasRole('agency');
  const kind = select([['', 'All kinds'], ...FINDING_KINDS.map((k) => [k, enumLabel(k)])],
                      { id: 'dup-kind', value: query.get('kind') || 'FINDING_KIND_POSSIBLE_DUPLICATE_CLIENTS' });
  const status = select(FINDING_STATUSES.map((s) => [s, enumLabel(s)]), { id: 'dup-status', value: 'FINDING_STATUS_OPEN' });
  // An agency reviews its own organisation's findings (or one client's, on
  // the case page's terms); auditors and admins the whole network's.
  const networkWide = ctx.hasRole('auditor') || ctx.hasRole('admin');
  const scopeOptions = networkWide ? [['network', 'Network-wide']] : [];
  if (agency) scopeOptions.push(['org', `Ours (${org})`]);
  const scope = select(scopeOptions, { id: 'dup-scope' });
  const notices = h('div', { 'aria-live': 'polite' });
  const body = h('div.findings', spinner());
  let minPosition = '';
  const memo = {};

  append(container, [
    h('h1.h3', { text: 'Duplicates review' }),
    h('p.text-muted', { text: 'Possible duplicate clients, with how each field compared; overlapping and ' +
                              'same-day services; duplicate referrals.' }),
    h('form.row.g-2.align-items-end.mb-2', { 'aria-label': 'Filter the findings' },
      h('div.col-auto', field('Kind', kind, { cls: '' })),
      h('div.col-auto', field('Status', status, { cls: '' })),
      scopeOptions.length > 1 ? h('div.col-auto', field('Whose', scope, { cls: '' })) : null),
    notices, body,
  ]);

  function actions(finding) {
    if (!agency || finding.status !== 'FINDING_STATUS_OPEN' || !(finding.client_ids || []).length) return null;
    const result = h('div', { 'aria-live': 'polite' });
    const reason = input({ required: true, placeholder: 'why',
                           dataset: { focusKey: `${finding.finding_id}/reason` } });
    const buttons = [];
    const isClients = finding.kind === 'FINDING_KIND_POSSIBLE_DUPLICATE_CLIENTS';
    const [first, second] = finding.client_ids;
    const go = async (method, body) => {
      if (!reason.value.trim()) {
        replaceChildren(result, errorAlert({ code: 'INVALID_ARGUMENT', message: 'give the reason for your decision' }));
        reason.focus();
        return;
      }
      const r = await runCommand('Clients', method, body(reason.value.trim()), result, { busy: buttons });
      if (r) {
        minPosition = r.last_global_position || minPosition;
        loader.now();
      }
    };
    if (isClients && second) {
      buttons.push(h('button.btn.btn-sm.btn-outline-primary', {
        type: 'button', text: 'Link: same person', dataset: { action: 'link', focusKey: `${finding.finding_id}/link` },
        on: { click: () => go('LinkClientRecords', (why) => ({
          client_id: first, client_records_linked: { other_client_id: second, reason: why } })) },
      }));
    }
    buttons.push(h('button.btn.btn-sm.btn-outline-secondary', {
      type: 'button', text: isClients ? 'Dismiss: not the same person' : 'Dismiss',
      dataset: { action: 'dismiss', focusKey: `${finding.finding_id}/dismiss` },
      on: { click: () => go('DismissDuplicate', (why) => ({
        client_id: first, duplicate_dismissed: { finding_id: finding.finding_id, reason: why } })) },
    }));
    return h('div.finding-actions.mt-2',
      h('div.row.g-2.align-items-end',
        h('div.col-md-6', field(`Reason for your decision on ${finding.finding_id}`, reason, { cls: '' })),
        h('div.col-auto.d-flex.gap-2', buttons)),
      result);
  }

  function card(f) {
    const isClients = f.kind === 'FINDING_KIND_POSSIBLE_DUPLICATE_CLIENTS';
    return h('article.card.mb-2.finding', { dataset: { finding: f.finding_id, kind: f.kind } },
      h('div.card-body',
        h('div.d-flex.flex-wrap.gap-2.align-items-center.mb-1',
          h('h2.h6.mb-0', { text: enumLabel(f.kind) }),
          badge(enumLabel(f.status), f.status === 'FINDING_STATUS_OPEN' ? 'warning' : 'secondary'),
          isClients ? badge(`${Math.round((f.match_probability || 0) * 100)}% likely (${enumLabel(f.match_class)})`, 'info') : null,
          h('small.text-muted.font-monospace', { text: f.finding_id })),
        h('p.mb-1', { text: f.description }),
        h('p.mb-1.small', 'Clients: ', (f.client_ids || []).map((c, i) => [i ? ', ' : '', clientLink(c)]),
          (f.organization_ids || []).length ? `; organisations: ${f.organization_ids.join(', ')}` : '',
          (f.subject_ids || []).length ? `; about: ${f.subject_ids.join(', ')}` : '',
          f.service_category && f.service_category !== 'SERVICE_CATEGORY_UNSPECIFIED' ? `; ${enumLabel(f.service_category)}` : ''),
        h('p.mb-1.small.text-muted', { text: `First seen ${fmtTime(f.first_detected_at)}` +
          (f.status_reason ? `; ${f.status_reason}` : '') }),
        isClients && (f.comparisons || []).length ? table(`How the records of ${f.client_ids.join(' and ')} compare`,
          ['Field', 'Agreement', 'Weight', 'Detail'],
          f.comparisons.map((c) => h('tr', { dataset: { field: c.field, agreement: c.agreement } },
            h('th', { scope: 'row', text: c.field }),
            h('td', badge(enumLabel(c.agreement), agreementTone(c.agreement))),
            h('td.text-end.font-monospace', { text: Number(c.weight || 0).toFixed(2) }),
            h('td', { text: c.detail }))), { cls: 'comparison-table mb-1' }) : null,
        actions(f)));
  }

  async function load() {
    const request = {
      kinds: kind.value ? [kind.value] : [],
      statuses: [status.value],
      page_size: 500,
    };
    if (scope.value === 'org') request.organization_id = org;
    if (minPosition) request.min_position = minPosition;
    try {
      const answer = await api.callAllPages('DuplicationViews', 'ListFindings', request, 'findings', { maxPages: 4 });
      if (loader.disposed) return;
      container.dataset.loadedAt = String(Date.now());
      if (!changed(memo, 'findings', [request, answer.findings, answer.withheld])) return;
      replaceChildren(notices, withheldNotice(answer.withheld, 'findings'));
      const findings = answer.findings;
      replaceChildren(body,
        h('p.mb-2', { 'aria-live': 'polite', text: `${findings.length} finding${findings.length === 1 ? '' : 's'}` +
          (answer.truncated ? ' (the first 2,000)' : '') }),
        findings.length ? findings.map(card) : empty('No findings for these filters.'));
    } catch (err) {
      if (loader.disposed) return;
      delete memo.findings;
      replaceChildren(notices, errorAlert(err));
      replaceChildren(body);
    }
  }

  const loader = refresher(load);
  for (const el of [kind, status, scope]) el.addEventListener('change', () => loader.now());
  loader.now();
  return { onChange: () => loader.soon(), dispose: () => loader.dispose() };
}

function agreementTone(agreement) {
  return { FIELD_AGREEMENT_AGREE: 'success', FIELD_AGREEMENT_PARTIAL: 'warning',
           FIELD_AGREEMENT_DISAGREE: 'danger' }[agreement] || 'secondary';
}
