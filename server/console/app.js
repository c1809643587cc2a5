// The Caseline console: session and sign-in, navigation, hash routing and
// live updates. Each page is a module exporting render(container, params,
// ctx) that returns { onChange(event), dispose() } (both optional).
//
// Routes: #/worklist, #/client/<id>, #/inbox, #/duplicates, #/measures,
// #/caseload, #/audit, #/disclosures/<client id>, #/signin.

import * as api from './api.js';
import { h, append, clear, field, input, select, button, errorAlert, enumLabel } from './dom.js';
import { DISCIPLINES, PURPOSES, stripPrefix } from './enums.js';
import * as worklist from './page_worklist.js';
import * as clientPage from './page_client.js';
import * as inbox from './page_inbox.js';
import * as duplicates from './page_duplicates.js';
import * as measures from './page_measures.js';
import * as caseload from './page_caseload.js';
import * as audit from './page_audit.js';

// Which roles may use each page (docs/console.md): the nav shows only those
// the session's roles allow, and a route outside them says so.
const ROUTES = [
  { name: 'worklist', label: 'Worklist', roles: ['agency'], page: worklist, nav: true },
  { name: 'inbox', label: 'Referral inbox', roles: ['agency'], page: inbox, nav: true },
  { name: 'client', label: 'Clients', roles: ['agency', 'auditor', 'admin'], page: clientPage, nav: true },
  { name: 'duplicates', label: 'Duplicates', roles: ['agency', 'auditor', 'admin'], page: duplicates, nav: true },
  { name: 'measures', label: 'Measures', roles: ['agency', 'auditor', 'admin'], page: measures, nav: true },
  { name: 'caseload', label: 'Caseload', roles: ['agency', 'auditor', 'admin'], page: caseload, nav: true },
  { name: 'audit', label: 'Audit', roles: ['auditor', 'admin'], page: audit, nav: true },
  { name: 'disclosures', label: 'Disclosures', roles: ['agency', 'auditor'], page: audit.disclosuresPage, nav: false },
];

const state = {
  session: null,
  view: null,          // what the current page's render returned
  events: null,        // the EventSource
  liveStatus: 'off',   // 'connecting' | 'live' | 'reconnecting' | 'off'
};

const main = () => document.getElementById('main');

function roles() {
  return (state.session && state.session.roles) || [];
}

function allowed(route) {
  return route.roles.some((r) => roles().includes(r));
}

function homeRoute() {
  const first = ROUTES.find((r) => r.nav && allowed(r));
  return first ? first.name : 'caseload';
}

function parseHash() {
  const hash = window.location.hash.replace(/^#\/?/, '');
  const [pathPart, queryPart] = hash.split('?');
  const parts = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(queryPart || '');
  return { name: parts[0] || '', args: parts.slice(1), query };
}

export function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

// --- Live updates ---------------------------------------------------------------

function setLiveStatus(status) {
  state.liveStatus = status;
  const el = document.getElementById('live-status');
  if (!el) return;
  const labels = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', off: 'Not live' };
  el.textContent = labels[status];
  el.className = `badge ${status === 'live' ? 'text-bg-success' : 'text-bg-warning'}`;
  el.dataset.status = status;
}

function startEvents() {
  stopEvents();
  if (typeof EventSource === 'undefined') return;
  const source = new EventSource('/api/v1/events', { withCredentials: true });
  state.events = source;
  setLiveStatus('connecting');
  source.addEventListener('ready', () => setLiveStatus('live'));
  source.addEventListener('open', () => { if (state.liveStatus !== 'live') setLiveStatus('connecting'); });
  source.addEventListener('error', () => {
    // EventSource reconnects by itself; a closed source means the server
    // refused it (e.g. the session ended).
    setLiveStatus(source.readyState === EventSource.CLOSED ? 'off' : 'reconnecting');
  });
  source.addEventListener('changed', (message) => {
    let data = {};
    try { data = JSON.parse(message.data); } catch (err) { return; }
    if (state.view && typeof state.view.onChange === 'function') state.view.onChange(data);
  });
}

function stopEvents() {
  if (state.events) state.events.close();
  state.events = null;
  setLiveStatus('off');
}

// --- Session, sign-in and navigation ----------------------------------------

// The organisations the forms offer as choices (referral receivers, consent
// recipients, ...): the session's list when it has one; else the list the
// sign-in page had, kept for this tab (the directory is public).
function directory() {
  const s = state.session || {};
  if (Array.isArray(s.organizations) && s.organizations.length) {
    try { sessionStorage.setItem('caseline.directory', JSON.stringify(s.organizations)); } catch (err) { /* private mode */ }
    return s.organizations;
  }
  try { return JSON.parse(sessionStorage.getItem('caseline.directory') || '[]'); } catch (err) { return []; }
}

function renderNav() {
  const pages = document.getElementById('nav-pages');
  const who = document.getElementById('nav-session');
  clear(pages);
  clear(who);
  const s = state.session;
  if (!s || !s.authenticated) return;
  const current = parseHash().name;
  for (const r of ROUTES) {
    if (!r.nav || !allowed(r)) continue;
    const active = r.name === current;
    pages.append(h('li.nav-item',
      h('a.nav-link', {
        href: `#/${r.name}`, text: r.label, class: active ? 'active' : '',
        'aria-current': active ? 'page' : undefined, dataset: { route: r.name },
      })));
  }
  append(who, [
    h('span.badge.text-bg-warning', { id: 'live-status', role: 'status', text: 'Not live' }),
    h('span.session-who.lh-sm',
      h('span.d-block', { text: `${s.user_id || 'no person'} · ${s.organization_name || s.organization_id || 'local operator'}` }),
      h('small.d-block.text-white-50', { text: `${enumLabel(s.discipline)} · ${enumLabel(s.purpose)} · ${roles().join(', ')}` })),
  ]);
  if (s.mode === 'development') {
    who.append(button('Sign out', {
      class: 'btn-outline-light btn-sm text-nowrap', id: 'sign-out',
      on: { click: signOut },
    }));
  }
  setLiveStatus(state.liveStatus);
}

async function signOut() {
  try { await api.endSession(); } catch (err) { /* the session is gone either way */ }
  state.session = await api.getSession().catch(() => null);
  stopEvents();
  navigate('#/signin');
}

// The development-mode picker: which organisation and person this browser
// acts as (docs/console.md). With TLS the certificate and the gateway's
// headers say who the caller is and there is no picker.
function renderSignIn(container) {
  const s = state.session || {};
  directory();
  document.title = 'Sign in — Caseline';
  if (s.mode !== 'development') {
    append(container, [
      h('h1.h3', { text: 'Not signed in', tabindex: '-1' }),
      h('p', { text: 'This server identifies callers by their client certificate and the ' +
                     'x-caseline-user header your organisation’s gateway adds. Neither came ' +
                     'with this request: open the console through your organisation’s gateway.' }),
    ]);
    return;
  }
  const orgs = (s.organizations || []).slice().sort((a, b) =>
    (a.name || a.organization_id).localeCompare(b.name || b.organization_id));
  const choices = orgs.map((o) => [o.organization_id,
    `${o.name || o.organization_id} (${o.organization_id}) — ${(o.roles || []).join(', ') || 'no role'}`]);
  if (s.local_operator_allowed) choices.push(['', 'The local operator (no organisation; reads everything)']);
  const org = select(choices, { id: 'signin-org', required: true });
  const user = input({ id: 'signin-user', required: true, autocomplete: 'username',
                       placeholder: 'e.g. mercy.rivera' });
  const discipline = select(DISCIPLINES.map((d) => [stripPrefix(d, 'DISCIPLINE_'), enumLabel(d)]),
                            { id: 'signin-discipline', value: 'SOCIAL_WORK' });
  const purpose = select(PURPOSES.map((p) => [stripPrefix(p, 'PURPOSE_OF_USE_'), enumLabel(p)]),
                         { id: 'signin-purpose', value: 'CARE_COORDINATION' });
  const result = h('div', { 'aria-live': 'polite' });
  const form = h('form.signin-form.card.card-body', { id: 'signin-form', novalidate: true },
    field('Organisation', org),
    field('Person (user id)', user, { help: 'Who you act as; recorded on everything you do.' }),
    field('Discipline', discipline),
    field('Purpose of use', purpose),
    h('button.btn.btn-primary', { type: 'submit', text: 'Sign in', id: 'signin-submit' }),
    result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clear(result);
    if (!user.value.trim() && org.value !== '') {
      result.append(errorAlert({ code: 'INVALID_ARGUMENT', message: 'enter the person you act as' }));
      user.focus();
      return;
    }
    try {
      state.session = await api.startSession({
        organization_id: org.value, user_id: user.value.trim(),
        discipline: discipline.value, purpose: purpose.value,
      });
      startEvents();
      navigate(`#/${homeRoute()}`);
    } catch (err) {
      result.append(errorAlert(err));
    }
  });
  append(container, [
    h('h1.h3', { text: 'Sign in (development mode)', tabindex: '-1' }),
    h('p.text-muted', { text: 'This server runs without TLS on loopback: choose the organisation ' +
                              'and person this browser acts as.' }),
    h('div.signin-box', form),
  ]);
}

// --- Routing ---------------------------------------------------------------------

function disposeView() {
  if (state.view && typeof state.view.dispose === 'function') state.view.dispose();
  state.view = null;
}

function route() {
  disposeView();
  const container = main();
  clear(container);
  const { name, args, query } = parseHash();
  const s = state.session;
  if (!s || !s.authenticated || name === 'signin') {
    renderNav();
    if (s && s.authenticated && name === 'signin') {
      container.append(h('p', 'You are signed in. ', h('a', { href: `#/${homeRoute()}`, text: 'Go to your pages' })));
      return;
    }
    renderSignIn(container);
    focusHeading(container);
    return;
  }
  if (!name) {
    navigate(`#/${homeRoute()}`);
    return;
  }
  renderNav();
  const r = ROUTES.find((x) => x.name === name);
  if (!r) {
    document.title = 'Not found — Caseline';
    append(container, [h('h1.h3', { text: 'No such page', tabindex: '-1' }),
      h('p', h('a', { href: `#/${homeRoute()}`, text: 'Go to your first page' }))]);
    focusHeading(container);
    return;
  }
  if (!allowed(r)) {
    document.title = `${r.label} — Caseline`;
    append(container, [h('h1.h3', { text: r.label, tabindex: '-1' }),
      h('p.alert.alert-info', { text: `This page is for the roles ${r.roles.join(', ')}; ` +
        `${s.organization_id} has ${roles().join(', ') || 'none'}.` })]);
    focusHeading(container);
    return;
  }
  document.title = `${r.label} — Caseline`;
  const ctx = { session: s, api, navigate, roles: roles(), hasRole: (x) => roles().includes(x), directory: directory() };
  try {
    state.view = r.page.render(container, { args, query }, ctx) || {};
  } catch (err) {
    container.append(errorAlert(err));
  }
  focusHeading(container);
}

// After a route change (not the first page, where Tab should start at the
// skip link), focus goes to the page's heading so that screen readers
// announce the new page and Tab starts from the top of its content.
let firstRoute = true;
function focusHeading(container) {
  const heading = container.querySelector('h1');
  if (firstRoute) {
    firstRoute = false;
    return;
  }
  if (heading) {
    if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

// The skip link moves focus to the page's content; it must not change the
// hash, which is the route.
function wireSkipLink() {
  const skip = document.querySelector('.skip-link');
  if (!skip) return;
  skip.addEventListener('click', (event) => {
    event.preventDefault();
    main().focus();
  });
}

async function boot() {
  wireSkipLink();
  api.setUnauthenticatedHandler(async () => {
    state.session = await api.getSession().catch(() => state.session);
    if (!state.session || !state.session.authenticated) {
      stopEvents();
      navigate('#/signin');
    }
  });
  try {
    state.session = await api.getSession();
  } catch (err) {
    clear(main());
    main().append(errorAlert(err));
    return;
  }
  if (state.session.authenticated) startEvents();
  window.addEventListener('hashchange', route);
  route();
}

boot();
