// explore.js - the query page: LogQL (or the CLI's filters) over a time range, a histogram
// of matches, the matching records, and a live tail; the state lives in the URL (no
// libraries; the build puts web/common.js before it).
'use strict';
(function () {
  const KEY_STORE = 'cloudlog.apiKey'; // shared with the dashboard
  const THEME_STORE = 'cloudlog.theme';
  const LIMIT = 200; // records a query shows
  const LIVE_MAX = 1000; // rows kept while tailing
  const BARS = 60; // histogram resolution
  const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
  const LEVEL_COLOR = { fatal: '--perr', error: '--bad', warn: '--warn', info: '--ok', debug: '--accent', trace: '--unknown' };
  const PALETTE = ['--ingest', '--process', '--queue', '--inflight', '--e5xx', '--dlq']; // other series
  function colorOf(name, i) { return LEVEL_COLOR[name] || PALETTE[i % PALETTE.length]; }
  const RANGES = { '5m': 3e5, '15m': 9e5, '1h': 36e5, '6h': 216e5, '24h': 864e5, '7d': 6048e5 };

  const $ = (id) => document.getElementById(id);
  const state = { key: store(KEY_STORE) || '', mode: 'logql', runs: 0, ws: null, seq: 0, rows: [] };

  // store, el, svg, cssVar, themeButton: web/common.js
  function pad(n, w) { return String(n).padStart(w || 2, '0'); }
  function fmtTime(ms) {
    const d = new Date(ms);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
  }
  function localInput(ms) { // value of a datetime-local input
    const d = new Date(ms);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  function ns(ms) { return String(Math.floor(ms)) + '000000'; }
  function setStatus(s, text) {
    $('status').dataset.state = s;
    $('status-text').textContent = text;
  }

  // ---- the CLI's filters as LogQL ----
  function quote(s) { return JSON.stringify(s); }
  function reEscape(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }
  function globToRe(g) { return g.split('*').map((p) => p.split('?').map(reEscape).join('.')).join('.*'); }
  function filtersToLogql(f) {
    const sel = [];
    const svcs = f.service.split(',').map((s) => s.trim()).filter(Boolean);
    if (svcs.length === 1 && !/[*?]/.test(svcs[0])) sel.push('service=' + quote(svcs[0]));
    else if (svcs.length) sel.push('service=~' + quote(svcs.map(globToRe).join('|')));
    if (f.level) {
      const base = f.level.replace('+', '');
      const i = LEVELS.indexOf(base);
      const lv = f.level.endsWith('+') ? LEVELS.slice(0, i + 1).reverse() : [base];
      sel.push(lv.length === 1 ? 'level=' + quote(lv[0]) : 'level=~' + quote(lv.join('|')));
    }
    if (!sel.length) sel.push('service=~".+"');
    let q = '{' + sel.join(', ') + '}';
    if (f.grep) q += f.icase ? ' |~ ' + quote('(?i)' + reEscape(f.grep)) : ' |= ' + quote(f.grep);
    if (f.regex) q += ' |~ ' + quote(f.regex);
    const wh = f.where.split(',').map((s) => s.trim()).filter(Boolean);
    if (wh.length) {
      q += ' | json';
      for (const w of wh) {
        const k = w.indexOf('=');
        if (k > 0) q += ' | ' + w.slice(0, k).trim() + '=' + quote(w.slice(k + 1).trim());
      }
    }
    return q;
  }
  function readFilters() {
    return { service: $('f-service').value, level: $('f-level').value, grep: $('f-grep').value,
      icase: $('f-icase').checked, regex: $('f-regex').value, where: $('f-where').value };
  }
  function onFilters() {
    const q = filtersToLogql(readFilters());
    $('f-preview').textContent = q;
    $('logql').value = q;
  }
  function setMode(m) {
    state.mode = m;
    for (const b of document.querySelectorAll('.mode')) b.setAttribute('aria-selected', String(b.dataset.mode === m));
    $('pane-logql').hidden = m !== 'logql';
    $('pane-filters').hidden = m !== 'filters';
    if (m === 'filters') onFilters();
  }

  // ---- the URL ----
  const FILTER_PARAMS = { service: 'f-service', level: 'f-level', grep: 'f-grep', regex: 'f-regex', where: 'f-where' };
  function toUrl() {
    const p = new URLSearchParams();
    p.set('q', $('logql').value.trim());
    p.set('range', $('range').value);
    if ($('range').value === 'custom') {
      p.set('from', String(Date.parse($('from').value)));
      p.set('to', String(Date.parse($('to').value)));
    }
    if (state.mode === 'filters') {
      p.set('mode', 'filters');
      for (const k in FILTER_PARAMS) if ($(FILTER_PARAMS[k]).value) p.set(k, $(FILTER_PARAMS[k]).value);
      if ($('f-icase').checked) p.set('icase', '1');
    }
    if (state.ws) p.set('live', '1');
    history.replaceState(null, '', location.pathname + '?' + p.toString());
  }
  function fromUrl() {
    const p = new URLSearchParams(location.search);
    if (p.get('q')) $('logql').value = p.get('q');
    const r = p.get('range');
    if (r && (RANGES[r] || r === 'custom')) $('range').value = r;
    if (r === 'custom') {
      const f = +p.get('from'), t = +p.get('to');
      if (f && t) { $('from').value = localInput(f); $('to').value = localInput(t); }
    }
    for (const k in FILTER_PARAMS) if (p.get(k)) $(FILTER_PARAMS[k]).value = p.get(k);
    $('f-icase').checked = p.get('icase') === '1';
    setMode(p.get('mode') === 'filters' ? 'filters' : 'logql');
    return { run: p.has('q'), live: p.get('live') === '1' };
  }
  function timeRange() {
    const r = $('range').value;
    if (r === 'custom') {
      const f = Date.parse($('from').value), t = Date.parse($('to').value);
      if (isFinite(f) && isFinite(t) && f < t) return { from: f, to: t };
    }
    const now = Date.now();
    return { from: now - (RANGES[r] || RANGES['1h']), to: now };
  }
  function onRange() {
    const custom = $('range').value === 'custom';
    $('custom').hidden = !custom;
    if (custom && !$('from').value) {
      const now = Date.now();
      $('from').value = localInput(now - 36e5);
      $('to').value = localInput(now);
    }
  }

  // ---- API ----
  function headers() {
    const h = { Accept: 'application/json' };
    if (state.key) h.Authorization = 'Bearer ' + state.key;
    return h;
  }
  async function get(path, params) {
    const r = await fetch(path + '?' + new URLSearchParams(params).toString(), { headers: headers(), cache: 'no-store' });
    const text = await r.text();
    let js = null;
    try { js = JSON.parse(text); } catch (e) { /* Loki's errors may be plain text */ }
    if (r.status === 401) onUnauthorized();
    if (r.status !== 200 || !js || js.status !== 'success') {
      const msg = js && (js.error || js.message) ? js.error || js.message : text.trim();
      throw new Error(path + ' answered ' + r.status + (msg ? ': ' + msg : ''));
    }
    return js.data;
  }
  function niceStep(ms) {
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
    const want = ms / 1000 / BARS;
    for (const s of steps) if (s >= want) return s;
    return 86400;
  }
  function isLogQuery(q) { return q.trim().startsWith('{'); }

  // ---- histogram ----
  function drawHistogram(series, range, stepS) {
    const box = $('hist');
    const w = Math.max(300, box.clientWidth), h = Math.max(100, box.clientHeight);
    const padL = 44, padR = 8, padT = 8, padB = 20;
    const n = Math.max(1, Math.ceil((range.to - range.from) / 1000 / stepS));
    const start = Math.floor(range.from / 1000 / stepS) * stepS;
    const bins = new Map(); // level -> Float64Array
    let total = 0;
    for (const s of series) {
      const m = s.metric || {};
      const lv = m.level || Object.keys(m).sort().map((k) => m[k]).join(', ') || 'value';
      if (!bins.has(lv)) bins.set(lv, new Float64Array(n + 1));
      for (const [t, v] of s.values) {
        const i = Math.round((t - start) / stepS) - 1;
        if (i < 0 || i > n) continue;
        bins.get(lv)[i] += +v;
        total += +v;
      }
    }
    const order = [...bins.keys()].sort((a, b) => (LEVELS.indexOf(a) + 99) % 99 - (LEVELS.indexOf(b) + 99) % 99);
    let max = 0;
    for (let i = 0; i <= n; i++) {
      let sum = 0;
      for (const lv of order) sum += bins.get(lv)[i];
      if (sum > max) max = sum;
    }
    const raw = Math.max(max, 1) / 3; // three round gridlines above zero
    const p10 = Math.pow(10, Math.floor(Math.log10(raw)));
    const tick = Math.max(1, Math.ceil([1, 2, 2.5, 5, 10].find((m) => m * p10 >= raw) * p10));
    const ymax = tick * 3;
    const bw = (w - padL - padR) / (n + 1);
    const root = svg('svg', { viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, role: 'img' });
    for (let k = 0; k <= 3; k++) {
      const y = padT + (1 - k / 3) * (h - padT - padB);
      root.appendChild(svg('line', { class: 'gridline', x1: padL, x2: w - padR, y1: y, y2: y }));
      const t = svg('text', { class: 'axis', x: padL - 6, y: y + 4, 'text-anchor': 'end' });
      t.textContent = String(Math.round((ymax * k) / 3));
      root.appendChild(t);
    }
    const color = new Map(order.map((lv, k) => [lv, cssVar(colorOf(lv, k))]));
    for (let i = 0; i <= n; i++) {
      let y0 = h - padB;
      for (const lv of order) {
        const v = bins.get(lv)[i];
        if (!v) continue;
        const bh = (v / ymax) * (h - padT - padB);
        const r = svg('rect', { class: 'bar', x: padL + i * bw + 1, y: y0 - bh, width: Math.max(1, bw - 2), height: bh, fill: color.get(lv) });
        const tip = svg('title', {});
        tip.textContent = fmtTime((start + (i + 1) * stepS) * 1000) + ' · ' + lv + ': ' + v;
        r.appendChild(tip);
        r.dataset.level = lv;
        root.appendChild(r);
        y0 -= bh;
      }
    }
    for (let k = 0; k <= 4; k++) {
      const ms = range.from + ((range.to - range.from) * k) / 4;
      const t = svg('text', { class: 'axis', x: padL + ((w - padL - padR) * k) / 4, y: h - 4, 'text-anchor': k === 0 ? 'start' : k === 4 ? 'end' : 'middle' });
      t.textContent = fmtTime(ms).slice(range.to - range.from > 864e5 ? 5 : 11, 16 + (range.to - range.from < 6e5 ? 3 : 0));
      root.appendChild(t);
    }
    if (!total) {
      const t = svg('text', { class: 'nodata', x: (padL + w - padR) / 2, y: h / 2, 'text-anchor': 'middle' });
      t.textContent = 'No matches in this range';
      root.appendChild(t);
    }
    box.replaceChildren(root);
    box.dataset.total = String(total);
    box.dataset.bars = String(root.querySelectorAll('rect.bar').length);
    const legend = $('hist-legend');
    legend.replaceChildren();
    for (const lv of order) {
      let sum = 0;
      for (const v of bins.get(lv)) sum += v;
      const k = el('span', 'k');
      const sw = el('span', 'sw');
      sw.style.background = color.get(lv);
      k.append(sw, document.createTextNode(lv + ' '), el('b', null, String(sum)));
      legend.appendChild(k);
    }
    $('hist-hint').textContent = total + ' matches · ' + stepS + ' s per bar';
  }

  // ---- records ----
  function recordOf(labels, tsNs, line) {
    let obj = null;
    try { obj = JSON.parse(line); } catch (e) { /* line_format output, or not JSON */ }
    const o = obj && typeof obj === 'object' && !Array.isArray(obj) ? obj : null;
    return {
      ms: Number(String(tsNs).slice(0, -6)) || 0,
      ns: String(tsNs),
      level: String(labels.level || (o && o.level) || ''),
      service: String(labels.service || (o && o.service) || ''),
      message: o ? (typeof o.message === 'string' ? o.message : JSON.stringify(o.message === undefined ? o : o.message)) : line,
      line: line,
      obj: o,
      labels: labels,
    };
  }
  function rowsOf(result) {
    const out = [];
    for (const s of result) for (const [t, line] of s.values) out.push(recordOf(s.stream || {}, t, line));
    out.sort((a, b) => (a.ns.length - b.ns.length) || (a.ns < b.ns ? 1 : a.ns > b.ns ? -1 : 0));
    return out;
  }
  function detailRow(r) {
    const tr = el('tr', 'detail');
    const td = el('td');
    td.colSpan = 4;
    const labels = el('div', 'labels');
    for (const k in r.labels) labels.appendChild(el('span', 'mono', k + '=' + r.labels[k]));
    labels.appendChild(el('span', 'mono', 'ts=' + r.ns));
    td.append(labels, el('pre', 'mono', r.obj ? JSON.stringify(r.obj, null, 2) : r.line));
    tr.appendChild(td);
    return tr;
  }
  function recordRow(r, live) {
    const tr = el('tr', 'rec' + (live ? ' live' : ''));
    const tdT = el('td', 'time', fmtTime(r.ms));
    const tdL = el('td');
    tdL.appendChild(el('span', 'lvl ' + (r.level || 'none'), r.level || '–'));
    tr.append(tdT, tdL, el('td', 'svc', r.service), el('td', 'msg', r.message));
    tr.addEventListener('click', () => {
      const next = tr.nextSibling;
      if (next && next.classList.contains('detail')) { next.remove(); tr.dataset.open = ''; return; }
      tr.after(detailRow(r));
      tr.dataset.open = '1';
    });
    return tr;
  }
  function renderRows(rows, note) {
    const box = $('results');
    state.rows = rows;
    box.dataset.count = String(rows.length);
    if (!rows.length) {
      box.replaceChildren(el('p', 'empty', note || 'No records match in this range.'));
      return;
    }
    const { table: t, body: tb } = recordsTable();
    tb.id = 'rows';
    for (const r of rows) tb.appendChild(recordRow(r, false));
    box.replaceChildren(t);
  }

  // ---- running a query ----
  function showError(msg) {
    $('qerr').hidden = !msg;
    $('qerr').textContent = msg || '';
    if (msg) setStatus('error', 'error');
  }
  async function run() {
    if (state.mode === 'filters') onFilters();
    const q = $('logql').value.trim();
    if (!q) { showError('Type a LogQL query, e.g. {service="api"}'); return; }
    toUrl();
    showError('');
    const range = timeRange();
    const stepS = niceStep(range.to - range.from);
    const base = { start: ns(range.from), end: ns(range.to) };
    const logq = isLogQuery(q);
    const metric = logq ? 'sum by (level) (count_over_time(' + q + ' [' + stepS + 's]))' : q;
    setStatus('busy', 'querying…');
    const seq = ++state.seq;
    const t0 = performance.now();
    try {
      const [hist, recs] = await Promise.all([
        get('/loki/api/v1/query_range', Object.assign({ query: metric, step: stepS + 's' }, base)),
        logq ? get('/loki/api/v1/query_range', Object.assign({ query: q, limit: String(LIMIT), direction: 'backward' }, base)) : null,
      ]);
      if (seq !== state.seq) return;
      drawHistogram(hist.result || [], range, stepS);
      if (recs) {
        const rows = rowsOf(recs.result || []).slice(0, LIMIT);
        renderRows(rows);
        $('rows-hint').textContent = rows.length >= LIMIT ? 'the newest ' + LIMIT + ' (narrow the range or query for older ones)' : rows.length + ' records, newest first';
      } else {
        renderRows([], 'A metric query: its result is the chart above.');
        $('rows-hint').textContent = '';
      }
      state.runs++;
      document.body.dataset.runs = String(state.runs);
      if (!state.ws) setStatus('idle', 'done in ' + Math.round(performance.now() - t0) + ' ms');
    } catch (e) {
      if (seq === state.seq) showError(e.message);
    }
  }

  // ---- live tail ----
  function b64url(s) {
    const bytes = new TextEncoder().encode(s);
    let bin = '';
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function addLive(frame) {
    let tb = $('rows');
    if (!tb) { renderRows([{ ms: 0, ns: '0', level: '', service: '', message: '', line: '', obj: null, labels: {} }]); tb = $('rows'); tb.replaceChildren(); }
    const rows = rowsOf(frame.streams || []).reverse(); // oldest first: each goes on top
    for (const r of rows) {
      tb.insertBefore(recordRow(r, true), tb.firstChild);
      state.rows.unshift(r);
    }
    while (state.rows.length > LIVE_MAX) {
      state.rows.pop();
      const last = tb.lastChild;
      if (last && last.classList.contains('detail')) last.remove();
      if (tb.lastChild) tb.lastChild.remove();
    }
    const box = $('results');
    box.dataset.count = String(state.rows.length);
    box.dataset.live = String((+box.dataset.live || 0) + rows.length);
    const dropped = (frame.dropped_entries || []).length;
    $('rows-hint').textContent = 'live: ' + box.dataset.live + ' new' + (dropped ? ' · ' + dropped + ' dropped by the server' : '');
  }
  function stopLive(why) {
    if (state.ws) { const ws = state.ws; state.ws = null; ws.onclose = null; ws.close(1000); }
    document.body.dataset.live = 'closed';
    $('live').setAttribute('aria-pressed', 'false');
    $('live').textContent = 'Live tail';
    setStatus(why ? 'error' : 'idle', why || 'live tail stopped');
    toUrl();
  }
  function startLive() {
    if (state.mode === 'filters') onFilters();
    const q = $('logql').value.trim();
    if (!isLogQuery(q)) { showError('The live tail needs a log query (a selector, then filters).'); return; }
    showError('');
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/loki/api/v1/tail?' +
      new URLSearchParams({ query: q, limit: '0', start: ns(Date.now()) }).toString();
    const protocols = state.key ? ['cloudlog', 'cloudlog-key.' + b64url(state.key)] : [];
    const ws = new WebSocket(url, protocols);
    state.ws = ws;
    $('results').dataset.live = '0';
    $('live').setAttribute('aria-pressed', 'true');
    $('live').textContent = 'Stop tail';
    setStatus('busy', 'connecting…');
    ws.onopen = () => { setStatus('live', 'live'); document.body.dataset.live = 'open'; toUrl(); };
    ws.onmessage = (ev) => {
      let f = null;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      addLive(f);
    };
    ws.onclose = (ev) => {
      document.body.dataset.live = 'closed';
      if (state.ws !== ws) return;
      stopLive(ev.code === 1000 ? '' : 'live tail ended (' + ev.code + (ev.reason ? ': ' + ev.reason : '') + ')');
    };
  }

  // ---- API key ----
  function onUnauthorized() {
    $('keybox').hidden = false;
    $('keyerr').hidden = !state.key;
    $('keyerr').textContent = state.key ? 'The daemon refused the stored key (401). Paste a valid one.' : '';
    setStatus('error', 'needs an API key');
  }
  function useKey(k) {
    state.key = k;
    store(KEY_STORE, k || null);
    $('keybox').hidden = true;
    $('btn-key').hidden = !k;
    if (k) run();
  }

  function init() {
    $('host').textContent = location.host;
    themeButton($('btn-theme'), THEME_STORE, null); // the dashboard's setting
    $('btn-key').hidden = !state.key;
    $('btn-key').addEventListener('click', () => { $('keybox').hidden = !$('keybox').hidden; });
    $('keyform').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const k = $('keyinput').value.trim();
      $('keyinput').value = '';
      if (k) useKey(k);
    });
    $('keyforget').addEventListener('click', () => useKey(''));
    for (const b of document.querySelectorAll('.mode')) b.addEventListener('click', () => setMode(b.dataset.mode));
    for (const id of ['f-service', 'f-level', 'f-grep', 'f-icase', 'f-regex', 'f-where']) $(id).addEventListener('input', onFilters);
    $('range').addEventListener('change', () => { onRange(); run(); });
    $('qform').addEventListener('submit', (ev) => { ev.preventDefault(); run(); });
    $('logql').addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); run(); }
    });
    $('live').addEventListener('click', () => (state.ws ? stopLive('') : startLive()));
    $('share').addEventListener('click', async () => {
      toUrl();
      try {
        await navigator.clipboard.writeText(location.href);
        setStatus('idle', 'link copied');
      } catch (e) {
        setStatus('idle', 'copy the address bar: it holds the query');
      }
    });
    const start = fromUrl();
    onRange();
    if (!$('logql').value) $('logql').value = '{service=~".+"}';
    if (start.run) run();
    if (start.live) startLive();
    document.body.dataset.ready = '1';
  }
  init();
})();
