// Page 7: the auditor's pages. The break-the-glass review queue and refused
// access attempts (AccessAudit.ListBreakGlass with include_denied; mark
// reviewed with MarkBreakGlassReviewed), chain verification with the head
// hash to publish (EventLog.VerifyChain), and a client's accounting of
// disclosures (AuditViews.ListDisclosures) as a printable report (HIPAA
// 45 CFR 164.528): #/disclosures/<client id>.

import * as api from './api.js';
import {
  h, append, clear, replaceChildren, field, input, errorAlert, successAlert, enumLabel, fmtTime,
  clientLink, refresher, spinner, empty, section, badge, timeEl, personName, dayToTimestamp, isoDay,
  withheldNotice, button, changed,
} from './dom.js';

export function render(container, params, ctx) {
  const auditor = ctx.hasRole('auditor');
  const queue = h('div.break-glass');
  const verify = h('div.verify-chain');
  const lookup = h('div.disclosure-lookup');
  append(container, [
    h('h1.h3', { text: 'Audit' }),
    auditor ? queue : null,
    verify,
    lookup,
  ]);
  const views = [];
  if (auditor) views.push(breakGlassQueue(queue));
  verifyChain(verify);
  disclosureLookup(lookup, ctx);
  return {
    onChange: (event) => { for (const v of views) v.onChange(event); },
    dispose: () => { for (const v of views) v.dispose(); },
  };
}

// --- Break-the-glass review queue and refused reads ------------------------

function breakGlassQueue(el) {
  const includeReviewed = h('input', { type: 'checkbox', id: 'bg-include-reviewed' });
  const includeDenied = h('input', { type: 'checkbox', id: 'bg-include-denied', checked: true });
  const notices = h('div', { 'aria-live': 'polite' });
  const overrides = h('div.overrides', spinner());
  const refused = h('div.refused');
  let minPosition = '';
  const memo = {};
  append(el, section('Break-the-glass review queue',
    h('p.small.text-muted', { text: 'Reads that overrode consent in an emergency, and reads that were refused, ' +
                                    'oldest first. Review each and note what you found.' }),
    h('form.d-flex.gap-3.flex-wrap.mb-2', { 'aria-label': 'Which accesses' },
      field('Include accesses already reviewed', includeReviewed, { cls: '' }),
      field('Include refused access attempts', includeDenied, { cls: '' })),
    notices,
    h('h3.h6', { text: 'Emergency overrides (break the glass)' }), overrides,
    h('h3.h6.mt-3', { text: 'Refused access attempts' }), refused));

  function reviewCell(access) {
    if (access.reviewed) {
      return h('div.small', badge('reviewed', 'success'),
        ` by ${access.reviewed_by_user_id || '?'} (${access.reviewed_by_organization_id}) ${fmtTime(access.reviewed_at)}: ${access.review_note}`);
    }
    const result = h('div', { 'aria-live': 'polite' });
    const note = input({ class: 'form-control-sm', required: true, placeholder: 'what the review found',
                         'aria-label': `Review note for the access by ${access.organization_id} to client ${access.client_id}`,
                         dataset: { focusKey: `${access.access_event_id}/note` } });
    const mark = h('button.btn.btn-sm.btn-primary', {
      type: 'button', text: 'Mark reviewed', dataset: { action: 'review', focusKey: `${access.access_event_id}/mark` },
      'aria-label': `Mark the access by ${access.organization_id} to client ${access.client_id} reviewed`,
    });
    mark.addEventListener('click', async () => {
      clear(result);
      if (!note.value.trim()) {
        result.append(errorAlert({ code: 'INVALID_ARGUMENT', message: 'write what the review found' }));
        note.focus();
        return;
      }
      mark.disabled = true;
      try {
        const r = await api.call('AccessAudit', 'MarkBreakGlassReviewed',
                                 { access_event_id: access.access_event_id, note: note.value.trim() });
        minPosition = r.global_position || minPosition;
        result.append(successAlert(r.already_reviewed ? 'It was already reviewed.' : 'Marked reviewed.'));
        loader.now();
      } catch (err) {
        result.append(errorAlert(err));
      } finally {
        mark.disabled = false;
      }
    });
    return h('div',
      h('div.input-group.input-group-sm', note, mark),
      result);
  }

  function row(a) {
    const acc = a.access || {};
    return h('tr.access-entry', { dataset: { accessEvent: a.access_event_id, client: a.client_id, outcome: acc.outcome || '' } },
      h('td', timeEl(a.accessed_at)),
      h('td', clientLink(a.client_id)),
      h('td', h('div', { text: a.organization_id }), h('small.text-muted', { text: a.user_id +
        (acc.discipline && acc.discipline !== 'DISCIPLINE_UNSPECIFIED' ? ` (${enumLabel(acc.discipline)})` : '') })),
      h('td', { text: a.reason || acc.break_glass_reason || '—' }),
      h('td', h('div.small', { text: acc.operation || '' }), h('small.text-muted', { text: enumLabel(acc.purpose) })),
      h('td.review-cell', reviewCell(a)));
  }

  function tableOf(caption, list) {
    if (!list.length) return empty('None awaiting review.');
    return h('div.table-responsive', h('table.table.table-sm.align-middle.access-table',
      h('caption.visually-hidden', { text: caption }),
      h('thead', h('tr', ['When', 'Client', 'Who', 'Stated reason', 'What', 'Review'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', list.map(row))));
  }

  async function load() {
    const request = { include_reviewed: includeReviewed.checked, include_denied: includeDenied.checked, page_size: 1000 };
    if (minPosition) request.min_position = minPosition;
    try {
      const answer = await api.callAllPages('AccessAudit', 'ListBreakGlass', request, 'accesses', { maxPages: 5 });
      if (loader.disposed) return;
      el.dataset.loadedAt = String(Date.now());
      if (!changed(memo, 'queue', [request.include_reviewed, request.include_denied, answer.accesses])) return;
      replaceChildren(notices);
      const list = answer.accesses;
      const denied = list.filter((a) => (a.access || {}).outcome === 'ACCESS_OUTCOME_DENIED');
      const glass = list.filter((a) => (a.access || {}).outcome !== 'ACCESS_OUTCOME_DENIED');
      replaceChildren(overrides, tableOf('Emergency overrides', glass));
      replaceChildren(refused, includeDenied.checked ? tableOf('Refused access attempts', denied)
        : empty('Tick "Include refused access attempts" to list them.'));
    } catch (err) {
      if (loader.disposed) return;
      delete memo.queue;
      replaceChildren(notices, errorAlert(err));
    }
  }

  const loader = refresher(load, 500);
  includeReviewed.addEventListener('change', () => loader.now());
  includeDenied.addEventListener('change', () => loader.now());
  loader.now();
  return { onChange: () => loader.soon(), dispose: () => loader.dispose() };
}

// --- Chain verification ----------------------------------------------------------

function verifyChain(el) {
  const result = h('div.verify-result', { 'aria-live': 'polite' });
  const run = button('Verify the whole log', { id: 'verify-chain', class: 'btn-outline-primary' });
  run.addEventListener('click', async () => {
    run.disabled = true;
    replaceChildren(result, spinner('Verifying every event’s hash and link…'));
    try {
      const r = await api.call('EventLog', 'VerifyChain', {});
      replaceChildren(result,
        h('div.alert', { class: r.ok ? 'alert-success' : 'alert-danger', role: 'status', dataset: { ok: String(r.ok) } },
          h('strong', { text: r.ok ? 'The chain verifies.' : `The chain is broken at position ${r.first_bad_position}: ${r.problem}` }),
          ` ${r.events_checked} events checked.`),
        h('dl.row.mb-0',
          h('dt.col-sm-3', { text: 'Head position' }), h('dd.col-sm-9.font-monospace.head-position', { text: r.head_position }),
          h('dt.col-sm-3', { text: 'Head hash (publish this)' }),
          h('dd.col-sm-9', h('code.head-hash.text-break.user-select-all', { text: r.head_hash }))),
        h('p.small.text-muted.mb-0', { text: 'Publish the head position and hash (e.g. in a signed report): anyone can ' +
          'later check that the log up to that position is unchanged.' }));
    } catch (err) {
      replaceChildren(result, errorAlert(err));
    } finally {
      run.disabled = false;
    }
  });
  append(el, section('Chain verification', h('p.small.text-muted', {
    text: 'Recomputes the hash of every event and its link to the one before.' }), run, result));
}

// --- Accounting of disclosures -----------------------------------------------------

function disclosureLookup(el, ctx) {
  const id = input({ id: 'disclosures-client', required: true });
  const form = h('form.row.g-2.align-items-end', { id: 'disclosures-form' },
    h('div.col-auto', field('Client id', id, { cls: '' })),
    h('div.col-auto', h('button.btn.btn-primary', { type: 'submit', text: 'Open the accounting' })));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (id.value.trim()) ctx.navigate(`#/disclosures/${encodeURIComponent(id.value.trim())}`);
  });
  append(el, section('Accounting of disclosures', h('p.small.text-muted', {
    text: 'What was disclosed about a client, to whom, when and why: the accounting a client may request ' +
          '(HIPAA 45 CFR 164.528), printable.' }), form));
}

export const disclosuresPage = {
  render(container, { args, query }, ctx) {
    const clientId = args[0];
    if (!clientId) {
      disclosureLookup(container, ctx);
      return {};
    }
    const now = new Date();
    const sixYears = new Date(now.getTime() - 6 * 365.25 * 86400000);
    const from = input({ type: 'date', id: 'disclosures-from', value: query.get('from') || isoDay(sixYears) });
    const to = input({ type: 'date', id: 'disclosures-to', value: query.get('to') || isoDay(new Date(now.getTime() + 86400000)) });
    const heading = h('h1.h3', { text: `Accounting of disclosures — ${clientId}` });
    const meta = h('p.report-meta');
    const notices = h('div');
    const body = h('div.disclosures', spinner());
    const print = button('Print the report', { id: 'print-report', class: 'btn-outline-primary' });
    print.addEventListener('click', () => window.print());
    const form = h('form.row.g-2.align-items-end.mb-3.no-print', { id: 'disclosures-period' },
      h('div.col-auto', field('From', from, { cls: '' })),
      h('div.col-auto', field('Until (not including)', to, { cls: '' })),
      h('div.col-auto', h('button.btn.btn-primary', { type: 'submit', text: 'Show' })),
      h('div.col-auto', print),
      h('div.col-auto', h('a.btn.btn-link', { href: `#/client/${encodeURIComponent(clientId)}`, text: 'Case page' })));
    append(container, [h('div.report-header', heading, meta), form, notices, body]);
    let disposed = false;

    async function load() {
      replaceChildren(body, spinner());
      const period = { start: dayToTimestamp(from.value), end: dayToTimestamp(to.value) };
      try {
        const [answer, name] = await Promise.all([
          api.callAllPages('AuditViews', 'ListDisclosures', { client_id: clientId, period, page_size: 1000 },
                           'disclosures', { maxPages: 10 }),
          clientName(clientId),
        ]);
        if (disposed) return;
        heading.textContent = `Accounting of disclosures — ${name ? `${name} (${clientId})` : clientId}`;
        meta.textContent = `HIPAA 45 CFR 164.528. Disclosures from ${from.value} until ${to.value}; ` +
          `prepared ${fmtTime(new Date().toISOString())} by ${ctx.session.user_id} of ` +
          `${ctx.session.organization_name || ctx.session.organization_id}; log position ${answer.view_position}.`;
        replaceChildren(notices, withheldNotice(answer.withheld, 'disclosures'));
        const list = answer.disclosures;
        replaceChildren(body, list.length ? h('div.table-responsive', h('table.table.table-sm.disclosure-table',
          h('caption.caption-top', { text: `${list.length} disclosure${list.length === 1 ? '' : 's'}` }),
          h('thead', h('tr', ['Date', 'Recipient', 'Data disclosed', 'Purpose', 'Basis', 'Disclosed by', 'Source']
            .map((t) => h('th', { scope: 'col', text: t })))),
          h('tbody', list.map((d) => h('tr.disclosure', { dataset: { source: d.source, subject: d.subject_id } },
            h('td', timeEl(d.disclosed_at)),
            h('td', h('div', { text: d.recipient_organization_name || d.recipient_organization_id }),
              h('small.text-muted', { text: d.recipient_organization_id })),
            h('td', h('div', { text: d.description }), h('small.text-muted', { text: (d.data_classes || []).map(enumLabel).join(', ') })),
            h('td', { text: enumLabel(d.purpose) }),
            h('td', { text: d.consent_id ? `consent ${d.consent_id}` : d.legal_basis || '—' }),
            h('td', { text: d.disclosed_by_organization_id || '—' }),
            h('td', { text: `${d.source}${d.subject_id ? ` ${d.subject_id}` : ''}` }))))))
          : empty('No disclosures in this period.'));
        container.dataset.loadedAt = String(Date.now());
      } catch (err) {
        if (disposed) return;
        replaceChildren(notices, errorAlert(err));
        replaceChildren(body);
      }
    }

    form.addEventListener('submit', (event) => { event.preventDefault(); load(); });
    load();
    return { dispose: () => { disposed = true; } };
  },
};

// The client's name for the report's heading, from a replay of its record
// now; empty when it is not visible.
async function clientName(clientId) {
  try {
    const r = await api.call('AuditViews', 'ReplayClient', { client_id: clientId, recorded_at: new Date().toISOString() });
    return personName(r.state && r.state.details && r.state.details.name);
  } catch (err) {
    return '';
  }
}
