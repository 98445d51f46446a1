// dashboard.js - polls /metrics, /v1/alarms and /v1/query every 2 s and draws the dashboard (no
// libraries; the build puts web/common.js before it).
'use strict';
(function () {
  const POLL_MS = 2000;
  const WINDOW_MS = 5 * 60 * 1000; // charts
  const RATE_MS = 10 * 1000; // tiles: rates over the last 10 s
  const LAT_MS = 60 * 1000; // latency table: last minute
  const LAT_CHART_MS = 30 * 1000; // latency chart: p99 over a sliding 30 s
  const ALARMS_RETRY_MS = 60 * 1000; // after a 404: ask again this rarely
  const KEY_STORE = 'cloudlog.apiKey';
  const THEME_STORE = 'cloudlog.theme';
  const ERRORS_URL = '/v1/query?level=error%2B&limit=20&since=1h';
  const ANALYTICS_MS = 10 * 1000; // patterns and anomalies: polled this often
  const TOP_URL = '/v1/patterns?since=1h&limit=8';
  const NEW_URL = '/v1/patterns?since=24h&new=1&limit=8';
  const ANOMALIES_URL = '/v1/anomalies?since=24h&limit=10';
  const REASONS = ['receive', 'decode', 'catalog', 'store', 'publish'];

  const $ = (id) => document.getElementById(id);
  const state = {
    samples: [], // {t, c: counters, g: gauges, h: histograms}
    key: store(KEY_STORE) || '',
    needKey: false,
    lastOk: 0,
    lastFail: '',
    polls: 0,
    alarmsAbsentAt: 0,
    alarmsBusy: false,
    errorsBusy: false,
    errorsSig: '',
    alarmsSig: '',
    alarmCount: 0,
    timer: 0,
    anomalies: [], // {t, text, series} for the charts' marks
    analyticsAt: 0,
    analyticsBusy: false,
  };

  // ---- formatting ----
  function trimNum(x) {
    const a = Math.abs(x);
    const s = a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
    return s.indexOf('.') >= 0 ? s.replace(/\.?0+$/, '') : s;
  }
  function fmtNum(v) {
    if (v == null || !isFinite(v)) return '–';
    const a = Math.abs(v);
    if (a >= 1e9) return trimNum(v / 1e9) + 'G';
    if (a >= 1e6) return trimNum(v / 1e6) + 'M';
    if (a >= 1e3) return trimNum(v / 1e3) + 'k';
    if (a === 0) return '0';
    if (a < 0.01) return '<0.01';
    return trimNum(v);
  }
  function fmtCount(v) {
    if (v == null || !isFinite(v)) return '–';
    return Math.abs(v) < 1e4 ? String(Math.round(v)) : fmtNum(v);
  }
  function fmtBytes(v) {
    if (v == null || !isFinite(v)) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? String(Math.round(v)) : trimNum(v)) + ' ' + units[i];
  }
  function fmtDur(s) {
    if (s == null || !isFinite(s)) return '–';
    if (s === 0) return '0 s';
    if (s < 1e-3) return trimNum(s * 1e6) + ' µs';
    if (s < 1) return trimNum(s * 1e3) + ' ms';
    if (s < 60) return trimNum(s) + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.floor(s % 60) + ' s';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  }
  function fmtAgo(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    return Math.floor(s / 86400) + ' d ago';
  }
  function pad2(n) { return (n < 10 ? '0' : '') + n; }
  function clock(d) { return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds()); }

  // store, el, svg, cssVar, themeButton: web/common.js

  // ---- API ----
  async function api(path, accept) {
    const headers = { Accept: accept || 'application/json' };
    if (state.key) headers.Authorization = 'Bearer ' + state.key;
    const r = await fetch(path, { headers: headers, cache: 'no-store' });
    return { status: r.status, text: await r.text() };
  }

  // ---- Prometheus text exposition ----
  function parseProm(text) {
    const out = new Map(); // name -> [{labels, value}]
    const lines = text.split('\n');
    const re = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/;
    const lre = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (const line of lines) {
      if (!line || line[0] === '#') continue;
      const m = re.exec(line);
      if (!m) continue;
      const labels = {};
      if (m[2]) {
        let l;
        lre.lastIndex = 0;
        while ((l = lre.exec(m[2])) !== null) labels[l[1]] = l[2];
      }
      const v = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : parseFloat(m[3]);
      if (!out.has(m[1])) out.set(m[1], []);
      out.get(m[1]).push({ labels: labels, value: v });
    }
    return out;
  }
  function total(p, name) {
    const s = p.get(name);
    if (!s) return 0;
    let t = 0;
    for (const x of s) t += x.value;
    return t;
  }
  function byLabel(p, name, label) {
    const o = {};
    for (const x of p.get(name) || []) o[x.labels[label] || ''] = (o[x.labels[label] || ''] || 0) + x.value;
    return o;
  }
  function hist(p, base) {
    const b = (p.get(base + '_bucket') || []).map((x) => ({
      le: x.labels.le === '+Inf' ? Infinity : parseFloat(x.labels.le), c: x.value,
    }));
    b.sort((x, y) => x.le - y.le);
    return { le: b.map((x) => x.le), cum: b.map((x) => x.c), sum: total(p, base + '_sum'), count: total(p, base + '_count') };
  }
  function sampleOf(p, t) {
    const req = byLabel(p, 'cloudlog_ingest_requests_total', 'status_class');
    return {
      t: t,
      c: {
        ingested: total(p, 'cloudlog_ingested_log_count_total'),
        rejected: total(p, 'cloudlog_rejected_log_count_total'),
        bytesIn: total(p, 'cloudlog_ingested_bytes_total'),
        processed: total(p, 'cloudlog_processed_log_count_total'),
        perr: total(p, 'cloudlog_processing_errors_total'),
        objects: total(p, 'cloudlog_objects_written_total'),
        stored: total(p, 'cloudlog_stored_bytes_total'),
        retries: total(p, 'cloudlog_retries_total'),
        redriven: total(p, 'cloudlog_redriven_total'),
        r2xx: req['2xx'] || 0,
        r4xx: req['4xx'] || 0,
        r5xx: req['5xx'] || 0,
      },
      reasons: byLabel(p, 'cloudlog_processing_errors_total', 'reason'),
      g: {
        queue: total(p, 'cloudlog_queue_depth'),
        inflight: total(p, 'cloudlog_queue_in_flight'),
        age: total(p, 'cloudlog_oldest_message_age_seconds'),
        dlq: total(p, 'cloudlog_dlq_depth'),
        storeBytes: total(p, 'cloudlog_store_bytes'),
        horizon: total(p, 'cloudlog_store_oldest_record_timestamp_seconds'),
      },
      h: {
        ingest: hist(p, 'cloudlog_ingest_latency_seconds'),
        e2e: hist(p, 'cloudlog_end_to_end_latency_seconds'),
      },
      known: p.has('cloudlog_ingested_log_count_total'),
    };
  }

  // ---- derived values ----
  function latest() { return state.samples[state.samples.length - 1]; }
  // The sample nearest to `ms` before the latest one (the oldest within the span).
  function sampleBefore(ms, from) {
    const s = state.samples;
    const last = from == null ? s.length - 1 : from;
    if (last < 1) return -1;
    const t0 = s[last].t - ms - 500;
    let i = last - 1;
    while (i > 0 && s[i - 1].t >= t0) i--;
    return i;
  }
  function rateOver(key, ms, from) {
    const s = state.samples;
    const j = from == null ? s.length - 1 : from;
    const i = sampleBefore(ms, j);
    if (i < 0) return null;
    const dt = (s[j].t - s[i].t) / 1000;
    return dt > 0 ? Math.max(0, (s[j].c[key] - s[i].c[key]) / dt) : null;
  }
  function sumRate(keys, ms, from) {
    let t = 0;
    for (const k of keys) {
      const r = rateOver(k, ms, from);
      if (r == null) return null;
      t += r;
    }
    return t;
  }
  function histDelta(a, b) {
    if (!a || a.cum.length !== b.cum.length) return b;
    return { le: b.le, cum: b.cum.map((c, i) => c - a.cum[i]), sum: b.sum - a.sum, count: b.count - a.count };
  }
  function quantile(h, q) {
    const n = h.cum.length;
    const tot = n ? h.cum[n - 1] : 0;
    if (!(tot > 0)) return null;
    const rank = q * tot;
    for (let i = 0; i < n; i++) {
      if (h.cum[i] >= rank) {
        if (h.le[i] === Infinity) return i > 0 ? h.le[i - 1] : null;
        const lo = i ? h.le[i - 1] : 0;
        const clo = i ? h.cum[i - 1] : 0;
        const inb = h.cum[i] - clo;
        return inb > 0 ? lo + ((h.le[i] - lo) * (rank - clo)) / inb : h.le[i];
      }
    }
    return null;
  }
  function windowHist(name, ms, from) {
    const s = state.samples;
    const j = from == null ? s.length - 1 : from;
    const i = sampleBefore(ms, j);
    return i < 0 ? null : histDelta(s[i].h[name], s[j].h[name]);
  }

  // ---- charts (inline SVG) ----
  // A round step for `ticks` gridlines covering max (integers only for counts).
  function niceStep(max, ticks, integer) {
    const raw = Math.max(max, 1e-9) / ticks;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    let step = 10 * p;
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw * 0.999) { step = m * p; break; }
    return integer ? Math.max(1, Math.ceil(step)) : step;
  }
  // series: [{label, color (CSS variable), points: [[t, v|null]]}]
  function drawChart(box, series, fmt, opts) {
    opts = opts || {};
    const w = Math.max(200, box.clientWidth), h = Math.max(80, box.clientHeight);
    const padL = 52, padR = 10, padT = 8, padB = 20;
    const now = latest() ? latest().t : Date.now();
    const t0 = now - WINDOW_MS;
    let max = 0, any = false;
    for (const s of series) for (const p of s.points) if (p[1] != null && p[0] >= t0) { any = true; if (p[1] > max) max = p[1]; }
    const ticks = opts.ticks || 4;
    const step = niceStep(Math.max(max * 1.05, opts.floor || 0), ticks, opts.integer);
    const ymax = step * ticks;
    const X = (t) => padL + ((t - t0) / WINDOW_MS) * (w - padL - padR);
    const Y = (v) => padT + (1 - v / ymax) * (h - padT - padB);
    const root = svg('svg', { viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, role: 'img' });
    for (let i = 0; i <= ticks; i++) {
      const v = step * i, y = Y(v);
      root.appendChild(svg('line', { class: 'gridline', x1: padL, x2: w - padR, y1: y, y2: y }));
      const t = svg('text', { class: 'axis', x: padL - 6, y: y + 4, 'text-anchor': 'end' });
      t.textContent = fmt(v);
      root.appendChild(t);
    }
    for (let m = 0; m <= 5; m++) {
      const x = X(now - m * 60000);
      const t = svg('text', { class: 'axis', x: x, y: h - 4, 'text-anchor': m === 0 ? 'end' : 'middle' });
      t.textContent = m === 0 ? 'now' : '−' + m + ' min';
      root.appendChild(t);
    }
    series.forEach((s, si) => {
      const color = cssVar(s.color);
      let d = '', pen = false, area = '', first = null, prev = null;
      for (const p of s.points) {
        if (p[0] < t0 || p[1] == null) { pen = false; continue; }
        const x = X(p[0]).toFixed(1), y = Y(p[1]).toFixed(1);
        d += (pen ? 'L' : 'M') + x + ' ' + y;
        pen = true;
        if (si === 0 && opts.area) {
          if (first == null) first = x;
          area += (area ? 'L' : 'M') + x + ' ' + y;
          prev = x;
        }
      }
      if (si === 0 && opts.area && area) {
        area += 'L' + prev + ' ' + Y(0) + 'L' + first + ' ' + Y(0) + 'Z';
        root.appendChild(svg('path', { class: 'area', d: area, fill: color }));
      }
      if (d) root.appendChild(svg('path', { class: 'series', d: d, stroke: color }));
    });
    for (const a of opts.marks || []) {
      if (a.t < t0 || a.t > now) continue;
      const x = X(a.t);
      const g = svg('g', { class: 'anomaly' });
      g.appendChild(svg('line', { class: 'anomaly-mark', x1: x, x2: x, y1: padT, y2: h - padB }));
      const f = svg('text', { class: 'anomaly-flag', x: x, y: padT + 10, 'text-anchor': 'middle' });
      f.textContent = '▲';
      const title = svg('title', {});
      title.textContent = a.text;
      g.append(f, title);
      root.appendChild(g);
    }
    if (!any) {
      const t = svg('text', { class: 'nodata', x: (padL + w - padR) / 2, y: h / 2, 'text-anchor': 'middle' });
      t.textContent = opts.empty || 'Collecting data…';
      root.appendChild(t);
    }
    box.replaceChildren(root);
    box._chart = { series: series, fmt: fmt, X: X, t0: t0, w: w, padL: padL, padR: padR, root: root, h: h, padT: padT, padB: padB };
  }
  function attachTooltip(box) {
    const tip = el('div', 'tip');
    tip.hidden = true;
    box.addEventListener('mousemove', (ev) => {
      const c = box._chart;
      if (!c) return;
      const r = box.getBoundingClientRect();
      const x = ev.clientX - r.left;
      if (x < c.padL || x > c.w - c.padR) { tip.hidden = true; return; }
      const t = c.t0 + ((x - c.padL) / (c.w - c.padL - c.padR)) * WINDOW_MS;
      let best = null;
      for (const p of c.series[0].points) if (best == null || Math.abs(p[0] - t) < Math.abs(best - t)) best = p[0];
      if (best == null) { tip.hidden = true; return; }
      tip.replaceChildren(el('div', 't', clock(new Date(best))));
      for (const s of c.series) {
        const p = s.points.find((q) => q[0] === best);
        const row = el('div', 'r');
        const sw = el('span', 'sw');
        sw.style.cssText = 'width:10px;height:3px;border-radius:2px;background:' + cssVar(s.color);
        row.append(sw, el('span', null, s.label), el('b', null, p && p[1] != null ? c.fmt(p[1]) : '–'));
        tip.appendChild(row);
      }
      tip.hidden = false;
      if (!tip.parentNode) box.appendChild(tip);
      let cur = c.root.querySelector('.cursor');
      if (!cur) { cur = svg('line', { class: 'cursor' }); c.root.appendChild(cur); }
      const cx = c.X(best);
      cur.setAttribute('x1', cx); cur.setAttribute('x2', cx);
      cur.setAttribute('y1', c.padT); cur.setAttribute('y2', c.h - c.padB);
      const left = cx + 12 + 160 > c.w ? cx - 12 - tip.offsetWidth : cx + 12;
      tip.style.left = Math.max(0, left) + 'px';
      tip.style.top = '8px';
    });
    box.addEventListener('mouseleave', () => {
      tip.hidden = true;
      const cur = box._chart && box._chart.root.querySelector('.cursor');
      if (cur) cur.remove();
    });
  }
  function legend(id, items) {
    const box = $(id);
    box.replaceChildren();
    for (const it of items) {
      const k = el('span', 'k');
      const sw = el('span', 'sw');
      sw.style.background = cssVar(it.color);
      k.append(sw, document.createTextNode(it.label + ' '), el('b', null, it.value));
      box.appendChild(k);
    }
  }

  // ---- tiles ----
  function setTile(metric, text, unit, raw, level, sub) {
    const v = document.querySelector('[data-metric="' + metric + '"]');
    v.replaceChildren(document.createTextNode(text));
    if (unit) v.appendChild(el('small', null, unit));
    v.dataset.value = raw == null ? '' : String(raw);
    const tile = v.parentNode;
    if (level) tile.dataset.level = level; else delete tile.dataset.level;
    if (sub != null) tile.querySelector('.sub').textContent = sub;
  }
  function splitUnit(s) {
    const m = /^([^\s]+)\s(.+)$/.exec(s);
    return m ? [m[1], m[2]] : [s, ''];
  }

  // ---- rendering ----
  function series(fn) {
    const out = [];
    for (let j = 1; j < state.samples.length; j++) out.push([state.samples[j].t, fn(j)]);
    return out;
  }
  function render() {
    const s = latest();
    if (!s) return;
    const ing = rateOver('ingested', RATE_MS), proc = rateOver('processed', RATE_MS);
    const errRate = sumRate(['rejected', 'perr', 'r5xx'], RATE_MS);
    const prevQ = state.samples[sampleBefore(30000)];
    const qTrend = prevQ ? s.g.queue + s.g.inflight - (prevQ.g.queue + prevQ.g.inflight) : 0;

    setTile('ingest-rate', fmtNum(ing), '/s', ing, null,
      ing == null ? 'measuring…' : fmtBytes(rateOver('bytesIn', RATE_MS)) + '/s · last 10 s');
    let psub = 'records/s · last 10 s', plevel = null;
    if (proc != null && ing != null) {
      if (qTrend > 0 && s.g.queue > 0) { psub = 'falling behind: backlog +' + fmtCount(qTrend) + ' msgs in 30 s'; plevel = 'warn'; }
      else if (ing > 0 || proc > 0) psub = 'keeping up · ' + fmtCount(s.c.objects) + ' objects written';
    }
    setTile('process-rate', fmtNum(proc), '/s', proc, plevel, proc == null ? 'measuring…' : psub);
    setTile('queue-depth', fmtCount(s.g.queue), '', s.g.queue, null,
      fmtCount(s.g.inflight) + ' in flight · ' + (qTrend > 0 ? '+' : qTrend < 0 ? '−' : '±') + fmtCount(Math.abs(qTrend)) + ' in 30 s');
    const ageParts = splitUnit(fmtDur(s.g.age));
    setTile('oldest-age', ageParts[0], ageParts[1], s.g.age, s.g.age > 300 ? 'bad' : s.g.age > 60 ? 'warn' : null,
      s.g.queue + s.g.inflight === 0 ? 'queue is empty' : 'waiting in the queue');
    setTile('dlq-depth', fmtCount(s.g.dlq), '', s.g.dlq, s.g.dlq > 0 ? 'bad' : 'ok',
      s.g.dlq > 0 ? 'inspect: cloudlog dlq list' : 'empty: nothing failed for good');
    setTile('error-rate', fmtNum(errRate), '/s', errRate, errRate > 0 ? 'bad' : null,
      fmtCount(s.c.rejected) + ' rejected · ' + fmtCount(s.c.perr) + ' processing · ' + fmtCount(s.c.r5xx) + ' 5xx');

    // throughput chart
    const inS = series((j) => rateOver('ingested', POLL_MS, j));
    const prS = series((j) => rateOver('processed', POLL_MS, j));
    const rateFmt = (v) => fmtNum(v);
    drawChart($('chart-rate'), [
      { label: 'ingested', color: '--ingest', points: inS },
      { label: 'processed', color: '--process', points: prS },
    ], rateFmt, { area: true, floor: 1, marks: state.anomalies, empty: 'Collecting data… the first rates appear after two polls' });
    legend('legend-rate', [
      { label: 'ingested', color: '--ingest', value: fmtNum(ing) + '/s' },
      { label: 'processed', color: '--process', value: fmtNum(proc) + '/s' },
    ]);

    // backlog chart
    const q = (k) => series((j) => state.samples[j].g[k]);
    drawChart($('chart-queue'), [
      { label: 'ready', color: '--queue', points: q('queue') },
      { label: 'in flight', color: '--inflight', points: q('inflight') },
      { label: 'DLQ', color: '--dlq', points: q('dlq') },
    ], fmtCount, { floor: 4, ticks: 4, integer: true });
    legend('legend-queue', [
      { label: 'ready', color: '--queue', value: fmtCount(s.g.queue) },
      { label: 'in flight', color: '--inflight', value: fmtCount(s.g.inflight) },
      { label: 'DLQ', color: '--dlq', value: fmtCount(s.g.dlq) },
    ]);

    // errors chart + breakdown
    drawChart($('chart-errors'), [
      { label: 'rejected', color: '--rejected', points: series((j) => rateOver('rejected', POLL_MS, j)) },
      { label: 'processing', color: '--perr', points: series((j) => rateOver('perr', POLL_MS, j)) },
      { label: 'HTTP 5xx', color: '--e5xx', points: series((j) => rateOver('r5xx', POLL_MS, j)) },
    ], rateFmt, { floor: 1, marks: state.anomalies.filter((a) => a.series !== 'rate') });
    legend('legend-errors', [
      { label: 'rejected', color: '--rejected', value: fmtNum(rateOver('rejected', RATE_MS)) + '/s' },
      { label: 'processing', color: '--perr', value: fmtNum(rateOver('perr', RATE_MS)) + '/s' },
      { label: '5xx', color: '--e5xx', value: fmtNum(rateOver('r5xx', RATE_MS)) + '/s' },
    ]);
    const bd = $('error-breakdown');
    const items = [['rejected records', s.c.rejected], ['HTTP 4xx', s.c.r4xx], ['HTTP 5xx', s.c.r5xx]];
    for (const r of REASONS) items.push([r + ' errors', s.reasons[r] || 0]);
    items.push(['retries', s.c.retries], ['redriven', s.c.redriven]);
    const nz = items.filter((it) => it[1] > 0);
    bd.replaceChildren(el('span', null, nz.length ? 'Since start:' : 'Since start: no rejections, errors or retries.'));
    for (const it of nz) {
      const sp = el('span', it[0] === 'retries' || it[0] === 'redriven' ? null : 'nz');
      sp.append(el('b', null, fmtCount(it[1])), document.createTextNode(' ' + it[0]));
      bd.appendChild(sp);
    }

    // latency
    let hint = 'last 1 min';
    for (const name of ['ingest', 'e2e']) {
      let hh = windowHist(name, LAT_MS);
      let since = false;
      if (!hh || !(hh.count > 0)) { hh = s.h[name]; since = true; }
      const row = document.querySelector('tr[data-hist="' + name + '"]');
      const tds = row.querySelectorAll('td');
      [0.5, 0.9, 0.99].forEach((qq, i) => {
        const v = quantile(hh, qq);
        tds[i].textContent = v == null ? '–' : fmtDur(v);
        tds[i].className = v == null ? 'none' : '';
        tds[i].title = since ? 'since the daemon started (nothing in the last minute)' : 'last minute';
      });
      if (since && hh.count > 0) hint = 'last 1 min; since start where the last minute had none';
      row.dataset.count = String(hh.count || 0);
    }
    $('lat-hint').textContent = hint;
    const p99 = (name) => series((j) => {
      const hh = windowHist(name, LAT_CHART_MS, j);
      return hh && hh.count > 0 ? quantile(hh, 0.99) : null;
    });
    drawChart($('chart-latency'), [
      { label: 'ingest p99', color: '--ingest', points: p99('ingest') },
      { label: 'end-to-end p99', color: '--process', points: p99('e2e') },
    ], (v) => fmtDur(v), { ticks: 2, empty: 'No latencies yet' });
    legend('legend-latency', [
      { label: 'ingest p99 (30 s)', color: '--ingest', value: '' },
      { label: 'end-to-end p99 (30 s)', color: '--process', value: '' },
    ]);

    // empty state + totals
    renderBanner(s);
    $('foot-totals').textContent = 'Since start: ' + fmtCount(s.c.ingested) + ' records ingested (' + fmtBytes(s.c.bytesIn) +
      ') · ' + fmtCount(s.c.processed) + ' processed · ' + fmtCount(s.c.objects) + ' objects, ' + fmtBytes(s.c.stored) + ' stored' +
      (s.g.horizon > 0 ? ' · Store: ' + fmtBytes(s.g.storeBytes) + ', records since ' + new Date(s.g.horizon * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC' : '');
    document.title = (state.alarmCount > 0 ? '⚠ ' + state.alarmCount + ' in ALARM · ' : '') + 'cloudlog · ' +
      fmtNum(ing) + '/s in';
  }

  function curlCommand() {
    const auth = state.key ? " -H 'Authorization: Bearer YOUR_KEY'" : '';
    return "curl -s " + location.origin + "/v1/logs -H 'Content-Type: application/json'" + auth +
      " -d '{\"message\":\"hello\"}'";
  }
  function renderBanner(s) {
    const b = $('banner');
    if (state.lastFail) {
      b.className = 'banner bad';
      b.replaceChildren(el('h3', null, 'Cannot reach the daemon'),
        el('p', null, state.lastFail + ' — is cloudlog serve still running on ' + location.host + '? Retrying every 2 s.'));
      b.hidden = false;
      return;
    }
    if (s && !s.known) {
      b.className = 'banner bad';
      b.replaceChildren(el('h3', null, 'No cloudlog metrics at /metrics'),
        el('p', null, 'The answer did not contain cloudlog_ingested_log_count_total. Is this a cloudlog daemon?'));
      b.hidden = false;
      return;
    }
    if (s && s.c.ingested === 0 && s.c.processed === 0 && s.c.rejected === 0) {
      b.className = 'banner';
      const code = el('code', 'mono', curlCommand());
      const copy = el('button', 'ghost', 'Copy');
      copy.type = 'button';
      copy.addEventListener('click', () => {
        if (navigator.clipboard) navigator.clipboard.writeText(code.textContent).then(() => { copy.textContent = 'Copied'; }, () => {});
      });
      const cmd = el('div', 'cmd');
      cmd.append(code, copy);
      b.replaceChildren(el('h3', null, 'No records yet — POST some:'), cmd,
        el('p', null, 'Rates appear here within seconds; records are written to the store after --flush-age (10 s by default) and then show up in queries.'));
      b.hidden = false;
      b.dataset.empty = '1';
      return;
    }
    b.hidden = true;
    delete b.dataset.empty;
  }

  function setStatus(kind, text) {
    const st = $('status');
    st.dataset.state = kind;
    $('status-text').textContent = text;
    document.body.classList.toggle('stale', kind === 'down' || kind === 'stale');
  }
  function tickStatus() {
    if (state.needKey) return setStatus('key', 'API key needed');
    if (!state.lastOk) return setStatus(state.lastFail ? 'down' : 'connecting', state.lastFail ? 'unreachable' : 'connecting…');
    const age = Date.now() - state.lastOk;
    if (state.lastFail) return setStatus('down', 'unreachable · last data ' + fmtAgo(age));
    if (age > 3 * POLL_MS) return setStatus('stale', 'stale · last data ' + fmtAgo(age));
    setStatus('live', 'live · updated ' + clock(new Date(state.lastOk)));
  }

  // ---- alarms ----
  function pick(o, names) {
    for (const n of names) if (o && o[n] != null && o[n] !== '') return o[n];
    return null;
  }
  function stateClass(st) {
    const u = String(st || '').toUpperCase();
    return u === 'OK' ? 'ok' : u === 'ALARM' ? 'alarm' : 'insufficient';
  }
  function toTime(v) {
    if (v == null) return null;
    if (typeof v === 'number') return v > 1e12 ? v : v * 1000;
    const t = Date.parse(v);
    return isNaN(t) ? null : t;
  }
  function renderAlarms(status, text) {
    const box = $('alarms');
    let sig = status + '|' + text;
    if (status === 404) {
      sig = '404';
      if (sig !== state.alarmsSig) {
        box.replaceChildren(el('p', 'empty', 'Alarms not configured — this daemon serves no /v1/alarms.'),
          el('p', 'empty', 'Rates, backlog and errors on this page still show when something is wrong.'));
        $('alarms-hint').textContent = '';
      }
      state.alarmsSig = sig;
      state.alarmCount = 0;
      box.dataset.state = 'absent';
      return;
    }
    let data;
    try { data = JSON.parse(text); } catch (e) { data = null; }
    if (status !== 200 || data == null) {
      box.replaceChildren(el('p', 'empty', 'GET /v1/alarms answered ' + status + (data && data.error ? ': ' + data.error : '') + '.'));
      box.dataset.state = 'error';
      state.alarmsSig = '';
      return;
    }
    const list = Array.isArray(data) ? data : pick(data, ['alarms', 'items', 'rules']) || [];
    const order = { alarm: 0, insufficient: 1, ok: 2 };
    const rows = list.map((a) => ({
      name: String(pick(a, ['name', 'alarm', 'alarm_name', 'AlarmName', 'id']) || '(unnamed)'),
      state: String(pick(a, ['state', 'StateValue', 'state_value', 'status']) || 'INSUFFICIENT_DATA'),
      reason: pick(a, ['reason', 'state_reason', 'StateReason']),
      desc: pick(a.rule || a, ['AlarmDescription', 'description']),
      since: toTime(pick(a, ['since_ms', 'since', 'state_since', 'updated_at', 'StateUpdatedTimestamp'])),
    })).sort((x, y) => order[stateClass(x.state)] - order[stateClass(y.state)] || x.name.localeCompare(y.name));
    state.alarmCount = rows.filter((r) => stateClass(r.state) === 'alarm').length;
    box.dataset.state = state.alarmCount ? 'alarm' : 'ok';
    box.dataset.count = String(rows.length);
    const counts = {};
    for (const r of rows) counts[stateClass(r.state)] = (counts[stateClass(r.state)] || 0) + 1;
    $('alarms-hint').textContent = rows.length ? (counts.alarm || 0) + ' in alarm · ' + (counts.ok || 0) + ' OK' +
      (counts.insufficient ? ' · ' + counts.insufficient + ' no data' : '') : '';
    if (!rows.length) {
      box.replaceChildren(el('p', 'empty', 'No alarm rules are defined (see the daemon\'s alarm configuration).'));
      return;
    }
    box.replaceChildren();
    for (const r of rows) {
      const cls = stateClass(r.state);
      const d = el('div', 'arow ' + cls);
      d.append(el('span', 'badge ' + cls, cls === 'insufficient' ? 'no data' : r.state.toUpperCase()),
        el('span', 'aname', r.name), el('span', 'asince', r.since ? fmtAgo(Date.now() - r.since).replace(' ago', '') : ''));
      const line = cls === 'alarm' ? (r.reason || r.desc) : r.desc || r.reason;
      if (line) d.appendChild(el('span', 'areason', typeof line === 'string' ? line : JSON.stringify(line)));
      d.title = [r.name + ': ' + r.state, r.desc, r.reason,
        r.since ? 'since ' + new Date(r.since).toLocaleString() : ''].filter(Boolean).join('\n');
      box.appendChild(d);
    }
    const hist = Array.isArray(data.history) ? data.history : Array.isArray(data.transitions) ? data.transitions : [];
    if (hist.length) {
      const h = el('div', 'ahist');
      h.appendChild(el('div', 'ahead', 'Recent transitions'));
      const recent = hist.map((t) => ({
        t: toTime(pick(t, ['timestamp_ms', 'time_ms', 'ts_ms', 'at_ms', 'time', 'timestamp', 'at', 'ts'])),
        name: pick(t, ['name', 'alarm', 'AlarmName']) || '',
        from: pick(t, ['from', 'old_state', 'OldStateValue', 'previous']) || '?',
        to: pick(t, ['to', 'new_state', 'NewStateValue', 'state']) || '?',
      })).sort((x, y) => (y.t || 0) - (x.t || 0)).slice(0, 5);
      for (const t of recent) {
        h.appendChild(el('div', 'atrans', (t.t ? clock(new Date(t.t)) + '  ' : '') + t.name + '  ' + t.from + ' → ' + t.to));
      }
      box.appendChild(h);
    }
  }
  async function pollAlarms() {
    if (state.alarmsBusy) return;
    if (state.alarmsAbsentAt && Date.now() - state.alarmsAbsentAt < ALARMS_RETRY_MS) return;
    state.alarmsBusy = true;
    try {
      const r = await api('/v1/alarms');
      if (r.status === 401) return onUnauthorized();
      state.alarmsAbsentAt = r.status === 404 ? Date.now() : 0;
      renderAlarms(r.status, r.text);
    } catch (e) {
      /* the metrics poll reports connectivity */
    } finally {
      state.alarmsBusy = false;
    }
  }

  // ---- recent errors ----
  function renderErrors(status, text) {
    const box = $('errors');
    if (status === 404) {
      box.replaceChildren(el('p', 'empty', 'This daemon has no GET /v1/query, so recent records cannot be shown.'));
      box.dataset.count = '0';
      return;
    }
    const recs = [];
    let err = null;
    if (status === 200) {
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        try {
          const o = JSON.parse(line);
          if (o && o.error && !o.timestamp && Object.keys(o).length === 1) err = o.error;
          else recs.push(o);
        } catch (e) { err = 'unreadable line in the answer'; }
      }
    } else {
      let o = null;
      try { o = JSON.parse(text); } catch (e) { /* not JSON */ }
      err = 'GET /v1/query answered ' + status + (o && o.error ? ': ' + o.error : '');
    }
    const sig = status + '|' + text;
    if (sig === state.errorsSig) return;
    state.errorsSig = sig;
    box.dataset.count = String(recs.length);
    box.replaceChildren();
    if (err) box.appendChild(el('p', 'empty', err));
    if (!recs.length) {
      if (!err) {
        const p = el('p', 'empty', 'No error-level records in the last hour. ');
        p.appendChild(el('span', null, 'Records with "level":"error" or "fatal" show up here once the processor has written them to the store (after --flush-age).'));
        box.appendChild(p);
      }
      return;
    }
    const { table: t, body: tb } = recordsTable();
    for (const r of recs) {
      const tr = el('tr');
      const ts = Date.parse(r.timestamp);
      const tdT = el('td', 'time', isNaN(ts) ? String(r.timestamp || '') : clock(new Date(ts)));
      tdT.title = (r.timestamp || '') + (isNaN(ts) ? '' : ' (' + fmtAgo(Date.now() - ts) + ')');
      const lv = String(r.level || '');
      const tdL = el('td');
      tdL.appendChild(el('span', 'lvl ' + lv, lv));
      const tdS = el('td', 'svc', String(r.service || ''));
      const tdM = el('td', 'msg', typeof r.message === 'string' ? r.message : JSON.stringify(r.message));
      const rest = {};
      let n = 0;
      for (const k in r) if (k !== 'timestamp' && k !== 'level' && k !== 'service' && k !== 'message') { rest[k] = r[k]; n++; }
      if (n) {
        let f = JSON.stringify(rest);
        if (f.length > 300) f = f.slice(0, 300) + '…';
        tdM.appendChild(el('span', 'fields mono', f));
      }
      tr.append(tdT, tdL, tdS, tdM);
      tb.appendChild(tr);
    }
    box.appendChild(t);
  }
  async function pollErrors() {
    if (state.errorsBusy) return;
    state.errorsBusy = true;
    try {
      const r = await api(ERRORS_URL, 'application/x-ndjson');
      if (r.status === 401) return onUnauthorized();
      renderErrors(r.status, r.text);
    } catch (e) {
      /* the metrics poll reports connectivity */
    } finally {
      state.errorsBusy = false;
    }
  }

  // ---- patterns and anomalies (GET /v1/patterns, /v1/anomalies) ----
  function renderPatterns(box, status, text, isNew) {
    let o = null;
    try { o = JSON.parse(text); } catch (e) { /* not JSON */ }
    if (status === 503 || status === 404) {
      box.replaceChildren(el('p', 'empty', 'Analytics is off on this daemon (cloudlog serve --analytics on).'));
      box.dataset.count = '0';
      return;
    }
    if (status !== 200 || !o || !Array.isArray(o.patterns)) {
      box.replaceChildren(el('p', 'empty', 'GET /v1/patterns answered ' + status + (o && o.error ? ': ' + o.error : '')));
      return;
    }
    box.dataset.count = String(o.patterns.length);
    box.replaceChildren();
    if (!o.patterns.length) box.appendChild(el('p', 'empty', isNew ? 'No new patterns.' : 'No records in the last hour.'));
    for (const p of o.patterns) {
      const row = el('div', 'pat');
      row.dataset.id = p.id;
      row.title = p.example || '';
      row.appendChild(el('div', 'tmpl', p.template));
      const meta = el('div', 'meta');
      const trend = el('span', 'trend-' + String(p.trend).split(' ')[0], p.trend);
      meta.append(document.createTextNode(p.service + ' · ' + fmtCount(p.count) + (p.errors ? ' (' + fmtCount(p.errors) + ' errors)' : '') + ' · '), trend,
        document.createTextNode(' · first seen ' + fmtAgo(Date.now() - Date.parse(p.first_seen))));
      row.appendChild(meta);
      box.appendChild(row);
    }
  }
  function renderAnomalies(status, text) {
    const box = $('anomalies');
    let o = null;
    try { o = JSON.parse(text); } catch (e) { /* not JSON */ }
    if (status !== 200 || !o || !Array.isArray(o.anomalies)) {
      box.replaceChildren(el('p', 'empty', status === 503 || status === 404 ? 'Analytics is off on this daemon.' :
        'GET /v1/anomalies answered ' + status + (o && o.error ? ': ' + o.error : '')));
      box.dataset.count = '0';
      return;
    }
    state.anomalies = o.anomalies.map((a) => ({ t: Date.parse(a.time), text: a.text, series: a.series }));
    box.dataset.count = String(o.anomalies.length);
    box.replaceChildren();
    if (!o.anomalies.length) box.appendChild(el('p', 'empty', 'No anomalies: every watched series stayed in its band.'));
    for (const a of o.anomalies) {
      const row = el('div', 'anom');
      row.dataset.series = a.series;
      const ts = Date.parse(a.time);
      const when = el('div', 'when');
      when.append(el('span', 'kind', a.series.replace('_', ' ')), document.createTextNode(a.service + ' · ' + clock(new Date(ts)) + ' (' + fmtAgo(Date.now() - ts) + ') · score ' + a.score.toFixed(2)));
      row.append(when, el('div', 'text', a.text));
      box.appendChild(row);
    }
  }
  async function pollAnalytics() {
    if (state.analyticsBusy || Date.now() - state.analyticsAt < ANALYTICS_MS) return;
    state.analyticsBusy = true;
    state.analyticsAt = Date.now();
    try {
      const an = await api(ANOMALIES_URL);
      if (an.status === 401) return onUnauthorized();
      renderAnomalies(an.status, an.text);
      const top = await api(TOP_URL);
      renderPatterns($('patterns-top'), top.status, top.text, false);
      const fresh = await api(NEW_URL);
      renderPatterns($('patterns-new'), fresh.status, fresh.text, true);
    } catch (e) {
      /* the metrics poll reports connectivity */
    } finally {
      state.analyticsBusy = false;
    }
  }

  // ---- API key ----
  function onUnauthorized() {
    state.needKey = true;
    $('keybox').hidden = false;
    const e = $('keyerr');
    e.hidden = !state.key;
    e.textContent = state.key ? 'The daemon refused the stored key (401). Paste a valid one.' : '';
    $('btn-key').hidden = !state.key;
    tickStatus();
  }
  function useKey(k) {
    state.key = k;
    store(KEY_STORE, k || null);
    state.needKey = false;
    state.errorsSig = state.alarmsSig = '';
    state.analyticsAt = 0;
    state.alarmsAbsentAt = 0;
    $('keybox').hidden = true;
    $('btn-key').hidden = !k;
    schedule(0);
  }

  // ---- main loop ----
  async function poll() {
    if (state.needKey) return; // waits for a key: no 401s every 2 s
    let r;
    try {
      r = await api('/metrics', 'text/plain');
    } catch (e) {
      state.lastFail = 'No answer from ' + location.origin + '/metrics';
      renderBanner(null);
      tickStatus();
      return schedule(POLL_MS);
    }
    if (r.status === 401) return onUnauthorized();
    if (r.status !== 200) {
      state.lastFail = 'GET /metrics answered ' + r.status;
      renderBanner(null);
      tickStatus();
      return schedule(POLL_MS);
    }
    state.lastFail = '';
    state.lastOk = Date.now();
    state.polls++;
    document.body.dataset.polls = String(state.polls);
    const s = sampleOf(parseProm(r.text), Date.now());
    const prev = latest();
    if (prev && (s.c.ingested < prev.c.ingested || s.c.processed < prev.c.processed)) state.samples = []; // restarted
    state.samples.push(s);
    while (state.samples.length > 2 && state.samples[1].t < s.t - WINDOW_MS - RATE_MS) state.samples.shift();
    try {
      render();
    } finally {
      tickStatus();
      pollAlarms();
      pollErrors();
      pollAnalytics();
      schedule(POLL_MS);
    }
  }
  function schedule(ms) {
    clearTimeout(state.timer);
    state.timer = setTimeout(poll, ms);
  }

  function init() {
    $('host').textContent = location.host;
    themeButton($('btn-theme'), THEME_STORE, () => { if (latest()) render(); });
    $('btn-key').hidden = !state.key;
    $('btn-key').addEventListener('click', () => {
      $('keybox').hidden = !$('keybox').hidden;
      $('keyerr').hidden = true;
    });
    $('keyform').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const k = $('keyinput').value.trim();
      $('keyinput').value = '';
      if (k) useKey(k);
    });
    $('keyforget').addEventListener('click', () => {
      useKey('');
    });
    for (const id of ['chart-rate', 'chart-queue', 'chart-errors', 'chart-latency']) attachTooltip($(id));
    window.addEventListener('resize', () => { if (latest()) render(); });
    setInterval(tickStatus, 1000);
    poll();
  }
  init();
})();
