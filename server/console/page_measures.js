// Page 5: continuity measures over a period (ContinuityViews.GetMeasures):
// FUH and FUM at 7 and 30 days, 30-day readmission, referral loop closure
// and the four Transitions of Care (TRC) rates, as a chart of rates, with the numerator, denominator and
// exclusion lists opening each client's page.

import * as api from './api.js';
import {
  h, append, replaceChildren, field, input, select, errorAlert, withheldNotice, fmtTime,
  clientLink, spinner, isoDay, dayToTimestamp, empty,
  loadChart,
} from './dom.js';

export function render(container, { query }, ctx) {
  const org = ctx.session.organization_id;
  const today = new Date();
  const twoYearsAgo = new Date(today.getTime() - 730 * 86400000);
  const from = input({ type: 'date', id: 'measures-from', value: query.get('from') || isoDay(twoYearsAgo), required: true });
  const to = input({ type: 'date', id: 'measures-to', value: query.get('to') || isoDay(new Date(today.getTime() + 86400000)) });
  const scopeOptions = ctx.hasRole('agency') ? [['org', `Index events at ${org}`]] : [];
  scopeOptions.push(['network', 'Network-wide']);
  const scope = select(scopeOptions, { id: 'measures-scope' });
  const notices = h('div', { 'aria-live': 'polite' });
  const canvas = h('canvas', { id: 'measures-chart', role: 'img', 'aria-label': 'Measure rates' });
  const chartBox = h('div.chart-box.mb-3', canvas);
  const body = h('div.measures', spinner());
  let chart = null;

  const form = h('form.row.g-2.align-items-end.mb-3.no-print', { id: 'measures-form', 'aria-label': 'Measurement period' },
    h('div.col-auto', field('Index events from', from, { cls: '' })),
    h('div.col-auto', field('until (not including)', to, { cls: '' })),
    h('div.col-auto', field('Whose', scope, { cls: '' })),
    h('div.col-auto', h('button.btn.btn-primary', { type: 'submit', text: 'Compute' })));
  append(container, [
    h('h1.h3', { text: 'Continuity measures' }),
    form, notices, chartBox, body,
  ]);

  function memberList(title, members, kind) {
    return h('details.member-list', { dataset: { list: kind } },
      h('summary', { text: `${title} (${members.length})` }),
      members.length ? h('ul.small.mb-1', members.map((m) => h('li',
        clientLink(m.client_id), ` — ${m.subject_id} at ${fmtTime(m.at)}`,
        m.qualifying_id ? `; ${m.qualifying_id} at ${fmtTime(m.qualifying_at)}` : '',
        m.note ? `; ${m.note}` : ''))) : empty('None.'));
  }

  async function draw(results) {
    const labels = results.map((r) => r.measure);
    const rates = results.map((r) => Math.round((r.rate || 0) * 1000) / 10);
    canvas.setAttribute('aria-label', `Measure rates: ${results.map((r) =>
      `${r.measure} ${Math.round((r.rate || 0) * 100)}% (${r.numerator} of ${r.denominator})`).join('; ')}`);
    const Chart = await loadChart();
    if (!Chart || disposed) return;
    if (chart) chart.destroy();
    chart = new Chart(canvas, {
      type: 'bar',
      data: { labels, datasets: [{ label: 'Rate (%)', data: rates, backgroundColor: '#0d6efd', maxBarThickness: 64 }] },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { y: { beginAtZero: true, max: 100, title: { display: true, text: '% of the denominator' } } },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { afterLabel: (item) => {
            const r = results[item.dataIndex];
            return `${r.numerator} of ${r.denominator}`;
          } } },
        },
      },
    });
    canvas.dataset.drawn = 'true';
  }

  async function load() {
    replaceChildren(body, spinner('Computing…'));
    const request = { period: { start: dayToTimestamp(from.value), end: dayToTimestamp(to.value) } };
    if (scope.value === 'org') request.organization_id = org;
    try {
      const answer = await api.call('ContinuityViews', 'GetMeasures', request);
      if (disposed) return;
      const results = answer.results || [];
      replaceChildren(notices, withheldNotice(answer.withheld, 'members'));
      await draw(results);
      replaceChildren(body, h('div.row.row-cols-1.row-cols-lg-2.row-cols-xxl-3.g-3', results.map((r) => h('div.col',
        h('section.card.h-100.measure', { dataset: { measure: r.measure }, 'aria-label': r.measure },
          h('div.card-body',
            h('h2.h5', { text: r.measure }),
            h('p.small.text-muted.mb-1', { text: r.description }),
            h('p.fs-4.mb-1.measure-rate', { text: `${(Math.round((r.rate || 0) * 1000) / 10).toFixed(1)}%` },
              h('span.fs-6.text-muted', { text: ` ${r.numerator} of ${r.denominator}` +
                (r.window_days ? `, within ${r.window_days} days` : '') })),
            r.measure === 'REFERRAL-LOOP-CLOSURE' ? h('p.small.mb-1', { text: `Median ${Number(r.median_days_to_close || 0).toFixed(1)} days from sent to completed` }) : null,
            memberList('Numerator', r.numerator_members || [], 'numerator'),
            memberList('Denominator', r.denominator_members || [], 'denominator'),
            memberList('Excluded', r.excluded_members || [], 'excluded')))))));
      container.dataset.loadedAt = String(Date.now());
    } catch (err) {
      if (disposed) return;
      replaceChildren(notices, errorAlert(err));
      replaceChildren(body);
    }
  }

  let disposed = false;
  form.addEventListener('submit', (event) => { event.preventDefault(); load(); });
  scope.addEventListener('change', load);
  load();
  // Measures are not refreshed live: each computation reads a period of the
  // whole network; "Compute" recomputes them.
  return { dispose: () => { disposed = true; if (chart) chart.destroy(); } };
}
