// DOM building and formatting shared by the console's pages.
//
// The console runs under a strict Content-Security-Policy (docs/console.md):
// no inline scripts, styles or handlers. Pages build their DOM with h()
// (createElement and textContent), never innerHTML, so that data from the
// record can never become markup.

// h('tag.class1.class2', {attributes}, ...children). Attributes: `class`
// (added to the classes of the tag), `text`, `for`, `dataset` (an object),
// `on` (an object of event listeners), the properties value, checked,
// disabled, hidden, selected, multiple, required, and any other attribute
// by name. Children: nodes, strings (text), numbers, arrays, and null /
// undefined / false (skipped).
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.classList.add(...classes);
  if (attrs && (attrs instanceof Node || typeof attrs !== 'object' || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') {
      for (const c of String(value).split(/\s+/)) if (c) el.classList.add(c);
    } else if (key === 'text') {
      el.textContent = String(value);
    } else if (key === 'for') {
      el.htmlFor = value;
    } else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    } else if (key === 'on') {
      for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    } else if (key === 'value') {
      // Also the default, which form.reset() returns to.
      if ('defaultValue' in el) el.defaultValue = value;
      el.value = value;
    } else if (key === 'checked') {
      el.defaultChecked = value;
      el.checked = value;
    } else if (key === 'selected') {
      el.defaultSelected = value;
      el.selected = value;
    } else if (['disabled', 'hidden', 'multiple', 'required'].includes(key)) {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

// Appends a child or an array of children (nested arrays flattened).
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Replaces el's children. Controls marked with data-focus-key keep what was
// typed into them, and keyboard focus stays on the one with the same key: a
// live refresh must neither wipe a reason half written nor throw a keyboard
// user back to the top of the page.
export function replaceChildren(el, ...children) {
  const active = document.activeElement;
  const key = active && el.contains(active) ? active.dataset.focusKey : undefined;
  const typed = new Map();
  for (const control of el.querySelectorAll('input[data-focus-key], textarea[data-focus-key]')) {
    if (control.value) typed.set(control.dataset.focusKey, control.value);
  }
  clear(el);
  append(el, children);
  for (const [k, value] of typed) {
    const again = el.querySelector(`[data-focus-key="${CSS.escape(k)}"]`);
    if (again && !again.value) again.value = value;
  }
  if (key) {
    const again = el.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
}

// True when `answer` differs from the last one given for `key` (a live
// refresh that brought nothing new leaves the page as it is).
export function changed(memo, key, answer) {
  const text = JSON.stringify(answer);
  if (memo[key] === text) return false;
  memo[key] = text;
  return true;
}

let idCounter = 0;
export function uid(prefix = 'f') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// --- Form controls, each with its label ------------------------------------

// A labelled control in a Bootstrap column. `control` is an input, select or
// textarea element; its id is set when missing.
export function field(label, control, { help, cls = 'mb-2' } = {}) {
  if (!control.id) control.id = uid('in');
  const helpEl = help ? h('div.form-text', { id: `${control.id}-help`, text: help }) : null;
  if (helpEl) control.setAttribute('aria-describedby', helpEl.id);
  const isCheck = control.type === 'checkbox' || control.type === 'radio';
  if (isCheck) {
    control.classList.add('form-check-input');
    return h('div.form-check', { class: cls },
             control, h('label.form-check-label', { for: control.id, text: label }), helpEl);
  }
  return h('div', { class: cls },
           h('label.form-label', { for: control.id, text: label }), control, helpEl);
}

export function input(attrs = {}) {
  return h('input.form-control', { type: 'text', ...attrs });
}

// options: [[value, label], ...] or [value, ...].
export function select(options, attrs = {}) {
  const el = h('select.form-select', attrs);
  for (const option of options) {
    const [value, label] = Array.isArray(option) ? option : [option, option];
    el.append(h('option', { value, text: label, selected: attrs.value === value }));
  }
  if (attrs.value !== undefined) el.value = attrs.value;
  return el;
}

// A group of labelled checkboxes; .values() gives the checked values.
export function checkboxes(legend, options, { name = uid('cb'), checked = [] } = {}) {
  const boxes = [];
  const fieldset = h('fieldset.mb-2', h('legend.form-label.fs-6', { text: legend }));
  const row = h('div.d-flex.flex-wrap.gap-3');
  for (const option of options) {
    const [value, label] = Array.isArray(option) ? option : [option, option];
    const box = h('input', { type: 'checkbox', name, value, checked: checked.includes(value) });
    boxes.push(box);
    row.append(field(label, box, { cls: '' }));
  }
  fieldset.append(row);
  fieldset.values = () => boxes.filter((b) => b.checked).map((b) => b.value);
  return fieldset;
}

export function button(text, attrs = {}) {
  return h('button.btn', { type: 'button', class: 'btn-primary', text, ...attrs });
}

// --- Notices ------------------------------------------------------------------

// The server's refusal, shown where the action was: its message verbatim.
export function errorAlert(err) {
  const message = err && err.message ? err.message : String(err);
  if (!err || !err.code) {
    // Not an answer of the server: a fault of the page itself.
    return h('div.alert.alert-danger.my-2', { role: 'alert' },
             h('strong', { text: 'The page failed: ' }), message);
  }
  return h('div.alert.alert-danger.my-2.refusal', { role: 'alert', dataset: { code: err.code } },
           h('strong', { text: `Refused (${err.code}): ` }), h('span.refusal-message', { text: message }));
}

export function successAlert(text) {
  return h('div.alert.alert-success.my-2', { role: 'status', text });
}

// A response's `withheld` (docs/access.md): nothing when nothing was withheld.
// `what` is the plural noun of what was withheld ("events").
export function withheldNotice(withheld, what = 'events') {
  const count = withheld ? Number(withheld.count) : 0;
  if (!count) return null;
  const classes = (withheld.data_classes || []).map((c) => enumLabel(c)).join(', ');
  return h('div.alert.alert-warning.my-2.withheld', { role: 'note' },
           h('strong', { text: `${count} ${count === 1 ? what.replace(/s$/, '') : what} withheld` }),
           classes ? ` (${classes})` : '', withheld.reason ? `: ${withheld.reason}` : '');
}

export function spinner(text = 'Loading…') {
  return h('p.text-muted.loading', { role: 'status', text });
}

export function badge(text, tone = 'secondary') {
  return h('span.badge', { class: `text-bg-${tone}`, text });
}

// --- Formatting -----------------------------------------------------------------

const ENUM_PREFIXES = [
  'WORKLIST_ITEM_KIND_', 'SERVICE_CATEGORY_', 'DATA_CLASS_', 'PURPOSE_OF_USE_',
  'DISCIPLINE_', 'LEVEL_OF_CARE_', 'ORGANIZATION_TYPE_', 'REFERRAL_KIND_', 'URGENCY_',
  'CARE_TEAM_ROLE_', 'GOAL_STATUS_', 'GAP_REASON_', 'FINDING_KIND_', 'FINDING_STATUS_',
  'MATCH_CLASS_', 'FIELD_AGREEMENT_', 'DISCHARGE_DISPOSITION_', 'CONSENT_METHOD_',
  'REPRESENTATIVE_AUTHORITY_', 'CONTACT_KIND_', 'ACCESS_BASIS_', 'ACCESS_OUTCOME_', 'SEX_',
  'CASE_CLOSURE_REASON_', 'NEED_LEVEL_', 'REFERRAL_DIRECTION_', 'REFERRAL_BOX_',
];

const LABELS = {
  DATA_CLASS_SUBSTANCE_USE_PART2: 'Substance use (42 CFR Part 2)',
  DATA_CLASS_HIV: 'HIV',
  WORKLIST_ITEM_KIND_FOLLOW_UP_DUE: 'Follow-up due',
  SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT: 'Child care, family support',
  GAP_REASON_DISCHARGE_WITHOUT_FOLLOW_UP: 'Discharge without follow-up',
  PURPOSE_OF_USE_CARE_COORDINATION: 'Care coordination',
  LEVEL_OF_CARE_EMERGENCY_DEPARTMENT: 'Emergency department',
};

// "SERVICE_CATEGORY_MENTAL_HEALTH" -> "Mental health".
export function enumLabel(name) {
  if (name === undefined || name === null || name === '') return '—';
  if (LABELS[name]) return LABELS[name];
  let s = String(name);
  for (const prefix of ENUM_PREFIXES) {
    if (s.startsWith(prefix)) { s = s.slice(prefix.length); break; }
  }
  if (s === 'UNSPECIFIED') return '—';
  s = s.toLowerCase().replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function isSet(ts) {
  return typeof ts === 'string' && ts !== '' && !ts.startsWith('1970-01-01T00:00:00');
}

const timeParts = new Intl.DateTimeFormat('en-US', {
  year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  hourCycle: 'h23', timeZoneName: 'short',
});

function parts(ts) {
  const p = {};
  for (const { type, value } of timeParts.formatToParts(new Date(ts))) p[type] = value;
  return p;
}

// An RFC 3339 Timestamp in the browser's time zone, compact and sortable:
// "2026-01-05 14:30 UTC"; "—" when unset.
export function fmtTime(ts) {
  if (!isSet(ts)) return '—';
  const p = parts(ts);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.timeZoneName}`;
}


// A Date message {year, month, day}.
// "1972-05-18"; a partial birth date as what is known: "1972-05", "1972".
export function fmtDate(d) {
  if (!d || !d.year) return '—';
  const year = String(d.year).padStart(4, '0');
  if (!d.month) return year;
  const month = `${year}-${String(d.month).padStart(2, '0')}`;
  if (!d.day) return month;
  return `${month}-${String(d.day).padStart(2, '0')}`;
}

// "3 days ago", "in 2 hours": the distance from now.
export function ago(ts, now = Date.now()) {
  if (!isSet(ts)) return '—';
  const ms = now - new Date(ts).getTime();
  const future = ms < 0;
  const abs = Math.abs(ms);
  const minutes = Math.round(abs / 60000);
  const hours = Math.round(abs / 3600000);
  const days = Math.floor(abs / 86400000);
  let text;
  if (minutes < 1) text = 'less than a minute';
  else if (minutes < 60) text = `${minutes} minute${minutes === 1 ? '' : 's'}`;
  else if (hours < 48) text = `${hours} hour${hours === 1 ? '' : 's'}`;
  else text = `${days} days`;
  return future ? `in ${text}` : `${text} ago`;
}

export function personName(n) {
  if (!n) return '';
  return [n.given, n.middle, n.family].filter(Boolean).join(' ');
}

export function timeEl(ts, text) {
  return h('time', { datetime: isSet(ts) ? ts : undefined, text: text || fmtTime(ts) });
}

// A link to a client's case page.
export function clientLink(clientId, text) {
  return h('a.client-link', {
    href: `#/client/${encodeURIComponent(clientId)}`, text: text || clientId,
    dataset: { client: clientId },
  });
}

// A Bootstrap table with a caption (read by screen readers, hidden on screen
// when `hideCaption`), column headers and rows of cells.
export function table(caption, headers, rows, { hideCaption = false, cls = '' } = {}) {
  const el = h('table.table.table-sm.align-middle', { class: cls });
  el.append(h('caption', { class: hideCaption ? 'visually-hidden' : 'caption-top', text: caption }));
  el.append(h('thead', h('tr', headers.map((text) => h('th', { scope: 'col', text })))));
  const body = h('tbody');
  for (const row of rows) {
    body.append(row instanceof Node ? row : h('tr', row.map((cell) => h('td', cell))));
  }
  el.append(body);
  return h('div.table-responsive', el);
}

export function empty(text) {
  return h('p.text-muted.fst-italic.empty', { text });
}

// A card section with a heading (h2) and a body.
export function section(title, ...body) {
  const headingId = uid('sec');
  return h('section.card.mb-3', { 'aria-labelledby': headingId },
           h('div.card-body',
             h('h2.h5.card-title', { id: headingId, text: title }),
             ...body));
}

// A new command id: unique among the organisation's commands (care_record.proto).
export function newCommandId(prefix = 'console') {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  const rand = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${prefix}-${Date.now().toString(36)}-${rand}`;
}

// A short new id for a referral, consent, follow-up, ...: prefix + random.
export function newId(prefix) {
  const bytes = new Uint8Array(4);
  crypto.getRandomValues(bytes);
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

// Runs fn at most once per `ms`, after the last call (trailing debounce).
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => { timer = null; fn(...args); }, ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

// "2026-01-05" (an <input type=date> value) -> RFC 3339 at 00:00 UTC.
export function dayToTimestamp(day) {
  return day ? `${day}T00:00:00Z` : undefined;
}

// An <input type=datetime-local> value (the browser's time zone) -> RFC 3339.
export function localToTimestamp(value) {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

// Wraps an async load() for live pages: .soon() (on a live change) runs it
// after `ms` of quiet; a call while a load runs queues one more run after it,
// so a burst of changes costs at most two loads and the last one wins.
export function refresher(load, ms = 200) {
  let running = false;
  let again = false;
  let disposed = false;
  async function run() {
    if (disposed) return;
    if (running) { again = true; return; }
    running = true;
    try {
      await load();
    } finally {
      running = false;
      if (again && !disposed) { again = false; run(); }
    }
  }
  const soon = debounce(run, ms);
  return {
    now: run,
    soon,
    get disposed() { return disposed; },
    dispose() { disposed = true; soon.cancel(); },
  };
}

// The client a live `changed` event is about: its client_id, or the client
// of its stream (client-<id>, access-<id>); '' for other streams.
export function eventClientId(event) {
  if (event.client_id) return event.client_id;
  const m = /^(?:client|access)-(.+)$/.exec(event.stream_id || '');
  return m ? m[1] : '';
}

// The session's discipline as an enum name ("DISCIPLINE_SOCIAL_WORK"),
// whether the server gave the name or the metadata value ("SOCIAL_WORK").
export function disciplineEnum(d) {
  if (!d) return 'DISCIPLINE_SOCIAL_WORK';
  return d.startsWith('DISCIPLINE_') ? d : `DISCIPLINE_${d}`;
}

// Chart.js 3 (Debian libjs-chart.js, UMD build: the global Chart), loaded
// by the pages that draw charts, when they first do: the other pages do not
// wait for it. Resolves to Chart, or null when it cannot be loaded (the
// pages then show their figures without the chart).
let chartLoading = null;
export function loadChart() {
  if (window.Chart) return Promise.resolve(window.Chart);
  if (!chartLoading) {
    chartLoading = new Promise((resolve) => {
      const script = h('script', { src: '/assets/vendor/chart.min.js' });
      script.addEventListener('load', () => { chartDefaults(window.Chart); resolve(window.Chart || null); });
      script.addEventListener('error', () => { chartLoading = null; resolve(null); });
      document.head.append(script);
    });
  }
  return chartLoading;
}

// Chart.js text in the page's body colour and size (its default grey is too
// faint against white).
function chartDefaults(Chart) {
  if (!Chart) return;
  Chart.defaults.color = '#212529';
  Chart.defaults.font.size = 13;
}
