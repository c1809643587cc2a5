// Page 2: a client's case page. The summary (ContinuityViews.GetClientSummary),
// the record at a past moment (AuditViews.ReplayClient, the "as of" control),
// the timeline (AuditViews.GetTimeline), and the commands the caller may
// issue as forms: send or answer a referral, record a follow-up, add a care
// team member, record a consent with its attestation.

import * as api from './api.js';
import {
  h, append, clear, replaceChildren, field, input, select, checkboxes, button, errorAlert,
  withheldNotice, enumLabel, fmtTime, fmtDate, personName, timeEl, table,
  empty, section, newId, refresher, spinner, badge, isSet, localToTimestamp, dayToTimestamp, uid,
  eventClientId, disciplineEnum, changed,
} from './dom.js';
import {
  SERVICE_CATEGORIES, DATA_CLASSES, PURPOSES, DISCIPLINES, ORGANIZATION_TYPES, REFERRAL_KINDS,
  URGENCIES, CONTACT_KINDS, CARE_TEAM_ROLES, CONSENT_METHODS, REPRESENTATIVE_AUTHORITIES,
} from './enums.js';
import { runCommand, referralActions, referralStatusBadge } from './actions.js';

export function render(container, { args, query }, ctx) {
  const clientId = args[0];
  if (!clientId) return renderLookup(container, ctx);
  return new ClientPage(container, clientId, query, ctx).start();
}

// #/client without an id: a form to open one.
function renderLookup(container, ctx) {
  const id = input({ id: 'client-lookup-id', required: true, placeholder: 'e.g. scenario-stroke' });
  const form = h('form.row.g-2.align-items-end', { id: 'client-lookup' },
    h('div.col-auto', field('Client id', id, { cls: '' })),
    h('div.col-auto', h('button.btn.btn-primary', { type: 'submit', text: 'Open case page' })));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (id.value.trim()) ctx.navigate(`#/client/${encodeURIComponent(id.value.trim())}`);
  });
  append(container, [h('h1.h3', { text: 'Open a client' }),
    h('p.text-muted', { text: 'Clients are opened from the worklist, the referral inbox and the other ' +
                               'pages; or by their id here.' }), form]);
  return {};
}

class ClientPage {
  constructor(container, clientId, query, ctx) {
    this.container = container;
    this.clientId = clientId;
    this.ctx = ctx;
    this.me = ctx.session.organization_id;
    this.minPosition = '';
    this.breakGlass = '';  // the emergency stated for a break-the-glass read
    this.asOf = null;  // {mode, value} while replaying
    this.summary = null;
    this.formsBuilt = false;
    this.heading = h('h1.h3.mb-0.client-name', { text: clientId });
    this.headerInfo = h('div.client-header');
    this.notices = h('div.client-notices');
    this.asOfBar = h('div.as-of-bar');
    this.stateArea = h('div.client-state', spinner());
    this.actionsArea = h('div.client-actions');
    this.timelineArea = h('div.client-timeline');
    this.timelineNotice = h('div');
    this.orgList = h('datalist', { id: uid('orgs') });
    this.timelineEntries = [];
    this.initialQuery = query;
    this.memo = {};
  }

  start() {
    append(this.container, [
      h('div.d-flex.flex-wrap.align-items-baseline.gap-3.mb-2', this.heading,
        h('span.text-muted.font-monospace', { text: this.clientId }),
        h('a.ms-auto.no-print', { href: `#/disclosures/${encodeURIComponent(this.clientId)}`,
                                  text: 'Accounting of disclosures' })),
      this.headerInfo, this.notices, this.asOfBar, this.stateArea, this.actionsArea,
      this.timelineArea, this.orgList,
    ]);
    this.loader = refresher(() => this.load());
    this.loader.now();
    return {
      onChange: (event) => {
        if (!this.asOf && !this.breakGlass && eventClientId(event) === this.clientId) this.loader.soon();
      },
      dispose: () => this.loader.dispose(),
    };
  }

  async load() {
    const request = { client_id: this.clientId };
    if (this.minPosition) request.min_position = this.minPosition;
    let summary;
    try {
      summary = await api.call('ContinuityViews', 'GetClientSummary', request, { breakGlass: this.breakGlass });
    } catch (err) {
      if (this.loader.disposed) return;
      // Refused (e.g. an uninvolved organisation): show the refusal and
      // nothing of the client.
      this.summary = null;
      this.breakGlass = '';
      this.memo = {};
      replaceChildren(this.notices, errorAlert(err),
        err.code === 'PERMISSION_DENIED' && this.ctx.hasRole('agency') ? this.breakGlassForm() : null);
      for (const el of [this.headerInfo, this.asOfBar, this.stateArea, this.actionsArea, this.timelineArea]) clear(el);
      this.formsBuilt = false;
      this.container.dataset.state = 'refused';
      return;
    }
    if (this.loader.disposed) return;
    this.summary = summary;
    const state = (summary.summary && summary.summary.state) || {};
    if (!changed(this.memo, 'summary', [summary.summary, summary.withheld, this.breakGlass, this.asOf])) {
      if (!this.breakGlass) await this.loadTimeline();
      return;
    }
    this.renderHeader(state);
    replaceChildren(this.notices, this.breakGlass ? h('div.alert.alert-danger.break-glass-banner', { role: 'status' },
      h('strong', { text: 'Emergency access (break the glass). ' }),
      `This read bypassed consent for the reason “${this.breakGlass}”; it is on the client’s record and an ` +
      'auditor will review it. It is not refreshed and you cannot act on the record from here.') : null,
    withheldNotice(summary.withheld, 'events'));
    if (!this.asOfBar.firstChild && !this.breakGlass) this.buildAsOfBar();
    this.updateOrgList(summary.summary || {});
    if (!this.asOf) {
      this.renderState(state, summary.summary || {}, Boolean(this.breakGlass));
      if (this.breakGlass) clear(this.actionsArea);
      else this.buildForms(state);
    }
    // A break-the-glass read is one read: the timeline is not read with it.
    if (this.breakGlass) clear(this.timelineArea);
    else await this.loadTimeline();
    this.container.dataset.state = 'loaded';
    this.container.dataset.loadedAt = String(Date.now());
  }

  renderHeader(state) {
    const d = state.details || {};
    const name = personName(d.name);
    this.heading.textContent = name || this.clientId;
    const facts = [];
    if (d.birth_date && d.birth_date.year) facts.push(['Born', fmtDate(d.birth_date)]);
    if (d.birth_date_recorded_as) facts.push(['Birth date recorded as', d.birth_date_recorded_as]);
    if (d.sex && d.sex !== 'SEX_UNSPECIFIED') facts.push(['Sex', enumLabel(d.sex)]);
    if (d.phone) facts.push(['Phone', d.phone]);
    const a = d.address || {};
    const address = [a.line1, a.line2, a.city, a.region, a.postal_code].filter(Boolean).join(', ');
    if (address) facts.push(['Address', address]);
    if (d.preferred_language) facts.push(['Language', d.preferred_language + (d.interpreter_needed ? ' (interpreter needed)' : '')]);
    for (const id of d.identifiers || []) facts.push([`${id.system} (${id.organization_id})`, id.value]);
    if (state.registered_by_organization_id) facts.push(['Registered by', state.registered_by_organization_id]);
    if ((state.linked_client_ids || []).length) facts.push(['Linked records', state.linked_client_ids.join(', ')]);
    replaceChildren(this.headerInfo,
      h('div.d-flex.flex-wrap.gap-2.align-items-center.mb-2',
        badge(`Case ${state.case_status || 'unknown'}`, state.case_status === 'open' ? 'success' : 'secondary'),
        state.registered ? null : badge('Registration not visible', 'warning')),
      facts.length ? h('dl.client-facts.small.mb-2', facts.map(([k, v]) => h('div',
        h('dt', { text: k }), h('dd', { text: v })))) : null);
  }

  // Break the glass (docs/access.md): an agency may read a record it is
  // refused in an emergency, once, stating why; the read is recorded and
  // joins the auditors' review queue.
  breakGlassForm() {
    const reason = input({ id: 'break-glass-reason', required: true, placeholder: 'e.g. unresponsive in the ED, no history' });
    const result = h('div', { 'aria-live': 'polite' });
    const form = h('form.card.card-body.border-danger.mb-3.break-glass-form', { id: 'break-glass-form' },
      h('h2.h6.text-danger', { text: 'Emergency access (break the glass)' }),
      h('p.small.mb-2', { text: 'Only in an emergency: read this record without consent once. Your reason is ' +
        'recorded on the client’s record and reviewed by an auditor.' }),
      field('The emergency', reason),
      h('button.btn.btn-outline-danger.align-self-start', { type: 'submit', text: 'Read the record in an emergency' }),
      result);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const emergency = reason.value.trim();
      // It travels as an HTTP header (X-Caseline-Break-Glass), which takes
      // printable ASCII only.
      if (!emergency || /[^\x20-\x7e]/.test(emergency)) {
        replaceChildren(result, errorAlert({ code: 'INVALID_ARGUMENT', message: emergency
          ? 'state the emergency in plain letters, digits and punctuation (no accents or symbols)'
          : 'state the emergency' }));
        reason.focus();
        return;
      }
      this.breakGlass = emergency;
      this.loader.now();
    });
    return form;
  }

  // --- "As of": the record replayed at a past moment ---------------------------

  buildAsOfBar() {
    const mode = select([
      ['recorded_at', 'As recorded by (what the record said then)'],
      ['occurred_at', 'As of business time (what had happened by then)'],
      ['position', 'After log position'],
    ], { id: 'asof-mode' });
    const when = input({ type: 'datetime-local', id: 'asof-when', step: '60' });
    const position = input({ type: 'number', id: 'asof-position', min: '1', hidden: true });
    const whenField = field('Moment (your time zone)', when, { cls: '' });
    const positionField = field('Log position', position, { cls: '' });
    positionField.hidden = true;
    mode.addEventListener('change', () => {
      const isPosition = mode.value === 'position';
      whenField.hidden = isPosition;
      positionField.hidden = !isPosition;
      position.hidden = !isPosition;
    });
    const show = h('button.btn.btn-outline-primary', { type: 'submit', text: 'Show the record then', id: 'asof-show' });
    const now = button('Back to now', { class: 'btn-outline-secondary', id: 'asof-now', disabled: true });
    this.asOfResult = h('div.w-100', { 'aria-live': 'polite' });
    const form = h('form.row.g-2.align-items-end.mb-3.no-print', { id: 'asof-form', 'aria-label': 'Replay the record as of a past moment' },
      h('div.col-auto', field('Replay', mode, { cls: '' })),
      h('div.col-auto', whenField, positionField),
      h('div.col-auto', show), h('div.col-auto', now), this.asOfResult);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = mode.value === 'position' ? position.value : localToTimestamp(when.value);
      if (!value) {
        replaceChildren(this.asOfResult, errorAlert({ code: 'INVALID_ARGUMENT', message: 'choose the moment to replay the record at' }));
        return;
      }
      now.disabled = false;
      this.replay({ [mode.value]: value });
    });
    now.addEventListener('click', () => {
      this.asOf = null;
      this.memo = {};  // the page shows the replay: render the record again
      now.disabled = true;
      clear(this.asOfResult);
      this.loader.now();
    });
    this.asOfNowButton = now;
    replaceChildren(this.asOfBar, form);
  }

  async replay(asOf) {
    this.asOf = asOf;
    if (this.asOfNowButton) this.asOfNowButton.disabled = false;
    clear(this.asOfResult);
    try {
      const answer = await api.call('AuditViews', 'ReplayClient', { client_id: this.clientId, ...asOf });
      if (this.asOf !== asOf) return;
      const what = asOf.position ? `after log position ${asOf.position}`
        : asOf.recorded_at ? `as recorded by ${fmtTime(asOf.recorded_at)}`
          : `as of business time ${fmtTime(asOf.occurred_at)}`;
      replaceChildren(this.asOfResult,
        h('div.alert.alert-info.replay-banner', { role: 'status' },
          h('strong', { text: `Replay: the record ${what}` }),
          ` (${plural(Number(answer.state ? answer.state.events_applied : 0), 'event')}; ` +
          `consents judged at ${fmtTime(answer.as_of_time)}). ` +
          'Actions are off while replaying.'),
        withheldNotice(answer.withheld, 'events'));
      this.renderState(answer.state || {}, null, true);
      clear(this.actionsArea);
      this.formsBuilt = false;
      this.container.dataset.replay = JSON.stringify(asOf);
    } catch (err) {
      replaceChildren(this.asOfResult, errorAlert(err));
    }
  }

  // --- The record's sections ----------------------------------------------------

  // `summary` is null in a replay (which has only the state); `readOnly`
  // leaves out the actions (a replay, a break-the-glass read).
  renderState(state, summary, readOnly) {
    const s = summary || {};
    const done = (result) => this.afterCommand(result);
    const parts = [];
    if (summary) {
      const gaps = s.gaps || [];
      parts.push(section(`Gaps in care (${gaps.length})`,
        gaps.length ? h('ul.list-unstyled.mb-0.gaps', gaps.map((g) => h('li.gap.alert.alert-warning.py-2.mb-2', {
          dataset: { reason: g.reason, subject: g.subject_id },
        }, h('strong', { text: enumLabel(g.reason) }), ` — ${g.description}`,
        h('small.d-block.text-muted', { text: `since ${fmtTime(g.since)}; ${g.organization_id} should act` }))))
          : empty('No gaps.')));
    }
    const lead = (state.care_team || []).find((m) => m.role === 'CARE_TEAM_ROLE_LEAD_CASE_MANAGER');
    parts.push(section('Care team',
      lead ? h('p.mb-2', h('strong', { text: 'Lead case manager: ' }), `${personName(lead.name)} (${lead.organization_id})`)
        : h('p.mb-2.text-muted', { text: 'No active lead case manager.' }),
      (state.care_team || []).length ? table('Care team members', ['Name', 'Organisation', 'Discipline', 'Role', 'Since'],
        state.care_team.map((m) => [personName(m.name) || m.member_id, m.organization_id, enumLabel(m.discipline),
          enumLabel(m.role), timeEl(m.added_at)]), { hideCaption: true }) : empty('No care team members.')));

    const referrals = state.referrals || [];
    parts.push(wide(section(`Referrals (${referrals.length})`,
      referrals.length ? table('Referrals and their lifecycle',
        ['Referral', 'From → to', 'Service', 'Kind, urgency', 'Status', 'Sent', 'Status changed', ''],
        referrals.map((r) => h('tr.referral-row', { dataset: { referral: r.referral_id, status: r.status } },
          h('td.font-monospace', { text: r.referral_id }),
          h('td', { text: `${r.from_organization_id} → ${r.to_organization_id}` }),
          h('td', { text: enumLabel(r.service_category) }),
          h('td', { text: `${enumLabel(r.kind)}, ${enumLabel(r.urgency)}` }),
          h('td', referralStatusBadge(r.status)),
          h('td', timeEl(r.sent_at), h('small.d-block.text-muted', { text: `${r.age_days} days ago` })),
          h('td', timeEl(r.status_changed_at)),
          h('td', readOnly || !this.ctx.hasRole('agency') ? null
            : referralActions(r, this.clientId, this.ctx.session, done)))))
        : empty('No referrals.'))));

    const admissions = state.admissions || [];
    const transitions = state.transitions || [];
    parts.push(wide(section('Stays and transitions',
      admissions.length ? table('Stays (admissions)', ['Admission', 'Facility', 'Level of care', 'Need', 'Admitted', 'Discharged', 'Disposition'],
        admissions.map((a) => [h('span.font-monospace', { text: a.admission_id }), a.facility_organization_id,
          enumLabel(a.level_of_care), enumLabel(a.primary_need), timeEl(a.admitted_at),
          isSet(a.discharged_at) ? timeEl(a.discharged_at) : badge('still admitted', 'info'),
          enumLabel(a.disposition)])) : empty('No stays.'),
      transitions.length ? table('Transitions', ['Transition', 'From', 'To', 'Planned for', 'Follow-up due', 'Completed'],
        transitions.map((t) => [h('span.font-monospace', { text: t.transition_id }),
          `${t.from_organization_id || '—'} (${enumLabel(t.from_level_of_care)})`,
          `${t.to_organization_id} (${enumLabel(t.to_level_of_care)})`, fmtDate(t.planned_date),
          fmtDate(t.follow_up_due), isSet(t.completed_at) ? timeEl(t.completed_at) : 'not yet'])) : empty('No transitions.'),
      (s.follow_ups_due || []).length ? table('Follow-ups due', ['Admission', 'Transition', 'Discharged', 'Due', ''],
        s.follow_ups_due.map((f) => [f.admission_id || '—', f.transition_id || '—', timeEl(f.discharged_at), timeEl(f.due),
          f.overdue ? badge('overdue', 'danger') : ''])) : null)));

    parts.push(wide(section('Consents and what each organisation may see',
      (state.consents_in_force || []).length ? table('Consents in force',
        ['Consent', 'Given by', 'Recipients', 'Data', 'Purposes', 'In force', 'How obtained'],
        state.consents_in_force.map((c) => consentRow(c))) : empty('No consent in force.'),
      s.consent_coverage ? table('What each organisation may see',
        ['Organisation', 'Involvement', 'May see', 'Needs but not covered'],
        s.consent_coverage.map((o) => h('tr', { dataset: { org: o.organization_id } },
          h('td', h('div', { text: o.organization_name || o.organization_id }), h('small.text-muted', { text: o.organization_id })),
          h('td', { text: (o.involvement || []).join(', ') }),
          h('td', { text: (o.covered_data_classes || []).map(enumLabel).join(', ') || 'nothing' }),
          h('td', { class: (o.missing_data_classes || []).length ? 'text-danger' : '',
                    text: (o.missing_data_classes || []).map(enumLabel).join(', ') || '—' })))) : null)));

    const services = state.services || [];
    parts.push(wide(section('Services',
      services.length ? table('Services', ['Service', 'Provider', 'Category', 'Level of care', 'Started', 'Ended', 'Referral'],
        services.map((v) => [h('span.font-monospace', { text: v.service_id }), v.provider_organization_id,
          enumLabel(v.category), enumLabel(v.level_of_care), timeEl(v.started_at),
          isSet(v.ended_at) ? timeEl(v.ended_at) : isSet(v.interruption_expected_end)
            ? `interruption expected ${fmtTime(v.interruption_expected_end)}` : badge('active', 'success'),
          v.referral_id || '—']), { hideCaption: true }) : empty('No services.'))));

    const goals = state.goals || [];
    parts.push(wide(section('Goals',
      goals.length ? table('Goals', ['Goal', 'Domain', 'Description', 'Measure', 'Target', 'Status', 'Achieved'],
        goals.map((g) => [h('span.font-monospace', { text: g.goal_id }), enumLabel(g.domain), g.description, g.measure,
          fmtDate(g.target_date), enumLabel(g.status), `${g.percent_achieved}%`]), { hideCaption: true })
        : empty('No goals.'))));

    // Wide tables (referrals, stays) take the full width; the others pair up.
    replaceChildren(this.stateArea, h('div.row.g-0.gx-xl-3', parts.map((p) =>
      h('div', { class: p.dataset.wide ? 'col-12' : 'col-12 col-xl-6' }, p))));
  }

  updateOrgList(summary) {
    const orgs = new Map();
    for (const o of this.ctx.directory || []) orgs.set(o.organization_id, o.name || o.organization_id);
    for (const o of summary.consent_coverage || []) orgs.set(o.organization_id, o.organization_name || o.organization_id);
    replaceChildren(this.orgList, [...orgs].sort().map(([id, name]) => h('option', { value: id, label: name })));
    this.knownOrgs = orgs;
  }

  async afterCommand(result) {
    if (result && result.last_global_position) this.minPosition = result.last_global_position;
    await this.loader.now();
  }

  // --- The timeline -------------------------------------------------------------

  async loadTimeline() {
    try {
      const answer = await api.callAllPages('AuditViews', 'GetTimeline',
        { client_id: this.clientId, page_size: 1000 }, 'entries', { maxPages: 5, breakGlass: this.breakGlass });
      if (this.loader.disposed) return;
      if (!changed(this.memo, 'timeline', [answer.entries, answer.withheld])) return;
      const entries = answer.entries.slice().reverse();  // newest first
      // An event a later correction marked entered in error stays listed,
      // struck through, with the correction named (docs/views.md).
      const marked = (e) => e.entered_in_error
        ? h('div.entered-in-error', { text: `Entered in error at position ${e.entered_in_error.global_position} by ${e.entered_in_error.organization_id}: ${e.entered_in_error.reason}` })
        : null;
      const rows = entries.map((e) => h(e.entered_in_error ? 'tr.timeline-entry.timeline-entered-in-error' : 'tr.timeline-entry',
        { dataset: { position: e.global_position, type: e.event_type } },
        h('td.font-monospace', { text: e.global_position }),
        h('td', timeEl(e.occurred_at)),
        h('td', timeEl(e.recorded_at)),
        h('td', h('div', { text: e.organization_id }), h('small.text-muted', { text: e.user_id + (e.on_behalf_of ? ` for ${e.on_behalf_of}` : '') })),
        h('td', h('div.timeline-what', { text: e.summary || e.event_type }), h('small.text-muted', { text: e.event_type }), marked(e)),
        h('td.no-print', h('button.btn.btn-link.btn-sm.p-0', {
          type: 'button', text: 'Replay to here',
          'aria-label': `Replay the record after log position ${e.global_position}`,
          on: { click: () => this.replay({ position: e.global_position }) },
        }))));
      replaceChildren(this.timelineArea, section(`Timeline (${entries.length} entries, newest first)`,
        withheldNotice(answer.withheld, 'events'),
        answer.truncated ? h('p.text-muted', { text: 'Only the first 5,000 entries are shown.' }) : null,
        entries.length ? table('Timeline', ['Position', 'Happened', 'Recorded', 'By', 'What', ''], rows, { hideCaption: true, cls: 'timeline-table' })
          : empty('Nothing on the timeline that you may see.')));
    } catch (err) {
      if (this.loader.disposed) return;
      replaceChildren(this.timelineArea, section('Timeline', errorAlert(err)));
    }
  }

  // --- Forms: the commands the caller may issue ------------------------------

  buildForms(state) {
    if (!this.ctx.hasRole('agency')) {
      clear(this.actionsArea);
      return;
    }
    if (this.formsBuilt) {
      this.updateFormChoices(state);
      return;
    }
    this.formsBuilt = true;
    const forms = [
      this.referralForm(),
      this.followUpForm(),
      this.teamMemberForm(),
      this.consentForm(),
    ];
    replaceChildren(this.actionsArea, h('section.mb-3.no-print', { 'aria-labelledby': 'actions-heading' },
      h('h2.h5', { id: 'actions-heading', text: `Actions for ${this.ctx.session.organization_name || this.me}` }),
      h('div.row.row-cols-1.row-cols-xl-2.g-2', forms.map((f) => h('div.col', f)))));
    this.updateFormChoices(state);
  }

  updateFormChoices(state) {
    if (!this.followUpChoices) return;
    const { admission, transition } = this.followUpChoices;
    const keep = (sel, options) => {
      const value = sel.value;
      replaceChildren(sel, options.map(([v, l]) => h('option', { value: v, text: l })));
      sel.value = options.some(([v]) => v === value) ? value : '';
    };
    keep(admission, [['', 'None'], ...(state.admissions || []).map((a) => [a.admission_id,
      `${a.admission_id} at ${a.facility_organization_id}${isSet(a.discharged_at) ? `, discharged ${fmtTime(a.discharged_at)}` : ''}`])]);
    keep(transition, [['', 'None'], ...(state.transitions || []).map((t) => [t.transition_id,
      `${t.transition_id} to ${t.to_organization_id}, planned ${fmtDate(t.planned_date)}`])]);
  }

  // A form in a <details> block: `build(result)` returns its fields and a
  // submit handler that returns the command's promise.
  actionForm(title, id, fields, submit) {
    const result = h('div.form-result', { 'aria-live': 'polite' });
    const submitButton = h('button.btn.btn-primary', { type: 'submit', text: title });
    const form = h('form.action-form', { id, novalidate: true }, fields, submitButton, result);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const r = await submit(result, [submitButton]);
      if (r) {
        // Done: the form is empty again (with new ids), its message stays.
        form.reset();
        form.dispatchEvent(new CustomEvent('command-done'));
        await this.afterCommand(r);
      }
    });
    return h('details.card.action', { dataset: { form: id } },
      h('summary.card-header', { text: title }), h('div.card-body', form));
  }

  referralForm() {
    const referralId = input({ value: newId('ref'), required: true });
    const to = input({ list: this.orgList.id, required: true, placeholder: 'organisation id' });
    const category = select(SERVICE_CATEGORIES.map((c) => [c, enumLabel(c)]), { value: 'SERVICE_CATEGORY_HOUSING' });
    const kind = select(REFERRAL_KINDS.map((c) => [c, enumLabel(c)]));
    const urgency = select(URGENCIES.map((c) => [c, enumLabel(c)]));
    const reason = h('textarea.form-control', { rows: '2' });
    const shared = checkboxes('Data shared with the receiver (each needs a consent in force)',
                              DATA_CLASSES.map((c) => [c, enumLabel(c)]));
    const purpose = select(PURPOSES.map((c) => [c, enumLabel(c)]), { value: 'PURPOSE_OF_USE_CARE_COORDINATION' });
    const details = this.actionForm('Send a referral', 'form-send-referral', [
      h('div.row.g-2', h('div.col-md-6', field('Referral id', referralId)), h('div.col-md-6', field('To organisation', to))),
      h('div.row.g-2', h('div.col-md-4', field('Service', category)), h('div.col-md-4', field('Kind', kind)),
        h('div.col-md-4', field('Urgency', urgency))),
      field('Reason', reason), shared, field('Purpose of use', purpose),
    ], (result, busy) => runCommand('Referrals', 'SendReferral', {
      client_id: this.clientId,
      referral_sent: {
        referral_id: referralId.value.trim(), to_organization_id: to.value.trim(),
        service_category: category.value, kind: kind.value, urgency: urgency.value,
        reason: reason.value.trim(), shared_data_classes: shared.values(), purpose: purpose.value,
      },
    }, result, { busy, success: `Referral ${referralId.value.trim()} sent to ${to.value.trim()}.` }));
    details.querySelector('form').addEventListener('command-done', () => { referralId.value = newId('ref'); });
    return details;
  }

  followUpForm() {
    const followUpId = input({ value: newId('fu'), required: true });
    const admission = select([['', 'None']]);
    const transition = select([['', 'None']]);
    this.followUpChoices = { admission, transition };
    const contact = select(CONTACT_KINDS.map((c) => [c, enumLabel(c)]));
    const provider = input({ list: this.orgList.id, value: this.me });
    const discipline = select(DISCIPLINES.map((c) => [c, enumLabel(c)]),
                              { value: disciplineEnum(this.ctx.session.discipline) });
    const when = input({ type: 'datetime-local', step: '60' });
    const details = this.actionForm('Record a follow-up', 'form-follow-up', [
      field('Follow-up id', followUpId),
      h('div.row.g-2', h('div.col-md-6', field('After admission', admission)), h('div.col-md-6', field('For transition', transition))),
      h('div.row.g-2', h('div.col-md-6', field('Contact', contact)), h('div.col-md-6', field('When (default now)', when))),
      h('div.row.g-2', h('div.col-md-6', field('Provider organisation', provider)), h('div.col-md-6', field('Provider discipline', discipline))),
    ], (result, busy) => runCommand('Transitions', 'RecordFollowUp', {
      client_id: this.clientId,
      occurred_at: localToTimestamp(when.value),
      follow_up_completed: {
        follow_up_id: followUpId.value.trim(), admission_id: admission.value, transition_id: transition.value,
        contact_kind: contact.value, provider_organization_id: provider.value.trim(), provider_discipline: discipline.value,
      },
    }, result, { busy, success: `Follow-up ${followUpId.value.trim()} recorded.` }));
    details.querySelector('form').addEventListener('command-done', () => { followUpId.value = newId('fu'); });
    return details;
  }

  teamMemberForm() {
    const memberId = input({ required: true, placeholder: 'e.g. the person\'s user id' });
    const given = input({ autocomplete: 'off' });
    const family = input({ autocomplete: 'off' });
    const organization = input({ list: this.orgList.id, value: this.me });
    const discipline = select(DISCIPLINES.map((c) => [c, enumLabel(c)]));
    const role = select(CARE_TEAM_ROLES.map((c) => [c, enumLabel(c)]));
    return this.actionForm('Add a care team member', 'form-team-member', [
      field('Member id', memberId),
      h('div.row.g-2', h('div.col-md-6', field('Given name', given)), h('div.col-md-6', field('Family name', family))),
      field('Organisation', organization),
      h('div.row.g-2', h('div.col-md-6', field('Discipline', discipline)), h('div.col-md-6', field('Role', role))),
    ], (result, busy) => runCommand('CareTeams', 'AddCareTeamMember', {
      client_id: this.clientId,
      care_team_member_added: {
        member_id: memberId.value.trim(), name: { given: given.value.trim(), family: family.value.trim() },
        organization_id: organization.value.trim(), discipline: discipline.value, role: role.value,
      },
    }, result, { busy, success: `${memberId.value.trim()} added to the care team.` }));
  }

  consentForm() {
    const consentId = input({ value: newId('consent'), required: true });
    const givenBy = select([['client', 'The client'], ['representative', 'A legally authorised representative']]);
    const repGiven = input();
    const repFamily = input();
    const repAuthority = select(REPRESENTATIVE_AUTHORITIES.map((c) => [c, enumLabel(c)]));
    const repFields = h('div.row.g-2.representative',
      h('div.col-md-4', field('Representative given name', repGiven)),
      h('div.col-md-4', field('Representative family name', repFamily)),
      h('div.col-md-4', field('Authority', repAuthority)));
    repFields.hidden = true;
    givenBy.addEventListener('change', () => { repFields.hidden = givenBy.value !== 'representative'; });
    const recipientIds = input({ placeholder: 'org-a, org-b', list: this.orgList.id });
    const recipientTypes = checkboxes('Or every organisation of these types (not enough for Part 2 data)',
                                      ORGANIZATION_TYPES.map((c) => [c, enumLabel(c)]));
    const classes = checkboxes('Data it covers', DATA_CLASSES.map((c) => [c, enumLabel(c)]));
    const purposes = checkboxes('Purposes of use (none ticked: any)', PURPOSES.map((c) => [c, enumLabel(c)]),
                                { checked: ['PURPOSE_OF_USE_TREATMENT', 'PURPOSE_OF_USE_CARE_COORDINATION'] });
    const endDay = input({ type: 'date' });
    const method = select(CONSENT_METHODS.map((c) => [c, enumLabel(c)]));
    const obtained = input({ type: 'datetime-local', step: '60' });
    const witnessGiven = input();
    const witnessFamily = input();
    const witnessFields = h('div.row.g-2.witness',
      h('div.col-md-6', field('Witness given name', witnessGiven)),
      h('div.col-md-6', field('Witness family name', witnessFamily)));
    witnessFields.hidden = true;
    method.addEventListener('change', () => { witnessFields.hidden = method.value !== 'CONSENT_METHOD_VERBAL_WITH_WITNESS'; });
    const file = h('input.form-control', { type: 'file' });
    const documentId = input({ required: true, placeholder: 'your reference for the document' });
    const sha256 = input({ required: true, pattern: '[0-9a-f]{64}', class: 'font-monospace', spellcheck: 'false',
                           placeholder: '64 lowercase hex digits' });
    file.addEventListener('change', async () => {
      const chosen = file.files && file.files[0];
      if (!chosen) return;
      if (!documentId.value) documentId.value = chosen.name;
      const digest = await crypto.subtle.digest('SHA-256', await chosen.arrayBuffer());
      sha256.value = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
    });
    const attest = h('input', { type: 'checkbox', required: true });
    const details = this.actionForm('Record a consent', 'form-consent', [
      field('Consent id', consentId),
      field('Given by', givenBy), repFields,
      field('Recipient organisations, by id (comma-separated)', recipientIds), recipientTypes,
      classes, purposes,
      h('div.row.g-2', h('div.col-md-6', field('In force until (optional)', endDay)),
        h('div.col-md-6', field('Obtained at (default now)', obtained))),
      field('How it was obtained', method), witnessFields,
      h('fieldset.mb-2', h('legend.form-label.fs-6', { text: 'The evidencing document (kept by your organisation)' }),
        field('Document file (hashed here, not uploaded)', file),
        h('div.row.g-2', h('div.col-md-5', field('Document id', documentId)), h('div.col-md-7', field('SHA-256 of the document', sha256)))),
      field(`I attest that the consent was given as recorded here and that ${this.ctx.session.organization_name || this.me} holds the document.`, attest),
    ], (result, busy) => {
      if (!attest.checked) {
        replaceChildren(result, errorAlert({ code: 'INVALID_ARGUMENT', message: 'confirm the attestation before recording the consent' }));
        attest.focus();
        return null;
      }
      const given = {
        consent_id: consentId.value.trim(),
        recipient_organization_ids: recipientIds.value.split(',').map((s) => s.trim()).filter(Boolean),
        recipient_organization_types: recipientTypes.values(),
        data_classes: classes.values(),
        purposes: purposes.values(),
        method: method.value,
        document: { document_id: documentId.value.trim(), sha256: sha256.value.trim() },
      };
      if (givenBy.value === 'representative') {
        given.representative = { name: { given: repGiven.value.trim(), family: repFamily.value.trim() }, authority: repAuthority.value };
      }
      if (method.value === 'CONSENT_METHOD_VERBAL_WITH_WITNESS') {
        given.witness = { given: witnessGiven.value.trim(), family: witnessFamily.value.trim() };
      }
      if (endDay.value) given.period = { end: dayToTimestamp(endDay.value) };
      const obtainedAt = localToTimestamp(obtained.value);
      if (obtainedAt) given.obtained_at = obtainedAt;
      return runCommand('Consents', 'GiveConsent', { client_id: this.clientId, consent_given: given }, result,
                        { busy, success: `Consent ${given.consent_id} recorded.` });
    });
    details.querySelector('form').addEventListener('command-done', () => {
      consentId.value = newId('consent');
      repFields.hidden = true;
      witnessFields.hidden = true;
    });
    return details;
  }
}

function plural(n, noun) {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function wide(el) {
  el.dataset.wide = 'true';
  return el;
}

function consentRow(c) {
  const g = c.consent || {};
  const rep = g.representative && g.representative.name ? `${personName(g.representative.name)} (${enumLabel(g.representative.authority)})` : 'the client';
  const recipients = [...(g.recipient_organization_ids || []), ...(g.recipient_organization_types || []).map((t) => `any ${enumLabel(t).toLowerCase()}`)];
  const period = `${fmtTime(c.start)} – ${isSet(c.end) ? fmtTime(c.end) : 'open-ended'}` +
    (isSet(c.revocation_effective_at) ? `; revoked from ${fmtTime(c.revocation_effective_at)}` : '');
  const doc = g.document && g.document.document_id ? `; document ${g.document.document_id}` : '';
  return h('tr.consent-row', { dataset: { consent: c.consent_id } },
    h('td.font-monospace', { text: c.consent_id }),
    h('td', { text: rep }),
    h('td', { text: recipients.join(', ') || '—' }),
    h('td', { text: (g.data_classes || []).map(enumLabel).join(', ') }),
    h('td', { text: (g.purposes || []).map(enumLabel).join(', ') || 'any' }),
    h('td', { text: period }),
    h('td', { text: `${enumLabel(g.method)}${g.witness && g.witness.family ? `, witness ${personName(g.witness)}` : ''}${doc}; recorded by ${c.recorded_by_organization_id}` }));
}
