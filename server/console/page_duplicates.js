// Page 4: duplicates review (DuplicationViews.ListFindings): possible
// duplicate clients with the per-field explanation (agreement, the match
// model's m and u, weight, term-frequency adjustment) and the model that
// scored them, linked (Clients.LinkClientRecords) or dismissed with a reason
// (Clients.DismissDuplicate); overlapping and same-day services and
// duplicate referrals. Above them, the match model in use
// (DuplicationViews.GetMatchModel).

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
  // The match model: its <details> and <summary> are kept across refreshes
  // (their contents are replaced), so that the panel stays open or closed as
  // the reader left it and keyboard focus stays on its summary.
  const modelSummary = h('summary.card-header', { text: 'Match model' });
  const modelBody = h('div.card-body', spinner());
  const model = h('details.card.mb-3.match-model', { id: 'match-model', hidden: true },
                  modelSummary, modelBody);
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
    notices, model, body,
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
          ['Field', 'Agreement', 'm (same person)', 'u (different people)', 'Weight (bits)', 'Detail'],
          f.comparisons.map(comparisonRow), { cls: 'comparison-table mb-1' }) : null,
        isClients ? h('p.mb-1.small.text-muted.scored-with', {
          dataset: { modelPairs: Number(f.match_model_pairs || 0) },
          text: Number(f.match_model_pairs || 0)
            ? `Scored with the model learned from ${fmtCount(f.match_model_pairs)} compared pairs.`
            : 'Scored with the default model (not yet learned).' }) : null,
        actions(f)));
  }

  // The match model, shown while possible duplicate clients are listed.
  async function loadModel() {
    const shown = !kind.value || kind.value === 'FINDING_KIND_POSSIBLE_DUPLICATE_CLIENTS';
    model.hidden = !shown;
    if (!shown) return;
    const request = minPosition ? { min_position: minPosition } : {};
    try {
      const answer = await api.call('DuplicationViews', 'GetMatchModel', request);
      // Every event moves view_position; only a new model or count redraws.
      if (loader.disposed || !changed(memo, 'model', { ...answer, view_position: 0 })) return;
      replaceChildren(modelSummary, modelHeadline(answer));
      replaceChildren(modelBody, modelDetails(answer));
    } catch (err) {
      if (loader.disposed) return;
      delete memo.model;
      replaceChildren(modelSummary, 'Match model');
      replaceChildren(modelBody, errorAlert(err));
    }
  }

  async function loadFindings() {
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

  const load = () => Promise.all([loadModel(), loadFindings()]);
  const loader = refresher(load);
  for (const el of [kind, status, scope]) el.addEventListener('change', () => loader.now());
  loader.now();
  return { onChange: () => loader.soon(), dispose: () => loader.dispose() };
}

// One row of a finding's comparison table: the field, how it compared, the
// m and u the model had for that level, the weight (with the name's
// term-frequency adjustment, which the weight includes) and the detail.
function comparisonRow(c) {
  const missing = c.agreement === 'FIELD_AGREEMENT_MISSING';
  const adjustment = Number(c.term_frequency_adjustment || 0);
  return h('tr', { dataset: { field: c.field, agreement: c.agreement } },
    h('th', { scope: 'row', text: fieldLabel(c.field) }),
    h('td', badge(enumLabel(c.agreement), agreementTone(c.agreement))),
    probabilityCell(c.m_probability, missing, 'm-probability'),
    probabilityCell(c.u_probability, missing, 'u-probability'),
    h('td.text-end.font-monospace.weight', Number(c.weight || 0).toFixed(2),
      adjustment ? h('div.small.text-muted.tf-adjustment', {
        dataset: { adjustment },
        text: `incl. ${adjustment > 0 ? '+' : '−'}${Math.abs(adjustment).toFixed(2)} ` +
              `${adjustment > 0 ? 'rare' : 'common'} name` }) : null),
    h('td', { text: c.detail }));
}

// The match model panel's summary line: learned or default.
function modelHeadline(m) {
  const pairs = Number(m.estimated_at_pairs || 0);
  return pairs
    ? [h('span', { text: `Match model: learned from ${fmtCount(pairs)} compared pairs ` }), badge('Learned', 'success')]
    : [h('span', { text: 'Match model: the default (not yet learned) ' }), badge('Default', 'secondary')];
}

// The match model panel's body: the facts of the estimate and the table of
// every field's levels.
function modelDetails(m) {
  const pairs = Number(m.estimated_at_pairs || 0);
  const learned = pairs > 0;
  const facts = [
    ['Model', learned
      ? `Learned from ${fmtCount(pairs)} compared pairs, at log position ${m.estimated_at_position} ` +
        `(${fmtTime(m.estimated_at)})`
      : 'The default model: not yet learned from this network\'s pairs'],
    ['Prior', `${fmtProbability(m.prior)}: the probability that a candidate pair is one person ` +
              'before its fields are compared'],
    ['Estimation', learned
      ? `${m.iterations} EM iteration${m.iterations === 1 ? '' : 's'}, ` +
        (m.converged ? 'converged' : 'stopped at the limit without converging')
      : 'none yet'],
    ['Compared pairs so far', fmtCount(m.compared_pairs)],
    ['Next estimate', `at ${fmtCount(m.next_estimate_at_pairs)} compared pairs`],
    ['Thresholds', `a match from ${percent(m.match_threshold)} likely, ` +
                   `a possible duplicate to review from ${percent(m.review_threshold)}`],
    ['Name frequencies', `given names of ${fmtCount(m.given_name_clients)} clients, ` +
                         `family names of ${fmtCount(m.family_name_clients)}`],
    ['Fields kept at the default', learned
      ? ((m.fields_kept_default || []).map(fieldLabel).join(', ') || 'none')
      : 'all (no estimate yet)'],
  ];
  return [
    h('dl.row.small.mb-2.model-facts', facts.map(([term, text]) => [
      h('dt.col-sm-3', { text: term }), h('dd.col-sm-9.mb-1', { text }),
    ])),
    modelTable(m.fields || [], learned),
  ];
}

// Field × level: one <tbody> per field, its name (and, for a learned model,
// how many of the pairs it was estimated from had the field on both sides)
// heading the row group.
function modelTable(fields, learned) {
  const el = h('table.table.table-sm.align-middle.model-table',
    h('caption.caption-top', { text: 'm, u and weight of each field\'s agreement levels' }),
    h('thead', h('tr', ['Field', 'Level', 'm (same person)', 'u (different people)', 'Weight (bits)']
      .map((text) => h('th', { scope: 'col', text })))));
  for (const f of fields) {
    const levels = f.levels || [];
    const group = h('tbody', { dataset: { field: f.field } });
    levels.forEach((level, i) => {
      group.append(h('tr', { dataset: { field: f.field, agreement: level.agreement } },
        i === 0 ? h('th', { scope: 'rowgroup', rowspan: levels.length }, fieldLabel(f.field),
          learned ? h('div.small.text-muted.fw-normal.compared-pairs', {
            text: `${fmtCount(f.compared_pairs)} pairs had it on both sides` }) : null) : null,
        h('th', { scope: 'row', class: 'fw-normal' }, badge(enumLabel(level.agreement), agreementTone(level.agreement))),
        probabilityCell(level.m_probability, false, 'm-probability'),
        probabilityCell(level.u_probability, false, 'u-probability'),
        h('td.text-end.font-monospace.weight', { text: Number(level.weight || 0).toFixed(2) })));
    });
    el.append(group);
  }
  return h('div.table-responsive', el);
}

function probabilityCell(p, missing, cls) {
  return h('td.text-end.font-monospace', { class: cls, title: missing ? undefined : String(Number(p || 0)),
                                           text: missing ? '—' : fmtProbability(p) });
}

// A probability in at most 3 significant digits: "0.95", "0.0123"; below
// 0.001 in exponent form, "1e-6", "2.5e-4"; "> 0.999" for one that would
// round to 1 without being 1. The cell's title has the full value.
export function fmtProbability(value) {
  const p = Number(value || 0);
  if (p === 0 || p === 1) return String(p);
  if (p < 0.001) return p.toExponential(2).replace(/\.?0+e/, 'e');
  const rounded = Number(p.toPrecision(3));
  return rounded >= 1 ? '> 0.999' : String(rounded);
}

// A 64-bit count (a string in the JSON API) as "12,345".
function fmtCount(value) {
  return Number(value || 0).toLocaleString('en-US');
}

function percent(p) {
  return `${Math.round(Number(p || 0) * 1000) / 10}%`;
}

const FIELD_LABELS = {
  given_name: 'Given name', family_name: 'Family name', birth_date: 'Birth date', sex: 'Sex',
  phone: 'Phone', address: 'Address', identifier: 'Identifier',
};

function fieldLabel(field) {
  return FIELD_LABELS[field] || field;
}

function agreementTone(agreement) {
  return { FIELD_AGREEMENT_AGREE: 'success', FIELD_AGREEMENT_PARTIAL: 'warning',
           FIELD_AGREEMENT_DISAGREE: 'danger' }[agreement] || 'secondary';
}
