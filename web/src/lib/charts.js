// Line charts of figures over periods, drawn by uPlot on a canvas, each with the same numbers
// as a table for screen readers and anyone who prefers to read them (the canvas itself is
// hidden from assistive technology; the figure's caption and summary describe it).
//
// <Chart id title labels series summary format range /> where range is [min, max] of the
// y axis (omitted: 0 to a little above the highest value), and labels are the x-axis texts (one per
// period) and series = [{ label, values: [number|null] }]. Once uPlot has drawn, the figure
// gets data-drawn="true" and data-drawn-at=<ms since navigation start> (the dashboard's render
// time is measured from it).
import 'uplot/dist/uPlot.min.css';
import uPlot from 'uplot';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import { texts } from './i18n.js';
import { html } from './ui.js';

const TEXT = {
  id: { table: 'Tampilkan sebagai tabel', period: 'Periode', noData: 'tidak ada data' },
  en: { table: 'Show as a table', period: 'Period', noData: 'no data' },
};

// Colours with at least 3:1 against white (graphical objects, WCAG 1.4.11).
const COLOURS = ['#0b5d4b', '#8a5a00', '#a3231b', '#35507a'];

function options(width, labels, series, format, range, onDraw) {
  return {
    width,
    height: 220,
    legend: { show: series.length > 1 },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: false },
              // A fixed range where the figure has one (IKM 25..100, shares 0..100); otherwise
              // from 0 to a little above the highest value.
              y: { range: range ?? ((u, min, max) => [0, max > 0 ? Math.ceil(max * 1.15) : 1]) } },
    axes: [
      { values: (u, splits) => splits.map((i) => (Number.isInteger(i) ? labels[i] ?? '' : '')),
        space: 50, gap: 4 },
      { values: (u, splits) => splits.map((v) => format(v)), size: 56 },
    ],
    series: [
      { label: '' },
      ...series.map((s, i) => ({ label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2,
                                  points: { show: true, size: 6 },
                                  value: (u, v) => (v === null || v === undefined ? '–' : format(v)) })),
    ],
    hooks: { draw: [onDraw] },
  };
}

function data(labels, series) {
  return [labels.map((_, i) => i), ...series.map((s) => s.values.map(
    (v) => (v === null || v === undefined || Number.isNaN(v) ? null : v)))];
}

export function Chart({ id, title, labels, series, summary, range, format = (v) => String(v) }) {
  const t = texts(TEXT);
  const box = useRef(null);
  const figure = useRef(null);
  const plot = useRef(null);
  const shape = `${labels.join('|')}#${series.map((s) => s.label).join('|')}`;

  const onDraw = () => {
    const f = figure.current;
    if (f && f.dataset.drawn !== 'true') {
      f.dataset.drawn = 'true';
      f.dataset.drawnAt = String(Math.round(performance.now()));
    }
  };

  // A new chart when the periods or series change; new values otherwise (a live update).
  // Drawn right after the DOM update (layout effect), not a frame later.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    plot.current = new uPlot(options(Math.max(el.clientWidth, 200), labels, series, format, range, onDraw),
                             data(labels, series), el);
    const canvas = el.querySelector('canvas');
    if (canvas) canvas.setAttribute('aria-hidden', 'true');
    const observer = new ResizeObserver(() => {
      const w = Math.max(el.clientWidth, 200);
      if (plot.current && Math.abs(plot.current.width - w) > 1) {
        plot.current.setSize({ width: w, height: 220 });
      }
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => { plot.current?.setData(data(labels, series)); },
            [series.map((s) => s.values.join(',')).join('|')]);

  return html`<figure class="chart" id=${id} data-testid=${`chart-${id}`} ref=${figure}>
    <figcaption><strong>${title}</strong>${summary ? html`<br /><span class="muted">${summary}</span>`
      : null}</figcaption>
    <div class="chart-canvas" ref=${box}></div>
    <details>
      <summary>${t('table')}</summary>
      <table>
        <caption class="visually-hidden">${title}</caption>
        <thead><tr><th scope="col">${t('period')}</th>${series.map(
          (s) => html`<th scope="col">${s.label}</th>`)}</tr></thead>
        <tbody>${labels.map((label, i) => html`<tr><th scope="row">${label}</th>${series.map(
          (s) => html`<td>${s.values[i] === null || s.values[i] === undefined ? t('noData')
            : format(s.values[i])}</td>`)}</tr>`)}</tbody>
      </table>
    </details>
  </figure>`;
}
