// Dashboard ("Insight"): reports over time stacked by status (or site type, or
// classification where the agreement shares it), site types, top hosting providers and
// networks, time from report to removal, media and removals, and a bubble map of
// hosting countries. Everything comes from /stats/timeseries (one source for totals
// too) and, for those who read reports, /stats/top. Operators, who see no report, get
// the time-series charts and the map only. The view (period, interval, stacking) lives
// in the URL like the report search's filters; each chart has its numbers as a table
// and a CSV download.

import { api, problemSlug } from './api.js';
import { el, clear, humanize, initSession, handleError, showError } from './ui.js';
import { canSeeDashboard } from './nav.js';
import { countryName } from './countries.js';
import {
  stackedBars, hBars, lines, bubbleMap, legend, dataTable, tableToggle, csvLink, releaseCsvLinks, formatNumber,
} from './charts.js';

const DEFAULT_VIEW = { period: '12m', from: '', to: '', interval: 'week', by: 'status' };
const PERIOD_MONTHS = { '3m': 3, '12m': 12, all: 0 };
const INTERVALS = ['day', 'week', 'month'];
const GROUPS = ['status', 'site_type', 'international'];
const MAX_DAYS = 800; // the API's limit on a daily series
const DAY = 86400000;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// Keys of each grouping in a fixed order: the order of the stack and the legend, and
// (by position) the colour class, so a key looks the same in every chart and visit.
const KEY_ORDER = {
  status: ['received', 'assessed', 'forwarded', 'lea_notified', 'ntd_sent', 'content_removed', 'closed'],
  site_type: ['website', 'image_host', 'forum', 'file_host', 'banner_site', 'blog', 'social_network',
    'video_channel', 'chat_service', 'other'],
  international: ['baseline', 'not_baseline', 'unclassified'],
};
const LABELS = {
  lea_notified: 'LEA notified', ntd_sent: 'Notice sent (NTD)', content_removed: 'Content removed',
  not_baseline: 'Not baseline', unclassified: 'Not classified',
};
const GROUP_NAMES = { status: 'status', site_type: 'site type', international: 'classification' };
const PERIOD_COLUMN = { day: 'Day', week: 'Week starting', month: 'Month' };

// Approximate centroids [lat, lon] of the hosting countries the map can place.
const CENTROIDS = {
  AT: [47.6, 14.6], AU: [-25.3, 133.8], BA: [44.2, 17.8], BE: [50.6, 4.7], BG: [42.7, 25.5],
  BR: [-10.8, -52.9], BZ: [17.2, -88.7], CA: [56.1, -106.3], CH: [46.8, 8.2], CN: [35.9, 104.2],
  CO: [4.6, -74.3], CY: [35.1, 33.4], CZ: [49.8, 15.5], DE: [51.2, 10.4], DK: [56.0, 9.6],
  EE: [58.6, 25.0], ES: [40.2, -3.7], FI: [64.0, 26.0], FR: [46.6, 2.2], GB: [54.0, -2.5],
  GR: [39.1, 22.0], HK: [22.3, 114.2], HR: [45.1, 15.2], HU: [47.2, 19.5], IE: [53.2, -8.2],
  IN: [21.0, 78.0], IS: [64.9, -18.6], IT: [42.8, 12.6], JP: [36.2, 138.3], KR: [36.5, 127.9],
  LT: [55.2, 23.9], LU: [49.8, 6.1], LV: [56.9, 24.6], MD: [47.4, 28.4], MT: [35.9, 14.4],
  MX: [23.6, -102.6], MY: [4.2, 102.0], NL: [52.1, 5.3], NZ: [-41.8, 172.0], PA: [8.5, -80.8],
  PH: [12.9, 121.8], PL: [51.9, 19.1], PT: [39.6, -8.0], RO: [45.9, 25.0], RU: [61.5, 105.3],
  SC: [-4.7, 55.5], SE: [62.2, 15.6], SG: [1.35, 103.8], SI: [46.2, 14.8], SK: [48.7, 19.7],
  TH: [15.9, 101.0], TR: [39.0, 35.2], TW: [23.7, 121.0], UA: [48.4, 31.2], US: [39.8, -98.6],
  VG: [18.4, -64.6], VN: [14.1, 108.3], ZA: [-30.6, 22.9],
};

const banner = document.getElementById('error-banner');
const form = document.getElementById('controls');
const loadingEl = document.getElementById('loading');
const summaryEl = document.getElementById('range-summary');
const noteEl = document.getElementById('range-note');
const unavailableEl = document.getElementById('unavailable');
const panelsEl = document.getElementById('panels');

let view = readView();
let controller = null;
let operator = false; // operators get the time series only (no /stats/top)
let drawn = null; // the last answers and their view, to redraw at another width
let resizeTimer = 0;

// A panel's section by name ("reports", "sites", ...).
function panel(name) {
  return document.querySelector(`[data-testid="panel-${name}"]`);
}

// A key's label for people ("Content removed", "Image host").
function keyLabel(key) {
  if (LABELS[key]) return LABELS[key];
  const text = humanize(key);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// The colour class of a key of a grouping (dashboard.css): status and classification
// keys have their own, site types take the palette by position, others are grey.
function colourClass(group, key) {
  const i = KEY_ORDER[group] ? KEY_ORDER[group].indexOf(key) : -1;
  if (i < 0) return 'c-other';
  return group === 'site_type' ? `c-p${i % 10}` : `c-${key}`;
}

// Keys in their grouping's fixed order, unknown keys after them alphabetically.
function orderKeys(group, keys) {
  const known = KEY_ORDER[group] || [];
  return [...keys].sort((a, b) => {
    const ia = known.indexOf(a) < 0 ? known.length : known.indexOf(a);
    const ib = known.indexOf(b) < 0 ? known.length : known.indexOf(b);
    return ia - ib || (a < b ? -1 : a > b ? 1 : 0);
  });
}

// True when the caller's agreement shares media classifications (else the API answers
// group_by=international with 403): hotlines, INTERPOL, LEAs with a metadata grant.
function sharesClassifications(me) {
  const kind = me && me.org && me.org.kind;
  if (kind === 'hotline' || kind === 'interpol') return true;
  const m = me && me.scope && me.scope.media_metadata;
  return kind === 'lea' && !!m
    && ((Array.isArray(m.hosting_countries) && m.hosting_countries.length > 0) || m.reported_from_own_country === true);
}

// Reads the view from location.search (unknown values fall back to the defaults).
function readView() {
  const sp = new URLSearchParams(location.search);
  const pick = (v, list, d) => (list.includes(v) ? v : d);
  const date = (k) => (DATE_RE.test(sp.get(k) || '') ? sp.get(k) : '');
  const from = date('from');
  const to = date('to');
  return {
    period: from || to ? 'custom' : pick(sp.get('period'), Object.keys(PERIOD_MONTHS), DEFAULT_VIEW.period),
    from,
    to,
    interval: pick(sp.get('interval'), INTERVALS, DEFAULT_VIEW.interval),
    by: pick(sp.get('by'), GROUPS, DEFAULT_VIEW.by),
  };
}

// The page's query string for a view (defaults left out).
function viewQuery(v) {
  const sp = new URLSearchParams();
  if (v.period === 'custom') {
    if (v.from) sp.set('from', v.from);
    if (v.to) sp.set('to', v.to);
  } else if (v.period !== DEFAULT_VIEW.period) {
    sp.set('period', v.period);
  }
  if (v.interval !== DEFAULT_VIEW.interval) sp.set('interval', v.interval);
  if (v.by !== DEFAULT_VIEW.by) sp.set('by', v.by);
  return sp;
}

// Switches to a view: records it in history (push or replace), syncs the form, loads.
function go(v, replace = false) {
  view = v;
  const qs = viewQuery(v).toString();
  const url = `dashboard.html${qs ? `?${qs}` : ''}`;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  load();
}

// A Date's UTC day as YYYY-MM-DD.
function isoDate(t) {
  return new Date(t).toISOString().slice(0, 10);
}

// A time as the API writes bucket starts (2026-01-05T00:00:00Z).
function isoTime(t) {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// "5 Jan 2026" of a YYYY-MM-DD date or ISO time.
function dayText(iso) {
  const d = new Date(iso);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

// The start (ms) of the period of an interval that holds t: the UTC day, the ISO week
// from Monday, the calendar month (as the API buckets them).
function periodStart(t, interval) {
  const d = new Date(t);
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (interval === 'week') return day - ((d.getUTCDay() + 6) % 7) * DAY;
  if (interval === 'month') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return day;
}

// The start (ms) of the period after the one starting at t.
function nextPeriod(t, interval) {
  if (interval === 'day') return t + DAY;
  if (interval === 'week') return t + 7 * DAY;
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

// The dates a view asks the API for ({from, to}, '' when open) and a note when they
// differ from what was chosen: a preset starts at the beginning of its first period,
// and a daily series covers at most MAX_DAYS days (the API's limit).
function apiRange(v) {
  const today = periodStart(Date.now(), 'day');
  let { from, to } = v.period === 'custom' ? v : { from: '', to: '' };
  let note = '';
  if (PERIOD_MONTHS[v.period]) {
    const d = new Date(today);
    d.setUTCMonth(d.getUTCMonth() - PERIOD_MONTHS[v.period]);
    from = isoDate(periodStart(d.getTime(), v.interval));
  }
  if (v.interval === 'day') {
    const earliest = (to ? Date.parse(to) : today) - (MAX_DAYS - 1) * DAY;
    if (!from || Date.parse(from) < earliest) {
      from = isoDate(earliest);
      note = `A daily series covers at most ${MAX_DAYS} days: it starts on ${dayText(from)}. Choose weeks or months for a longer period.`;
    }
  }
  return { from, to, note };
}

// A period for the charts: its key (the API's bucket), a name for titles and tables,
// and axis text with the year as a second line.
function describePeriod(iso, interval) {
  const d = new Date(iso);
  const mon = MONTHS[d.getUTCMonth()];
  const year = String(d.getUTCFullYear());
  if (interval === 'month') return { key: iso, name: `${mon} ${year}`, text: mon, sub: year };
  return { key: iso, name: `${interval === 'week' ? 'Week of ' : ''}${dayText(iso)}`, text: `${d.getUTCDate()} ${mon}`, sub: year };
}

// Every period from the first to the last bucket of some answers: the API leaves out
// periods without data, but a time axis should show them (as 0, or as a gap).
function periodRun(answers, interval) {
  const keys = new Set(answers.flatMap((a) => (Array.isArray(a.buckets) ? a.buckets : [])));
  const sorted = [...keys].sort();
  if (sorted.length) {
    const end = Date.parse(sorted[sorted.length - 1]);
    for (let t = Date.parse(sorted[0]); t < end && keys.size < 5000; t = nextPeriod(t, interval)) keys.add(isoTime(t));
  }
  return [...keys].sort().map((iso) => describePeriod(iso, interval));
}

// One series of an answer laid on periods (fill where the answer has no value).
function valuesOn(answer, key, periods, fill) {
  const s = (answer.series || []).find((x) => x.key === key);
  const at = new Map((answer.buckets || []).map((b, i) => [b, s ? s.values[i] : fill]));
  return periods.map((p) => (at.has(p.key) && at.get(p.key) !== undefined ? at.get(p.key) : fill));
}

// Totals per key of an answer, biggest first ([{key, value}]).
function totals(answer) {
  return (answer.series || [])
    .map((s) => ({ key: s.key, value: Number(s.total ?? s.values.reduce((a, b) => a + (b || 0), 0)) }))
    .sort((a, b) => b.value - a.value || (a.key < b.key ? -1 : 1));
}

// "A 12, B 5, C 3": the first n items of a list for a chart's summary.
function leaders(items, n = 3) {
  return items.slice(0, n).map((it) => `${it.label} ${formatNumber(it.value)}`).join(', ');
}

// A file name for a chart's CSV: what, and the dates asked for.
function csvName(what) {
  const { from, to } = apiRange(view);
  return `cport-${what}-${from || 'start'}-to-${to || 'now'}.csv`;
}

// Fills a panel: a legend, the chart, an optional note, and the same numbers as a table
// (behind a "Show table" button) and as a CSV download.
function renderPanel(name, { chart, legendEntries, note, table, csv, what }) {
  const body = panel(name).querySelector('.chart-body');
  clear(body);
  const { button, region } = tableToggle(dataTable(table), what);
  body.append(
    legendEntries ? legend(legendEntries) : '',
    el('div', { class: 'chart-box' }, chart),
    note ? el('p', { class: 'hint', 'data-testid': 'panel-note' }, note) : '',
    el('div', { class: 'chart-actions' }, button, csvLink({ filename: csvName(csv), columns: table.columns.map((c) => c.label), rows: table.rows, what })),
    region);
}

// The width (CSS px) a panel's chart is drawn at, so its text keeps its size.
function chartWidth(name) {
  return Math.max(280, Math.floor(panel(name).querySelector('.chart-body').clientWidth)) || 640;
}

// Replaces a panel's content by a short message (loading, no data, not available).
function panelMessage(name, text, testid = 'panel-message') {
  const body = panel(name).querySelector('.chart-body');
  clear(body);
  body.append(el('p', { class: 'muted panel-message', 'data-testid': testid }, text));
}

// Reports per period, stacked by the chosen grouping.
function renderReports(answer, v) {
  const noun = v.interval;
  panel('reports').querySelector('h2').textContent = `Reports per ${noun} by ${GROUP_NAMES[v.by]}`;
  const periods = periodRun([answer], v.interval);
  if (!periods.length) { panelMessage('reports', 'No reports in this period.', 'panel-empty'); return; }
  const series = orderKeys(v.by, (answer.series || []).map((s) => s.key)).map((key) => ({
    key, label: keyLabel(key), cls: colourClass(v.by, key), values: valuesOn(answer, key, periods, 0),
  }));
  const sums = periods.map((_, i) => series.reduce((a, s) => a + s.values[i], 0));
  const all = sums.reduce((a, b) => a + b, 0);
  const ranked = series.map((s) => ({ label: s.label, value: s.values.reduce((a, b) => a + b, 0) })).sort((a, b) => b.value - a.value);
  const what = `reports per ${noun} by ${GROUP_NAMES[v.by]}`;
  const label = `Stacked bar chart of ${what}: ${periods.length} ${noun}s from ${periods[0].name} to ${periods[periods.length - 1].name}, `
    + `${formatNumber(all)} reports in all; the most: ${leaders(ranked)}.`;
  renderPanel('reports', {
    chart: stackedBars({ periods, series, unit: 'reports', label, yLabel: 'reports', width: chartWidth('reports') }),
    legendEntries: series.map((s) => ({ label: s.label, cls: s.cls })),
    table: {
      caption: `Reports per ${noun} by ${GROUP_NAMES[v.by]}`,
      columns: [{ label: PERIOD_COLUMN[v.interval] }, ...series.map((s) => ({ label: s.label, num: true })), { label: 'Total', num: true }],
      rows: periods.map((p, i) => [p.key.slice(0, 10), ...series.map((s) => s.values[i]), sums[i]]),
    },
    csv: `reports-per-${noun}-by-${v.by}`,
    what,
  });
}

// Totals per site type as horizontal bars.
function renderSites(answer) {
  const items = totals(answer).map((t) => ({ label: keyLabel(t.key), value: t.value, cls: colourClass('site_type', t.key) }));
  if (!items.length) { panelMessage('sites', 'No reports in this period.', 'panel-empty'); return; }
  renderPanel('sites', {
    chart: hBars({ items, unit: 'reports', width: chartWidth('sites'), label: `Bar chart of reports by site type: ${leaders(items, items.length)}.` }),
    table: { caption: 'Reports by site type', columns: [{ label: 'Site type' }, { label: 'Reports', num: true }], rows: items.map((it) => [it.label, it.value]) },
    csv: 'site-types',
    what: 'reports by site type',
  });
}

// A top list (/stats/top) as horizontal bars: providers, or networks by ASN.
function renderTop(name, answer, field) {
  const items = (answer.items || []).map((it) => ({
    label: field === 'asn' ? `AS${it.value}` : (it.value === 'unknown' ? 'Unknown provider' : String(it.value)),
    value: Number(it.count) || 0,
  }));
  const noun = field === 'asn' ? 'network (ASN)' : 'hosting provider';
  if (!items.length) { panelMessage(name, 'No reports in this period.', 'panel-empty'); return; }
  renderPanel(name, {
    chart: hBars({ items, unit: 'reports', width: chartWidth(name), cls: field === 'asn' ? 'c-p5' : 'c-p2', label: `Bar chart of reports by ${noun}, top ${items.length}: ${leaders(items)}.` }),
    table: {
      caption: `Reports by ${noun}, top ${items.length}`,
      columns: [{ label: field === 'asn' ? 'Network (ASN)' : 'Hosting provider' }, { label: 'Reports', num: true }],
      rows: items.map((it) => [it.label, it.value]),
    },
    csv: field === 'asn' ? 'top-asns' : 'top-providers',
    what: `reports by ${noun}`,
  });
}

// Median and 90th percentile of the time to removal per period, in days when they run
// to more than three days (hours otherwise); periods without a removal are gaps.
function renderRemoval(answer, v) {
  const periods = periodRun([answer], v.interval);
  if (!periods.length) { panelMessage('removal', 'No removals in this period.', 'panel-empty'); return; }
  const hours = { median: valuesOn(answer, 'median', periods, null), p90: valuesOn(answer, 'p90', periods, null) };
  const known = [...hours.median, ...hours.p90].filter((x) => x !== null);
  const inDays = Math.max(0, ...known) > 72;
  const unit = inDays ? 'days' : 'hours';
  const conv = (x) => (x === null ? null : Math.round((inDays ? x / 24 : x) * 10) / 10);
  const series = [
    { key: 'median', label: 'Median', cls: 'c-median', values: hours.median.map(conv) },
    { key: 'p90', label: '90th percentile', cls: 'c-p90', dashed: true, values: hours.p90.map(conv) },
  ];
  const range = (s) => {
    const xs = s.values.filter((x) => x !== null);
    return xs.length ? `${s.label.toLowerCase()} from ${formatNumber(Math.min(...xs))} to ${formatNumber(Math.max(...xs))} ${unit}` : '';
  };
  const what = `time from report to removal per ${v.interval} of removal`;
  renderPanel('removal', {
    chart: lines({ periods, series, yLabel: unit, width: chartWidth('removal'), format: (x) => `${formatNumber(x)} ${unit}`, label: `Line chart of the ${what}, in ${unit}: ${series.map(range).filter(Boolean).join('; ')}.` }),
    legendEntries: series.map((s) => ({ label: s.label, cls: s.cls, line: true, dashed: s.dashed })),
    note: `Counted in the ${v.interval} the content came down; gaps are ${v.interval}s without a removal.`,
    table: {
      caption: `Time from report to removal (${unit}) per ${v.interval} of removal`,
      columns: [{ label: PERIOD_COLUMN[v.interval] }, { label: `Median (${unit})`, num: true }, { label: `90th percentile (${unit})`, num: true }],
      rows: periods.map((p, i) => [p.key.slice(0, 10), series[0].values[i], series[1].values[i]]),
    },
    csv: `removal-time-per-${v.interval}`,
    what,
  });
}

// Media items reported (bars) and reports removed (line) per period.
function renderMedia(media, removed, v) {
  const periods = periodRun([media, removed], v.interval);
  if (!periods.length) { panelMessage('media', 'Nothing reported or removed in this period.', 'panel-empty'); return; }
  const bars = { key: 'media', label: 'Media items reported', cls: 'c-media', values: valuesOn(media, 'all', periods, 0) };
  const line = { key: 'removed', label: 'Reports removed', cls: 'c-removed', unit: 'reports', values: valuesOn(removed, 'all', periods, 0) };
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const what = `media items reported and reports removed per ${v.interval}`;
  renderPanel('media', {
    chart: stackedBars({
      periods, series: [bars], line, unit: 'media items', yLabel: 'count', width: chartWidth('media'), height: 300,
      label: `Bar chart of media items reported per ${v.interval} (${formatNumber(sum(bars.values))} in all) with a line of reports removed (${formatNumber(sum(line.values))} in all).`,
    }),
    legendEntries: [{ label: bars.label, cls: bars.cls }, { label: line.label, cls: line.cls, line: true }],
    table: {
      caption: `Media items reported and reports removed per ${v.interval}`,
      columns: [{ label: PERIOD_COLUMN[v.interval] }, { label: bars.label, num: true }, { label: line.label, num: true }],
      rows: periods.map((p, i) => [p.key.slice(0, 10), bars.values[i], line.values[i]]),
    },
    csv: `media-and-removed-per-${v.interval}`,
    what,
  });
}

// Totals per hosting country as a bubble map; 'unknown' and codes without a centroid
// are listed under it (and are in the table).
function renderMap(answer) {
  const all = totals(answer).map((t) => ({
    code: t.key, value: t.value, name: t.key === 'unknown' ? 'Unknown' : countryName(t.key),
  }));
  if (!all.length) { panelMessage('map', 'No reports in this period.', 'panel-empty'); return; }
  const placed = all.filter((c) => CENTROIDS[c.code]).map((c) => ({ ...c, lat: CENTROIDS[c.code][0], lon: CENTROIDS[c.code][1] }));
  const off = all.filter((c) => !CENTROIDS[c.code]);
  const sum = all.reduce((a, c) => a + c.value, 0);
  const label = `Bubble map of reports by hosting country: ${placed.length} countries; the most: `
    + `${leaders(placed.map((c) => ({ label: c.name, value: c.value })))}.`;
  renderPanel('map', {
    chart: bubbleMap({ items: placed, unit: 'reports', label, width: Math.min(1100, chartWidth('map')) }),
    note: `${formatNumber(sum)} reports; a circle's area is proportional to its count.`
      + (off.length ? ` Not on the map: ${off.map((c) => `${c.name === c.code ? c.code : `${c.name} (${c.code})`} ${formatNumber(c.value)}`).join(', ')}.` : ''),
    table: {
      caption: 'Reports by hosting country',
      columns: [{ label: 'Code' }, { label: 'Country' }, { label: 'Reports', num: true }],
      rows: all.map((c) => [c.code, c.name, c.value]),
    },
    csv: 'hosting-countries',
    what: 'reports by hosting country',
  });
}

// The line above the charts saying which dates and interval are shown.
function renderSummary(v, range) {
  let text;
  if (!range.from && !range.to) text = 'All reports';
  else text = `From ${range.from ? dayText(range.from) : 'the start'} to ${range.to ? dayText(range.to) : 'today'}`;
  summaryEl.textContent = `${text}, per ${v.interval} (UTC).`;
  noteEl.textContent = range.note;
  noteEl.hidden = !range.note;
}

// Copies the view into the form (a preset shows the dates it stands for).
function fillForm(range) {
  form.elements.period.value = view.period;
  form.elements.from.value = range.from;
  form.elements.to.value = range.to;
  form.elements.interval.value = view.interval;
  form.elements.by.value = view.by;
}

// Reads the form into a view; dates only count when "Dates below" is chosen.
function formView() {
  const period = form.elements.period.value;
  const v = { ...view, period, from: '', to: '', interval: form.elements.interval.value, by: form.elements.by.value };
  if (period !== 'custom') return v;
  v.from = form.elements.from.value;
  v.to = form.elements.to.value;
  if (!v.from && !v.to) v.period = 'all';
  return v;
}

// Shows or hides the loading state of the page and its panels.
function setBusy(busy) {
  loadingEl.hidden = !busy;
  for (const section of panelsEl.querySelectorAll('section')) {
    section.setAttribute('aria-busy', busy ? 'true' : 'false');
    section.classList.toggle('is-loading', busy);
    if (busy && !section.querySelector('.chart-body').firstChild) panelMessage(section.dataset.testid.slice(6), 'Loading…');
  }
}

// Loads every chart's data for the current view and renders what arrived; a 403 of
// the whole page means the organisation may not see these figures.
async function load() {
  if (controller) controller.abort();
  controller = new AbortController();
  const { signal } = controller;
  const v = view;
  const range = apiRange(v);
  fillForm(range);
  renderSummary(v, range);
  showError(banner, null);
  if (range.from && range.to && range.to < range.from) {
    showError(banner, { problem: { title: 'Check the dates', detail: '"To" must not be before "From".' } });
    loadingEl.hidden = true;
    return;
  }
  setBusy(true);
  const dates = { from: range.from, to: range.to };
  const ts = (q) => api('GET', '/stats/timeseries', { query: { ...q, ...dates }, signal });
  const top = (field) => api('GET', '/stats/top', { query: { field, limit: 10, ...dates }, signal });
  const jobs = {
    reports: ts({ metric: 'reports', interval: v.interval, group_by: v.by }),
    sites: ts({ metric: 'reports', interval: 'month', group_by: 'site_type' }),
    removal: ts({ metric: 'removal_time', interval: v.interval }),
    media: ts({ metric: 'media', interval: v.interval }),
    removed: ts({ metric: 'removed', interval: v.interval }),
    map: ts({ metric: 'reports', interval: 'month', group_by: 'hosting_country' }),
  };
  if (!operator) Object.assign(jobs, { providers: top('provider'), asns: top('asn') });
  const names = Object.keys(jobs);
  const settled = await Promise.allSettled(Object.values(jobs));
  if (signal.aborted) return;
  setBusy(false);
  const got = {};
  const errors = {};
  names.forEach((n, i) => { if (settled[i].status === 'fulfilled') got[n] = settled[i].value; else errors[n] = settled[i].reason; });
  const forbidden = (e) => e && e.status === 403 && problemSlug(e) === 'forbidden';
  if (!Object.keys(got).length && Object.values(errors).every(forbidden)) {
    unavailableEl.hidden = false;
    panelsEl.hidden = true;
    return;
  }
  unavailableEl.hidden = true;
  panelsEl.hidden = false;
  if (errors.reports && problemSlug(errors.reports) === 'no-media-metadata') {
    dropClassification();
    go({ ...v, by: 'status' }, true);
    return;
  }
  drawn = { got, errors, v, width: panelsEl.clientWidth };
  draw(true);
}

// Draws every visible panel from the last answers (drawn); a failed one gets a message,
// and with report set the first failure other than a 403 also goes to the banner.
function draw(report) {
  const { got, errors, v } = drawn;
  releaseCsvLinks();
  const renderers = {
    reports: () => renderReports(got.reports, v),
    sites: () => renderSites(got.sites),
    providers: () => renderTop('providers', got.providers, 'provider'),
    asns: () => renderTop('asns', got.asns, 'asn'),
    removal: () => renderRemoval(got.removal, v),
    media: () => renderMedia(got.media, got.removed, v),
    map: () => renderMap(got.map),
  };
  let reported = !report;
  for (const [name, fn] of Object.entries(renderers)) {
    if (panel(name).hidden) continue;
    const err = errors[name] || (name === 'media' ? errors.removed : null);
    if (!err) { fn(); continue; }
    if (err.status === 403) { panelMessage(name, 'Not available to your organisation.', 'panel-unavailable'); continue; }
    panelMessage(name, 'Could not load this chart.', 'panel-failed');
    if (!reported) handleError(banner, err, 'Could not load the dashboard');
    reported = true;
  }
}

// Redraws the charts at the new width when the window has changed size noticeably.
function onResize() {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (!drawn || panelsEl.hidden || Math.abs(panelsEl.clientWidth - drawn.width) < 40) return;
    drawn.width = panelsEl.clientWidth;
    draw(false);
  }, 200);
}

// Removes the classification stacking (the agreement does not share classifications).
function dropClassification() {
  const option = form.elements.by.querySelector('option[value="international"]');
  if (option) option.remove();
}

// Wires up the controls: presets, interval and stacking apply at once; dates on Apply.
function bindEvents() {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    go(formView());
  });
  form.elements.period.addEventListener('change', () => {
    if (form.elements.period.value === 'custom') form.elements.from.focus();
    else go(formView());
  });
  for (const name of ['from', 'to']) {
    form.elements[name].addEventListener('input', () => { form.elements.period.value = 'custom'; });
  }
  for (const name of ['interval', 'by']) form.elements[name].addEventListener('change', () => go(formView()));
  window.addEventListener('resize', onResize);
  window.addEventListener('popstate', () => {
    view = readView();
    if (!form.elements.by.querySelector(`option[value="${view.by}"]`)) view.by = 'status';
    load();
  });
}

// Page start: session check, what this organisation may see, then the first load.
async function init() {
  const me = await initSession(banner, { allow: canSeeDashboard });
  if (!me) { loadingEl.hidden = true; return; }
  operator = me.org.kind === 'operator';
  if (operator) {
    panel('providers').hidden = true;
    panel('asns').hidden = true;
    panelsEl.classList.add('no-top');
  }
  if (!sharesClassifications(me)) dropClassification();
  if (!form.elements.by.querySelector(`option[value="${view.by}"]`)) view.by = 'status';
  bindEvents();
  go(view, true);
}

init();
