// Page 6: caseload per worker against the threshold
// (ContinuityViews.GetCaseload), as a chart and a table.

import * as api from './api.js';
import {
  h, append, replaceChildren, field, input, select, errorAlert, personName, spinner, table, badge,
  refresher, empty,
  loadChart,
} from './dom.js';

export function render(container, { query }, ctx) {
  const org = ctx.session.organization_id;
  const scopeOptions = ctx.hasRole('agency') ? [['org', `Ours (${org})`]] : [];
  scopeOptions.push(['all', 'Every organisation']);
  const scope = select(scopeOptions, { id: 'caseload-scope', value: query.get('scope') || scopeOptions[0][0] });
  const threshold = input({ type: 'number', id: 'caseload-threshold', min: '1', placeholder: 'server default' });
  const notices = h('div', { 'aria-live': 'polite' });
  const canvas = h('canvas', { id: 'caseload-chart', role: 'img', 'aria-label': 'Active clients per worker' });
  const body = h('div.caseload', spinner());
  let chart = null;

  const form = h('form.row.g-2.align-items-end.mb-3.no-print', { id: 'caseload-form', 'aria-label': 'Caseload options' },
    h('div.col-auto', field('Whose', scope, { cls: '' })),
    h('div.col-auto', field('Threshold (active clients)', threshold, { cls: '' })),
    h('div.col-auto', h('button.btn.btn-primary', { type: 'submit', text: 'Show' })));
  const caption = h('p.small.text-muted', { text: 'Bars: active clients per lead case manager, red above the ' +
    'threshold; dashed line: the threshold.' });
  append(container, [h('h1.h3', { text: 'Caseload' }), form, notices, h('div.chart-box.chart-box-tall.mb-1', canvas),
    caption, body]);

  async function draw(workers, limit) {
    const names = workers.map((w) => personName(w.name) || w.member_id);
    canvas.setAttribute('aria-label', `Active clients per worker, threshold ${limit}: ` +
      workers.map((w, i) => `${names[i]} ${w.active_clients}`).join('; '));
    const Chart = await loadChart();
    if (!Chart || loader.disposed) return;
    if (chart) chart.destroy();
    chart = new Chart(canvas, {
      data: {
        labels: names,
        datasets: [
          { type: 'bar', label: 'Active clients', order: 2, maxBarThickness: 48,
            data: workers.map((w) => w.active_clients),
            backgroundColor: workers.map((w) => (w.above_threshold ? '#dc3545' : '#0d6efd')) },
          { type: 'line', label: `Threshold (${limit})`, order: 1, data: workers.map(() => limit),
            borderColor: '#212529', borderDash: [6, 4], pointRadius: 0, borderWidth: 2 },
        ],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        // The bars' colours say above or not: the caption explains them.
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, suggestedMax: Math.max(limit, ...workers.map((w) => w.active_clients)) + 1,
                       title: { display: true, text: 'active clients' } },
                  x: { ticks: { autoSkip: false, maxRotation: 60, minRotation: 30 } } },
      },
    });
    canvas.dataset.drawn = 'true';
  }

  async function load() {
    const request = {};
    if (scope.value === 'org') request.organization_id = org;
    if (threshold.value) request.threshold = Number(threshold.value);
    try {
      const answer = await api.call('ContinuityViews', 'GetCaseload', request);
      if (loader.disposed) return;
      replaceChildren(notices);
      const workers = answer.workers || [];
      const limit = answer.threshold;
      if (!threshold.value) threshold.placeholder = `${limit} (server default)`;
      await draw(workers, limit);
      replaceChildren(body,
        h('p', { text: `${(answer.above_threshold || []).length} of ${workers.length} workers above ${limit} active clients.` }),
        workers.length ? table('Workers', ['Worker', 'Organisation', 'Active clients', ''],
          workers.map((w) => h('tr.worker', { dataset: { member: w.member_id, above: String(Boolean(w.above_threshold)) } },
            h('td', { text: `${personName(w.name) || w.member_id} (${w.member_id})` }),
            h('td', { text: w.organization_id }),
            h('td.text-end', { text: String(w.active_clients) }),
            h('td', w.above_threshold ? badge('above threshold', 'danger') : null)))) : empty('No workers lead active cases.'),
        (answer.organizations || []).length ? table('Organisations', ['Organisation', 'Open cases led', 'Workers', 'Above threshold'],
          answer.organizations.map((o) => [o.organization_id, String(o.active_clients), String(o.workers),
            String(o.workers_above_threshold)])) : null);
      container.dataset.loadedAt = String(Date.now());
    } catch (err) {
      if (loader.disposed) return;
      replaceChildren(notices, errorAlert(err));
      replaceChildren(body);
    }
  }

  const loader = refresher(load, 1000);
  form.addEventListener('submit', (event) => { event.preventDefault(); loader.now(); });
  scope.addEventListener('change', () => loader.now());
  loader.now();
  return { onChange: () => loader.soon(), dispose: () => { loader.dispose(); if (chart) chart.destroy(); } };
}
