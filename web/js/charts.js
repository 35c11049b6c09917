// Small SVG charts for the dashboard: stacked bars, horizontal bars, lines with gaps and
// a bubble map, plus what makes each one readable without seeing it: a legend, its
// numbers as a real table behind a "Show table" button, and a CSV download built in the
// browser. SVG is built with createElementNS and setAttribute only (no innerHTML) and
// coloured by CSS classes (dashboard.css), so nothing here needs an inline style.

import { el, uniqueId } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';

// Rounds a coordinate to two decimals, to keep the markup small.
const r2 = (n) => Math.round(n * 100) / 100;

// Formats a number for people: thousands separators, at most one decimal.
export function formatNumber(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return Number(v).toLocaleString('en', { maximumFractionDigits: 1 });
}

// Creates an SVG element with attributes and children (strings become text nodes).
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null && v !== false) node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null && c !== false) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// The root <svg> of a chart: scales with its box (viewBox), and is one image to
// assistive technology, summarised by label.
function frame(width, height, label, cls) {
  return svg('svg', {
    viewBox: `0 0 ${width} ${height}`, class: `chart ${cls}`, role: 'img', 'aria-label': label, 'data-testid': 'chart',
  });
}

// Tick values from 0 to a round number at or above max, about count steps
// (whole steps only when integer is set, as for counts).
export function niceTicks(max, count = 5, integer = true) {
  const top = max > 0 ? max : 1;
  const raw = top / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  if (integer) step = Math.max(1, Math.round(step));
  const ticks = [0];
  while (ticks[ticks.length - 1] < top) ticks.push(r2(ticks[ticks.length - 1] + step));
  return ticks;
}

// Horizontal grid lines across the plot with the tick labels left of it.
function yAxis(root, ticks, y, x0, x1, format) {
  const g = svg('g', { class: 'axis axis-y' });
  for (const t of ticks) {
    const yy = r2(y(t));
    g.append(svg('line', { x1: x0, x2: x1, y1: yy, y2: yy, class: t === 0 ? 'baseline' : 'grid' }),
      svg('text', { x: x0 - 6, y: yy, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, format(t)));
  }
  root.append(g);
}

// Period labels under the plot (periods[i].text, and .sub, e.g. the year, on a second
// line where it changes), thinned evenly to at most max labels.
function xAxis(root, periods, xs, y, max) {
  const every = Math.max(1, Math.ceil(periods.length / Math.max(1, max)));
  const g = svg('g', { class: 'axis axis-x' });
  let lastSub = null;
  periods.forEach((p, i) => {
    if (i % every) return;
    g.append(svg('line', { x1: r2(xs[i]), x2: r2(xs[i]), y1: y, y2: y + 4, class: 'tick' }),
      svg('text', { x: r2(xs[i]), y: y + 16, 'text-anchor': 'middle' }, p.text));
    if (p.sub && p.sub !== lastSub) g.append(svg('text', { x: r2(xs[i]), y: y + 29, 'text-anchor': 'middle', class: 'sub' }, p.sub));
    lastSub = p.sub;
  });
  root.append(g);
}

// An axis title written up the left edge (the unit of the values).
function yTitle(root, text, height) {
  if (text) root.append(svg('text', { x: 12, y: height / 2, class: 'axis-title', 'text-anchor': 'middle', transform: `rotate(-90 12 ${height / 2})` }, text));
}

// One series as a line broken at nulls (s.dashed draws it dashed), with a dot and a
// <title> at every value; format(v) is the value's text.
function seriesLine(s, xs, y, periods, format) {
  const g = svg('g', { class: `series-line ${s.cls}`, 'data-key': s.key });
  const r = xs.length > 1 && xs[1] - xs[0] < 8 ? 1.6 : 2.6; // smaller dots when crowded
  let d = '';
  let pen = false;
  s.values.forEach((v, i) => {
    if (v === null || v === undefined) { pen = false; return; }
    d += `${pen ? 'L' : 'M'}${r2(xs[i])},${r2(y(v))}`;
    pen = true;
  });
  // A white halo under the line keeps it apart from bars it crosses.
  if (d) g.append(svg('path', { d, class: 'halo' }), svg('path', { d, class: s.dashed ? 'stroke dashed' : 'stroke' }));
  s.values.forEach((v, i) => {
    if (v === null || v === undefined) return;
    g.append(svg('circle', { cx: r2(xs[i]), cy: r2(y(v)), r, class: 'dot', 'data-value': v },
      svg('title', null, `${periods[i].name} — ${s.label}: ${format(v)}`)));
  });
  return g;
}

// Stacked bar chart: one bar (g.bar, data-bucket) per period, one segment per non-zero
// series value (rect with data-key, data-value, a <title>), optionally a line on the
// same scale over the bars; periods are [{key, name, text, sub}], series
// [{key, label, cls, values}], line {key, label, cls, values, unit, dashed}.
export function stackedBars({ periods, series, line, unit, label, yLabel, width = 1100, height = 320 }) {
  const m = { top: 12, right: 14, bottom: 42, left: 58 };
  const root = frame(width, height, label, 'chart-bars');
  const totals = periods.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  const ticks = niceTicks(Math.max(0, ...totals, ...(line ? line.values.map((v) => v || 0) : [])));
  const y = (v) => height - m.bottom - (v / ticks[ticks.length - 1]) * (height - m.top - m.bottom);
  const band = (width - m.left - m.right) / Math.max(1, periods.length);
  const xs = periods.map((_, i) => m.left + band * (i + 0.5));
  const bw = Math.max(1, band * 0.78);
  if (bw < 4) root.classList.add('thin'); // too thin for white lines between segments
  yAxis(root, ticks, y, m.left, width - m.right, formatNumber);
  yTitle(root, yLabel, height - m.bottom);
  const bars = svg('g', { class: 'bars' });
  periods.forEach((p, i) => {
    const g = svg('g', { class: 'bar', 'data-bucket': p.key, 'data-total': totals[i] });
    let acc = 0;
    for (const s of series) {
      const v = s.values[i] || 0;
      if (!v) continue;
      g.append(svg('rect', {
        x: r2(xs[i] - bw / 2), y: r2(y(acc + v)), width: r2(bw), height: r2(y(acc) - y(acc + v)),
        class: `seg ${s.cls}`, 'data-key': s.key, 'data-value': v,
      }, svg('title', null, `${p.name} — ${s.label}: ${formatNumber(v)} ${unit}`)));
      acc += v;
    }
    bars.append(g);
  });
  root.append(bars);
  if (line) root.append(seriesLine(line, xs, y, periods, (v) => `${formatNumber(v)} ${line.unit || unit}`));
  xAxis(root, periods, xs, height - m.bottom, Math.floor((width - m.left - m.right) / 64));
  return root;
}

// Line chart over periods: one line per series, broken where a value is null;
// format(v) labels the y ticks and the dots' titles.
export function lines({ periods, series, label, yLabel, format = formatNumber, width = 640, height = 300 }) {
  const m = { top: 12, right: 14, bottom: 42, left: 58 };
  const root = frame(width, height, label, 'chart-lines');
  const values = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined));
  const ticks = niceTicks(Math.max(0, ...values), 5, false);
  const y = (v) => height - m.bottom - (v / ticks[ticks.length - 1]) * (height - m.top - m.bottom);
  const band = (width - m.left - m.right) / Math.max(1, periods.length);
  const xs = periods.map((_, i) => m.left + band * (i + 0.5));
  yAxis(root, ticks, y, m.left, width - m.right, (t) => formatNumber(t));
  yTitle(root, yLabel, height - m.bottom);
  for (const s of series) root.append(seriesLine(s, xs, y, periods, format));
  xAxis(root, periods, xs, height - m.bottom, Math.floor((width - m.left - m.right) / 64));
  return root;
}

// Shortens a label to n characters with an ellipsis (the full text is in the title).
function truncate(text, n) {
  const s = String(text);
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

// Horizontal bar list in the order given: label, bar (length ∝ value) and value per
// item; items are [{label, value, title, cls}].
export function hBars({ items, label, unit, cls = 'c-p0', width = 440 }) {
  const row = 24;
  const m = { top: 4, right: 58, bottom: 4, left: 172 };
  const height = m.top + m.bottom + row * Math.max(1, items.length);
  const root = frame(width, height, label, 'chart-hbars');
  const max = Math.max(1, ...items.map((it) => it.value));
  const span = width - m.left - m.right;
  items.forEach((it, i) => {
    const y0 = m.top + i * row;
    const bw = Math.max(1, (it.value / max) * span);
    root.append(svg('g', { class: 'hbar', 'data-label': it.label, 'data-value': it.value },
      svg('title', null, `${it.title || it.label}: ${formatNumber(it.value)} ${unit}`),
      svg('text', { x: m.left - 8, y: y0 + row / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'label' }, truncate(it.label, 27)),
      svg('rect', { x: m.left, y: y0 + 4, width: r2(bw), height: row - 8, class: `bar ${it.cls || cls}` }),
      svg('text', { x: r2(m.left + bw + 6), y: y0 + row / 2, 'dominant-baseline': 'middle', class: 'value' }, formatNumber(it.value))));
  });
  return root;
}

// Bubble map on an equirectangular grid (width/360 units a degree, latitudes 80°N to
// 50°S) with a light graticule every 30°: one circle per item at its [lat, lon], area ∝
// value, biggest drawn first, codes on a layer above all circles; items are
// [{code, name, value, lat, lon}].
export function bubbleMap({ items, label, unit, width = 720 }) {
  const k = width / 360;
  const rMax = 13 * k;
  const north = 80;
  const south = -50;
  const height = (north - south) * k;
  const px = (lon) => r2((lon + 180) * k);
  const py = (lat) => r2((north - lat) * k);
  const root = frame(width, height, label, 'chart-map');
  const grid = svg('g', { class: 'graticule' }, svg('rect', { x: 0, y: 0, width, height, class: 'sea' }));
  for (let lon = -150; lon <= 150; lon += 30) {
    grid.append(svg('line', { x1: px(lon), x2: px(lon), y1: 0, y2: height, class: lon === 0 ? 'major' : null }),
      svg('text', { x: px(lon) + 2, y: height - 3 }, lon === 0 ? '0°' : `${Math.abs(lon)}°${lon < 0 ? 'W' : 'E'}`));
  }
  for (let lat = -30; lat <= 60; lat += 30) {
    grid.append(svg('line', { x1: 0, x2: width, y1: py(lat), y2: py(lat), class: lat === 0 ? 'major' : null }),
      svg('text', { x: 3, y: py(lat) - 2 }, lat === 0 ? '0°' : `${Math.abs(lat)}°${lat < 0 ? 'S' : 'N'}`));
  }
  const max = Math.max(1, ...items.map((it) => it.value));
  const bubbles = svg('g', { class: 'bubbles' });
  const codes = svg('g', { class: 'codes' });
  for (const it of [...items].sort((a, b) => b.value - a.value)) {
    const r = r2(Math.max(2.5, rMax * Math.sqrt(it.value / max)));
    const cx = px(it.lon);
    const cy = py(it.lat);
    bubbles.append(svg('g', { class: 'bubble', 'data-code': it.code },
      svg('title', null, `${it.name} (${it.code}): ${formatNumber(it.value)} ${unit}`),
      svg('circle', { cx, cy, r, 'data-code': it.code, 'data-value': it.value })));
    codes.append(svg('text', r >= 9 ? { x: cx, y: cy, 'text-anchor': 'middle', 'dominant-baseline': 'central' }
      : { x: r2(cx + r + 1.5), y: cy, 'dominant-baseline': 'central' }, it.code));
  }
  root.append(grid, bubbles, codes);
  return root;
}

// A legend: a swatch (or, with line set, a line sample; dashed for dashed lines) and
// the label of each entry [{label, cls, line, dashed}].
export function legend(entries) {
  return el('ul', { class: 'legend', 'data-testid': 'legend' }, entries.map((e) => el('li', null,
    el('span', { class: `swatch ${e.cls}${e.line ? ' line' : ''}${e.dashed ? ' dashed' : ''}`, 'aria-hidden': 'true' }),
    e.label)));
}

// A data table: caption, column headers (th scope=col), the first cell of each row as
// the row's header (th scope=row); columns [{label, num}], rows of raw values.
export function dataTable({ caption, columns, rows }) {
  const cell = (v) => (typeof v === 'number' ? formatNumber(v) : (v ?? '—'));
  return el('table', { class: 'data-table compact chart-table', 'data-testid': 'chart-table' },
    el('caption', null, caption),
    el('thead', null, el('tr', null, columns.map((c) => el('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
    el('tbody', null, rows.map((r) => el('tr', null, r.map((v, i) => (i === 0
      ? el('th', { scope: 'row' }, cell(v))
      : el('td', { class: columns[i] && columns[i].num ? 'num' : null }, cell(v))))))));
}

// A "Show table" disclosure button (aria-expanded, aria-controls) and the hidden region
// holding the table that it reveals; what names the chart for screen readers.
export function tableToggle(table, what) {
  const region = el('div', { class: 'table-wrap chart-table-wrap', id: uniqueId('chart-table'), hidden: true }, table);
  const text = el('span', null, 'Show table');
  const button = el('button', {
    type: 'button', class: 'btn btn-small', 'aria-expanded': 'false', 'aria-controls': region.id, 'data-testid': 'table-toggle',
  }, text, el('span', { class: 'visually-hidden' }, ` of ${what}`));
  button.addEventListener('click', () => {
    const open = button.getAttribute('aria-expanded') !== 'true';
    button.setAttribute('aria-expanded', String(open));
    region.hidden = !open;
    text.textContent = open ? 'Hide table' : 'Show table';
  });
  return { button, region };
}

// One CSV cell: text a spreadsheet would run as a formula (starting = + - @, tab or CR)
// gets a leading ' so it stays text; quoted when it holds a comma, quote or newline.
export function csvCell(v) {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// CSV text (RFC 4180, CRLF lines) of a header row and data rows.
export function csvText(columns, rows) {
  return [columns, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

const csvUrls = new Set();

// A "Download CSV" link to a Blob of the rows, saved as filename; what names the chart
// for screen readers. The Blob URL lives until releaseCsvLinks().
export function csvLink({ filename, columns, rows, what }) {
  const url = URL.createObjectURL(new Blob([csvText(columns, rows)], { type: 'text/csv;charset=utf-8' }));
  csvUrls.add(url);
  return el('a', { class: 'btn btn-small', href: url, download: filename, 'data-testid': 'csv-link' },
    'Download CSV', el('span', { class: 'visually-hidden' }, ` of ${what}`));
}

// Frees the Blob URLs of the CSV links made so far (before the charts are rebuilt).
export function releaseCsvLinks() {
  for (const url of csvUrls) URL.revokeObjectURL(url);
  csvUrls.clear();
}
