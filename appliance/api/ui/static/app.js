// logpacker web UI: plain JavaScript, no build step, no dependencies.
//
// Everything shown comes from the node's REST API (api/v1/…, relative to
// the page). The URL's query holds the whole state (view, q, range or
// from/to, severity, host, app, tag, cursor): reload or share it and the
// same view opens. Log messages are untrusted: they reach the page as text
// only (textContent), never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'logpacker.token';
const VIEWS = ['search', 'tail', 'patterns', 'cluster'];
const RANGES = { '15m': 15 * 60e3, '1h': 3600e3, '6h': 6 * 3600e3, '24h': 24 * 3600e3, '7d': 7 * 24 * 3600e3 };
const DEFAULT_RANGE = '24h';
const PAGE = 100; // events per page
const TAIL_MAX = 1000; // lines kept in the live tail
const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];
const FILTERS = ['host', 'app', 'tag']; // shown as chips
const STATE_KEYS = ['view', 'q', 'range', 'from', 'to', 'severity', 'host', 'app', 'tag', 'cursor'];

// ---------------------------------------------------------------- elements

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids.flat()) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}
const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

const nf = new Intl.NumberFormat();
const fmtN = (n) => nf.format(n);
function pad(n, w = 2) { return String(n).padStart(w, '0'); }
function fmtTime(iso, withMs = true) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    (withMs ? '.' + pad(d.getMilliseconds(), 3) : '');
}
// fmtShort is an event's time in a list: the year only when not this one
function fmtShort(iso) {
  const s = fmtTime(iso);
  return s.startsWith(new Date().getFullYear() + '-') ? s.slice(5) : s;
}
function fmtBytes(n) {
  if (!n) return '0 B';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
}
function fmtAge(iso) {
  const s = Math.round((Date.now() - new Date(iso)) / 1000);
  if (!iso || isNaN(s)) return '';
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  return Math.round(s / 3600) + ' h ago';
}
function isoUTC(ms) { return new Date(ms).toISOString().replace('.000Z', 'Z'); }
// datetime-local values are local time without a zone
function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? '' : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
function fromLocalInput(v) { if (!v) return ''; const d = new Date(v); return isNaN(d) ? '' : isoUTC(d.getTime()); }
function fmtDur(ms) {
  const s = ms / 1000;
  if (s < 120) return s + ' s';
  if (s < 7200) return Math.round(s / 60) + ' min';
  if (s < 172800) return Math.round(s / 3600) + ' h';
  return Math.round(s / 86400) + ' days';
}

// ---------------------------------------------------------------- state (the URL)

function readState() {
  const p = new URLSearchParams(location.search);
  const st = {};
  for (const k of STATE_KEYS) st[k] = (p.get(k) || '').trim();
  if (!VIEWS.includes(st.view)) st.view = 'search';
  if (!st.from && !st.to && !RANGES[st.range] && st.range !== 'all') st.range = DEFAULT_RANGE;
  if (st.from || st.to) st.range = '';
  return st;
}
function stateURL(st) {
  const p = new URLSearchParams();
  for (const k of STATE_KEYS) {
    const v = st[k];
    if (!v) continue;
    if (k === 'view' && v === 'search') continue;
    if (k === 'range' && (v === DEFAULT_RANGE || st.from || st.to)) continue;
    p.set(k, v);
  }
  const s = p.toString();
  return location.pathname + (s ? '?' + s : '');
}
// go changes the state: push (a new history entry) or replace, then render.
function go(changes, { push = true, keepCursor = false, page } = {}) {
  const st = { ...cur, ...changes };
  if (!keepCursor && !('cursor' in changes)) st.cursor = '';
  const hs = { page: page ?? (st.cursor ? (history.state?.page || 0) : 0) };
  const url = stateURL(st);
  if (push && url !== location.pathname + location.search) history.pushState(hs, '', url);
  else history.replaceState(hs, '', url);
  render();
}
let cur = readState();

// ---------------------------------------------------------------- API and token

class APIError extends Error {
  constructor(status, msg, param) { super(msg); this.status = status; this.param = param; }
}
let tokenPrompt = null; // one prompt for every request that got 401
function askToken(refused) {
  if (tokenPrompt) return tokenPrompt;
  const dlg = $('tokdlg');
  $('tokmsg').textContent = refused
    ? 'That token was refused. Enter the node\'s API token ([api] token in server.ini).'
    : 'This node needs its API token ([api] token in server.ini).';
  $('token').value = '';
  tokenPrompt = new Promise((resolve) => {
    const done = () => {
      dlg.removeEventListener('close', done);
      const t = $('token').value.trim();
      if (t) sessionStorage.setItem(TOKEN_KEY, t);
      tokenPrompt = null;
      showSignOut();
      resolve(!!t);
    };
    dlg.addEventListener('close', done);
  });
  if (!dlg.open) dlg.showModal();
  setTimeout(() => $('token').focus(), 0);
  return tokenPrompt;
}
function authHeaders() {
  const t = sessionStorage.getItem(TOKEN_KEY);
  return t ? { Authorization: 'Bearer ' + t } : {};
}
function showSignOut() { $('forget').hidden = !sessionStorage.getItem(TOKEN_KEY); }

// request fetches api/v1/<path>?<params>; a 401 asks for the token and
// tries again. Bad requests throw an APIError naming the parameter.
async function request(path, params, signal) {
  for (;;) {
    const url = 'api/v1/' + path + (params && String(params) ? '?' + params : '');
    const sent = sessionStorage.getItem(TOKEN_KEY);
    const r = await fetch(url, { headers: authHeaders(), signal, cache: 'no-store' });
    if (r.status !== 401) return r;
    // the token sent was refused (or none was sent): ask, unless another
    // request's answer already brought a new one
    if (sent && sessionStorage.getItem(TOKEN_KEY) === sent) sessionStorage.removeItem(TOKEN_KEY);
    if (sessionStorage.getItem(TOKEN_KEY)) continue;
    if (!(await askToken(!!sent))) throw new APIError(401, 'an API token is needed: reload the page to enter it');
  }
}
async function api(path, params, signal) {
  const r = await request(path, params, signal);
  if (!r.ok) {
    let body = {};
    try { body = await r.json(); } catch { /* not JSON */ }
    throw new APIError(r.status, body.error || `${r.status} ${r.statusText}`, body.parameter);
  }
  return r.json();
}

function showError(err) {
  const b = $('error');
  if (!err) { b.hidden = true; b.textContent = ''; $('q').removeAttribute('aria-invalid'); return; }
  if (err.name === 'AbortError') return;
  b.textContent = err.message || String(err);
  b.hidden = false;
  if (err.param === 'q') $('q').setAttribute('aria-invalid', 'true');
}

// ---------------------------------------------------------------- query form

// filterParams are the parameters every query shares (the live tail too).
function filterParams(st) {
  const p = new URLSearchParams();
  for (const k of ['q', 'severity', 'host', 'app', 'tag']) if (st[k]) p.set(k, st[k]);
  return p;
}
// timeBounds: [from, to] ISO strings for the state ('' = open).
function timeBounds(st) {
  if (st.from || st.to) return [st.from, st.to];
  if (st.range === 'all') return ['', ''];
  const now = Date.now();
  return [isoUTC(now - (RANGES[st.range] || RANGES[DEFAULT_RANGE])), ''];
}

function syncForm() {
  $('q').value = cur.q;
  $('severity').value = SEVERITIES.includes(cur.severity) ? cur.severity : '';
  const custom = !!(cur.from || cur.to);
  $('range').value = custom ? 'custom' : (cur.range || DEFAULT_RANGE);
  $('custom').hidden = !custom;
  $('from').value = toLocalInput(cur.from);
  $('to').value = toLocalInput(cur.to);
  const chips = $('chips');
  chips.replaceChildren();
  for (const k of FILTERS) {
    if (!cur[k]) continue;
    chips.append(el('span', { class: 'chip', 'data-filter': k },
      el('b', { text: k }), cur[k],
      el('button', { type: 'button', 'aria-label': `remove filter ${k}=${cur[k]}`, title: 'remove', onclick: () => go({ [k]: '' }) }, '×')));
  }
  for (const e of document.querySelectorAll('.range-only')) e.hidden = cur.view !== 'search' || (e.id === 'custom' && !custom);
  $('go').textContent = cur.view === 'tail' ? 'Apply' : 'Search';
  $('query').hidden = cur.view === 'patterns' || cur.view === 'cluster';
}

function submitForm(ev) {
  ev?.preventDefault();
  const ch = { q: $('q').value.trim(), severity: $('severity').value };
  const r = $('range').value;
  if (r === 'custom') {
    ch.from = fromLocalInput($('from').value);
    ch.to = fromLocalInput($('to').value);
    ch.range = '';
    if (!ch.from && !ch.to) { ch.range = DEFAULT_RANGE; }
  } else {
    ch.range = r; ch.from = ''; ch.to = '';
  }
  go(ch);
}

// ---------------------------------------------------------------- search view

let searchCtl = null;
let lastHits = null;
async function runSearch() {
  searchCtl?.abort();
  const ctl = searchCtl = new AbortController();
  const st = cur, shown = location.search;
  const [from, to] = timeBounds(st);
  const base = filterParams(st);
  if (from) base.set('from', from);
  if (to) base.set('to', to);
  const ev = new URLSearchParams(base); ev.set('limit', PAGE); if (st.cursor) ev.set('cursor', st.cursor);
  const fa = new URLSearchParams(base); fa.set('limit', 10);
  document.body.classList.add('busy');
  $('total').textContent = 'searching…';
  try {
    const [events, hits, facets] = await Promise.all([
      api('events', ev, ctl.signal), api('hits', base, ctl.signal), api('facets', fa, ctl.signal)]);
    if (ctl !== searchCtl) return;
    showError(null);
    lastHits = hits;
    drawHist(hits);
    drawFacets(facets.facets || {});
    drawEvents(events, hits.total);
    document.body.dataset.shown = shown; // what is drawn (tests wait for it)
  } catch (err) {
    if (ctl !== searchCtl || err.name === 'AbortError') return;
    showError(err);
    // nothing stale under the error
    lastHits = null;
    for (const id of ['total', 'histinfo', 'pageinfo']) $(id).textContent = '';
    for (const id of ['hist', 'facets', 'events']) $(id).replaceChildren();
    delete $('hist').dataset.total;
    $('hist')._geo = null;
    $('pager').hidden = true;
    $('older2').parentElement.parentElement.hidden = true;
    document.querySelector('.results .empty')?.remove();
  } finally {
    if (ctl === searchCtl) document.body.classList.remove('busy');
  }
}

// The histogram: one bar per bucket; click a bar or drag across bars to
// zoom in; ←/→ pick a bar, Enter zooms to it.
let histFocus = -1;
function drawHist(h) {
  const box = $('hist');
  const buckets = h.buckets || [];
  const stepMs = (h.step_seconds || 1) * 1000;
  $('total').textContent = `${fmtN(h.total)} event${h.total === 1 ? '' : 's'}`;
  box.dataset.total = h.total;
  box.dataset.bars = buckets.length;
  $('histinfo').textContent = buckets.length
    ? `${fmtTime(h.from, false)} – ${fmtTime(h.to, false)}, ${fmtDur(stepMs)} per bar`
    : '';
  box.replaceChildren();
  if (!buckets.length) return;
  const W = Math.max(box.clientWidth, 200), H = Math.max(box.clientHeight, 80);
  const top = 12, bottom = 18, left = 0;
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const bw = (W - left) / buckets.length;
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', 'aria-hidden': 'true' });
  const plotH = H - top - bottom;
  s.append(svg('line', { class: 'grid', x1: 0, x2: W, y1: top + plotH + 0.5, y2: top + plotH + 0.5 }));
  const maxLabel = svg('text', { class: 'axis', x: 2, y: 10 });
  maxLabel.textContent = fmtN(max);
  s.append(maxLabel);
  buckets.forEach((b, i) => {
    const bh = b.count ? Math.max(1.5, (b.count / max) * plotH) : 0;
    const r = svg('rect', {
      class: 'bar' + (i === histFocus ? ' hi' : ''), x: left + i * bw + (bw > 4 ? 0.5 : 0), y: top + plotH - bh,
      width: Math.max(bw - (bw > 4 ? 1 : 0), 0.5), height: bh, 'data-i': i, 'data-count': b.count,
    });
    const t = svg('title');
    t.textContent = `${fmtTime(b.time, false)} + ${fmtDur(stepMs)}: ${fmtN(b.count)}`;
    r.append(t);
    s.append(r);
  });
  // about six time labels
  const every = Math.max(1, Math.ceil(buckets.length / Math.max(2, Math.floor(W / 110))));
  const span = new Date(h.to) - new Date(h.from);
  for (let i = 0; i < buckets.length && i * bw < W - 60; i += every) {
    const d = new Date(buckets[i].time);
    const label = span > 36 * 3600e3 ? `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
      : stepMs < 60e3 ? `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    const tx = svg('text', { class: 'axis', x: left + i * bw + 2, y: H - 4 });
    tx.textContent = label;
    s.append(tx);
  }
  const sel = svg('rect', { class: 'sel', x: 0, y: top, width: 0, height: plotH, visibility: 'hidden' });
  s.append(sel);
  box.append(s);
  box._geo = { W, bw, left, buckets, stepMs, sel };
}
function bucketAt(clientX) {
  const box = $('hist'), g = box._geo;
  if (!g) return -1;
  const x = (clientX - box.getBoundingClientRect().left) * (g.W / box.clientWidth);
  return Math.min(g.buckets.length - 1, Math.max(0, Math.floor((x - g.left) / g.bw)));
}
function zoomTo(i0, i1) {
  const g = $('hist')._geo;
  if (!g) return;
  const a = Math.min(i0, i1), b = Math.max(i0, i1);
  const from = new Date(g.buckets[a].time).getTime();
  const to = new Date(g.buckets[b].time).getTime() + g.stepMs;
  histFocus = -1;
  go({ from: isoUTC(from), to: isoUTC(to), range: '' });
}
function zoomOut() {
  const [f, t] = timeBounds(cur);
  const to = t ? new Date(t).getTime() : Date.now();
  const from = f ? new Date(f).getTime() : (lastHits ? new Date(lastHits.from).getTime() : to - RANGES[DEFAULT_RANGE]);
  const span = Math.max(to - from, 1000);
  const nt = Math.min(to + span, Date.now());
  go({ from: isoUTC(Math.max(0, from - span)), to: t ? isoUTC(nt) : '', range: '' });
}
function setupHist() {
  const box = $('hist');
  let start = -1, startX = 0;
  box.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 || !box._geo) return;
    start = bucketAt(e.clientX); startX = e.clientX;
    box.setPointerCapture(e.pointerId);
  });
  box.addEventListener('pointermove', (e) => {
    const g = box._geo;
    if (start < 0 || !g) return;
    const i = bucketAt(e.clientX);
    const a = Math.min(start, i), b = Math.max(start, i);
    g.sel.setAttribute('x', g.left + a * g.bw);
    g.sel.setAttribute('width', (b - a + 1) * g.bw);
    g.sel.setAttribute('visibility', Math.abs(e.clientX - startX) > 3 ? 'visible' : 'hidden');
    const from = g.buckets[a].time, to = new Date(new Date(g.buckets[b].time).getTime() + g.stepMs);
    $('histinfo').textContent = `zoom to ${fmtTime(from, false)} – ${fmtTime(to, false)}`;
  });
  const end = (e) => {
    if (start < 0) return;
    const i = bucketAt(e.clientX), s0 = start;
    start = -1;
    if (e.type === 'pointercancel') { drawHist(lastHits); return; }
    const g = box._geo;
    if (!g) return;
    if (Math.abs(e.clientX - startX) <= 3 && !g.buckets[i]?.count) return; // a click on an empty bucket
    zoomTo(s0, i);
  };
  box.addEventListener('pointerup', end);
  box.addEventListener('pointercancel', end);
  box.addEventListener('keydown', (e) => {
    const g = box._geo;
    if (!g) return;
    const n = g.buckets.length;
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault();
      histFocus = histFocus < 0 ? (e.key === 'ArrowRight' ? 0 : n - 1) : Math.min(n - 1, Math.max(0, histFocus + (e.key === 'ArrowRight' ? 1 : -1)));
      for (const r of box.querySelectorAll('rect.bar')) r.classList.toggle('hi', +r.dataset.i === histFocus);
      const b = g.buckets[histFocus];
      $('histinfo').textContent = `${fmtTime(b.time, false)} + ${fmtDur(g.stepMs)}: ${fmtN(b.count)} events (Enter zooms in)`;
    } else if (e.key === 'Enter' && histFocus >= 0) {
      e.preventDefault();
      zoomTo(histFocus, histFocus);
    }
  });
  new ResizeObserver(() => { if (lastHits && cur.view === 'search') drawHist(lastHits); }).observe(box);
}

function drawFacets(f) {
  const box = $('facets');
  box.replaceChildren();
  const fields = [['host', 'host', ''], ['app', 'app', ''], ['severity', 'severity', 'this and worse'], ['tags', 'tag', '']];
  for (const [field, param, note] of fields) {
    const vals = f[field] || [];
    const max = Math.max(1, ...vals.map((v) => v.count));
    const ul = el('ul');
    for (const v of vals) {
      const active = cur[param] === v.value;
      const bar = el('span', { class: 'b' });
      bar.style.width = (100 * v.count / max).toFixed(1) + '%';
      ul.append(el('li', {},
        el('button', {
          type: 'button', 'aria-pressed': active ? 'true' : 'false', 'data-field': field, 'data-value': v.value,
          title: active ? `remove the filter ${param}=${v.value}` : `filter: ${param}=${v.value}${note ? ' (' + note + ')' : ''}`,
          onclick: () => go({ [param]: active ? '' : v.value }),
        }, bar, el('span', { class: 'v', text: v.value }), el('span', { class: 'n', text: fmtN(v.count) }))));
    }
    if (!vals.length) ul.append(el('li', { class: 'none', text: 'none' }));
    box.append(el('section', { class: 'facet', 'data-facet': field },
      el('h3', {}, field, note ? el('small', { text: ' · ' + note }) : null), ul));
  }
}

// ---------------------------------------------------------------- events

function sevClass(s) { return 'sev sev-' + (SEVERITIES.includes(s) ? s : 'debug'); }

// eventItem is one event: a summary line that expands (details/summary:
// click, Enter or Space) to every field.
function eventItem(e, opts = {}) {
  const d = el('details', { class: 'ev', 'data-id': e.id || '' });
  const sum = el('summary', {},
    el('span', { class: 't', title: e.received || '', text: fmtShort(e.received) }),
    el('span', { class: sevClass(e.severity), text: e.severity || '' }),
    el('span', { class: 'h', title: e.host, text: e.host || '-' }),
    el('span', { class: 'a', title: e.app, text: e.app || '-' }),
    el('span', { class: 'm', text: e.message ?? '' }));
  d.append(sum);
  d.addEventListener('toggle', () => {
    if (d.open && !d.querySelector('.detail')) d.append(eventDetail(e, opts));
  });
  return d;
}
function eventDetail(e, opts) {
  const rows = [];
  const filterBtn = (param, value) => opts.noFilter ? null
    : el('button', { type: 'button', title: `filter: ${param}=${value}`, onclick: () => go({ [param]: value, view: cur.view === 'tail' ? 'tail' : 'search' }) }, 'filter');
  const add = (k, v, btn) => rows.push(el('tr', {}, el('th', { text: k }), el('td', {}, String(v), btn || null)));
  add('id', e.id); add('received', e.received);
  if (e.time) add('time', e.time);
  add('facility', e.facility);
  add('severity', e.severity, SEVERITIES.includes(e.severity) ? filterBtn('severity', e.severity) : null);
  add('host', e.host, e.host ? filterBtn('host', e.host) : null);
  add('app', e.app, e.app ? filterBtn('app', e.app) : null);
  if (e.procid) add('procid', e.procid);
  if (e.msgid) add('msgid', e.msgid);
  add('message', e.message);
  for (const [id, params] of Object.entries(e.sd || {})) for (const [k, v] of Object.entries(params || {})) add(`sd.${id}.${k}`, v);
  for (const t of e.tags || []) add('tag', t, filterBtn('tag', t));
  for (const [k, v] of Object.entries(e.fields || {})) add('fields.' + k, v);
  add('transport', e.transport); add('peer', e.peer); add('hops', e.hops); add('count', e.count);
  if (e.parse_error) add('parse_error', e.parse_error);
  return el('div', { class: 'detail' }, el('table', { class: 'kv' }, el('tbody', {}, rows)),
    el('pre', { text: JSON.stringify(e, null, 2) }));
}

function drawEvents(res, total) {
  const list = $('events');
  list.replaceChildren(...res.events.map((e) => el('li', {}, eventItem(e))));
  const page = history.state?.page || 0;
  const first = page * PAGE + 1, last = page * PAGE + res.events.length;
  $('pageinfo').textContent = res.events.length
    ? `${fmtN(first)}–${fmtN(last)}${total >= last ? ' of ' + fmtN(total) : ''}, newest first`
    : (cur.cursor ? 'no more events' : '');
  if (!res.events.length && !cur.cursor) list.after(emptyNote());
  else document.querySelector('.results .empty')?.remove();
  for (const b of [$('older'), $('older2')]) {
    b.disabled = !res.next;
    b.onclick = () => go({ cursor: res.next }, { page: page + 1 });
  }
  $('newer').disabled = !cur.cursor;
  $('pager').hidden = !res.events.length && !cur.cursor;
  $('older2').parentElement.parentElement.hidden = res.events.length < 20;
}
function emptyNote() {
  document.querySelector('.results .empty')?.remove();
  return el('div', { class: 'empty', text: 'No events match. Widen the range, or remove a filter.' });
}
function newer() {
  if (!cur.cursor) return;
  if ((history.state?.page || 0) > 0) history.back();
  else go({ cursor: '' });
}

// ---------------------------------------------------------------- live tail

const tail = { ctl: null, key: '', paused: false, skipped: 0, pausedAt: '', backoff: 1000, timer: 0 };

function tailParams() { return filterParams(cur).toString(); }
function startTail() {
  const key = tailParams();
  if (tail.ctl && tail.key === key) return; // already streaming these filters
  stopTail();
  tail.key = key;
  const note = key ? `filters: ${decodeURIComponent(key.replace(/\+/g, ' ')).replace(/&/g, ', ')}` : 'every new event';
  $('tail').append(el('li', { class: 'note', text: `— following ${note} —` }));
  connectTail();
}
function stopTail() {
  tail.ctl?.abort();
  tail.ctl = null;
  clearTimeout(tail.timer);
}
function tailState(cls, text) {
  const s = $('tailstate');
  s.className = 'tailstate ' + cls;
  s.textContent = text;
}
async function connectTail() {
  const ctl = tail.ctl = new AbortController();
  tailState('', 'connecting…');
  let r;
  try {
    r = await request('events/stream', tail.key, ctl.signal);
  } catch (err) {
    if (ctl.signal.aborted) return;
    return retryTail(ctl, err.message);
  }
  if (!r.ok) {
    let body = {};
    try { body = await r.json(); } catch { /* not JSON */ }
    tailState('down', 'stopped');
    showError(new APIError(r.status, body.error || r.statusText, body.parameter));
    if (r.status >= 500) retryTail(ctl, body.error || r.statusText);
    return;
  }
  showError(null);
  tail.backoff = 1000;
  tailState(tail.paused ? 'paused' : 'live', tail.paused ? 'paused' : 'live');
  $('tail').dataset.connected = 'true';
  // Server-sent events read with fetch (EventSource cannot send the token):
  // blocks separated by a blank line; "event:" names it, "data:" lines are
  // its payload, ":" lines are comments (keepalives).
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value.replace(/\r\n?/g, '\n');
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let name = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const c = line.indexOf(':');
          const f = c < 0 ? line : line.slice(0, c), v = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
          if (f === 'event') name = v;
          else if (f === 'data') data.push(v);
        }
        if (name === 'event' && data.length) onTailEvent(JSON.parse(data.join('\n')));
        else if (name === 'overflow') {
          tailNote('the stream fell too far behind and the node dropped it: reconnecting (the events in between are in Search)');
        }
      }
    }
  } catch (err) {
    if (ctl.signal.aborted) return;
    return retryTail(ctl, err.message);
  }
  if (!ctl.signal.aborted) retryTail(ctl, 'the stream ended');
}
function retryTail(ctl, why) {
  if (ctl !== tail.ctl) return;
  $('tail').dataset.connected = 'false';
  const wait = tail.backoff;
  tail.backoff = Math.min(tail.backoff * 2, 30000);
  tailState('down', `disconnected (${why}); retrying in ${Math.round(wait / 1000)} s`);
  tail.timer = setTimeout(() => { if (ctl === tail.ctl) connectTail(); }, wait);
}
function tailNote(text) { $('tail').append(el('li', { class: 'note', text })); scrollTail(); }

// Arriving events are drawn once per frame, at most TAIL_MAX of them: a
// busy stream does not make the page draw thousands of rows a second, and
// a hidden tab (no frames) keeps only the newest.
const tailQueue = [];
let tailFrame = 0;
function onTailEvent(e) {
  if (tail.paused) {
    tail.skipped++;
    if (!tail.pausedAt) tail.pausedAt = e.received;
    showSkipped();
    return;
  }
  tailQueue.push(e);
  if (tailQueue.length > TAIL_MAX) tailQueue.splice(0, tailQueue.length - TAIL_MAX);
  if (!tailFrame) tailFrame = requestAnimationFrame(flushTail);
}
function flushTail() {
  tailFrame = 0;
  const list = $('tail');
  const frag = document.createDocumentFragment();
  for (const e of tailQueue) {
    const li = el('li', {}, eventItem(e));
    li.firstChild.classList.add('new');
    frag.append(li);
  }
  tailQueue.length = 0;
  list.append(frag);
  while (list.children.length > TAIL_MAX) list.firstElementChild.remove();
  scrollTail();
}
function atBottom(list) { return list.scrollTop + list.clientHeight >= list.scrollHeight - 24; }
function scrollTail() { const l = $('tail'); if (!tail.paused) l.scrollTop = l.scrollHeight; }
function showSkipped() {
  const s = $('skipped');
  s.hidden = !tail.paused;
  if (!tail.paused) return;
  s.replaceChildren(`Paused: ${fmtN(tail.skipped)} new event${tail.skipped === 1 ? '' : 's'} skipped`);
  s.dataset.skipped = tail.skipped;
  if (tail.skipped && tail.pausedAt) {
    const st = { ...cur, view: 'search', from: isoUTC(new Date(tail.pausedAt).getTime()), to: '', range: '', cursor: '' };
    const a = el('a', { href: stateURL(st), text: 'search them' });
    s.append(' · ', a);
  }
}
function setPaused(p, why) {
  if (tail.paused === p) return;
  tail.paused = p;
  $('pause').textContent = p ? 'Resume' : 'Pause';
  $('pause').setAttribute('aria-pressed', p ? 'true' : 'false');
  if (p) { tail.skipped = 0; tail.pausedAt = ''; }
  else tailNote(tail.skipped ? `— resumed; ${fmtN(tail.skipped)} event${tail.skipped === 1 ? '' : 's'} skipped while paused —` : '— resumed —');
  if (tail.ctl) tailState(p ? 'paused' : 'live', p ? `paused${why ? ' (' + why + ')' : ''}` : 'live');
  showSkipped();
  if (!p) scrollTail();
}
function setupTail() {
  $('pause').addEventListener('click', () => setPaused(!tail.paused));
  $('clear').addEventListener('click', () => $('tail').replaceChildren());
  const list = $('tail');
  let lastTop = 0;
  // scrolling up (away from the newest line) pauses: reading is not
  // disturbed by lines arriving; Resume (or p) goes on at the bottom
  list.addEventListener('scroll', () => {
    if (list.scrollTop < lastTop - 2 && !atBottom(list)) setPaused(true, 'scrolled');
    lastTop = list.scrollTop;
  }, { passive: true });
}

// ---------------------------------------------------------------- cluster view

let clusterTimer = 0;
let clusterCtl = null;
async function runCluster() {
  clearTimeout(clusterTimer);
  clusterCtl?.abort();
  const ctl = clusterCtl = new AbortController();
  try {
    const [st, cl] = await Promise.all([api('status', '', ctl.signal), api('cluster', '', ctl.signal)]);
    if (ctl !== clusterCtl) return;
    showError(null);
    drawCluster(st, cl);
  } catch (err) {
    if (ctl !== clusterCtl || err.name === 'AbortError') return;
    showError(err);
  }
  if (cur.view === 'cluster') clusterTimer = setTimeout(() => { if (cur.view === 'cluster' && !document.hidden) runCluster(); else clusterTimer = setTimeout(runCluster, 5000); }, 5000);
}
function table(headers, rows, cls = 'grid') {
  return el('div', { class: 'tblwrap' }, el('table', { class: cls },
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', { class: h.endsWith('#') ? 'num' : '', text: h.replace(/#$/, '') })))),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c, i) => c instanceof Node ? el('td', { class: headers[i].endsWith('#') ? 'num' : '' }, c)
      : el('td', { class: headers[i].endsWith('#') ? 'num' : '', text: c ?? '' })))))));
}
function kv(pairs) {
  return el('table', { class: 'kv' }, el('tbody', {}, pairs.filter(Boolean).map(([k, v]) =>
    el('tr', {}, el('th', { text: k }), v instanceof Node ? el('td', {}, v) : el('td', { text: v ?? '' })))));
}
function meter(free, total) {
  if (!total) return el('span', { class: 'muted', text: '—' });
  const used = 1 - free / total;
  const m = el('span', { class: 'meter', title: `${Math.round(used * 100)}% used` }, el('i'));
  m.firstChild.style.width = (used * 100).toFixed(0) + '%';
  return el('span', {}, `${fmtBytes(free)} free of ${fmtBytes(total)}`, m);
}
function drawCluster(st, cl) {
  const box = $('cluster');
  const cards = [];
  $('node').textContent = st.node;
  // this node
  cards.push(el('section', { class: 'card', id: 'c-node' }, el('h2', { text: 'This node' }), kv([
    ['node', st.node], ['time', fmtTime(st.time, false)],
    ['role', st.upstream ? 'relays to a parent ([relay] upstream)' : 'root (no [relay] upstream)'],
    st.restart_needed?.length ? ['restart needed', el('span', { class: 'warnbox', text: st.restart_needed.join(', ') })] : null,
    st.reload_errors?.length ? ['reload errors', el('span', { class: 'warnbox', text: st.reload_errors.join('\n') })] : null,
  ])));
  // WAL and the lag of each consumer (outputs, uplink, alerter)
  const w = st.wal || {};
  const lag = Object.entries(w.lag || {}).sort(([a], [b]) => a.localeCompare(b));
  cards.push(el('section', { class: 'card', id: 'c-wal' }, el('h2', { text: 'Write-ahead log' }),
    kv([['size', `${fmtBytes(w.bytes)} in ${fmtN(w.segments || 0)} segment${w.segments === 1 ? '' : 's'}`], ['last index', fmtN(w.last_index || 0)]]),
    lag.length ? table(['output / cursor', 'behind (records)#'], lag.map(([k, v]) => [k, el('span', { class: v > 0 ? 'lagbad' : '', text: fmtN(v) })]))
      : el('p', { class: 'muted', text: 'no cursors' })));
  // parents
  const up = st.upstream;
  if (up) {
    const targets = (up.targets || []).map((t) => [t.addr === up.parent ? '▶ ' + t.addr : t.addr, t.name || '', String(t.priority ?? ''), String(t.weight ?? '')]);
    const d = up.discovery || {};
    cards.push(el('section', { class: 'card wide', id: 'c-upstream' }, el('h2', { text: 'Parents' }),
      kv([['upstream', up.spec], ['connected to', up.parent ? `${up.parent}${up.parent_node ? ' (' + up.parent_node + ')' : ''}` : 'none'],
        up.error ? ['error', el('span', { class: 'warnbox', text: up.error })] : null,
        ['discovery', `${fmtN(d.lookups || 0)} lookups, ${fmtN(d.lookup_failures || 0)} failed${d.stale ? ', stale' : ''}${d.last_error ? ', last error: ' + d.last_error : ''}`]]),
      targets.length ? table(['parent', 'name', 'priority#', 'weight#'], targets) : el('p', { class: 'muted', text: 'no parents found' }),
      up.view?.length ? el('div', {}, el('h2', { text: "The parent's cluster" }),
        table(['node', 'address', 'state', 'spare#'], up.view.map((v) => [v.node, v.addr, v.state, String(v.spare)]))) : null));
  }
  // the root cluster
  if (cl.cluster) {
    const s = cl.stats || {};
    const members = (cl.members || []).map((m) => {
      const l = m.load || {};
      return [el('span', {}, m.node, m.local ? el('span', { class: 'muted', text: ' (this node)' }) : null),
        el('span', { class: 'state state-' + m.state, text: m.state + (m.leaving ? ', leaving' : '') }),
        m.gossip, m.relay_addr || '—',
        l.cpus ? `${(l.cpu_user + l.cpu_system).toFixed(1)}%` : '—',
        l.cpus ? `${l.load1.toFixed(2)} / ${l.cpus}` : '—',
        meter(l.mem_free, l.mem_total), meter(l.disk_free, l.disk_total), fmtAge(m.updated)];
    });
    cards.push(el('section', { class: 'card wide', id: 'c-members' }, el('h2', { text: 'Cluster members' }),
      el('p', { class: 'muted', text: `${fmtN(s.members || 0)} known: ${fmtN(s.alive || 0)} alive, ${fmtN(s.suspect || 0)} suspect, ${fmtN(s.dead || 0)} dead, ${fmtN(s.left || 0)} left` }),
      table(['node', 'state', 'gossip', 'relay', 'cpu#', 'load / cpus#', 'memory', 'disk', 'updated'], members)));
  } else {
    cards.push(el('section', { class: 'card', id: 'c-members' }, el('h2', { text: 'Cluster' }),
      el('p', { class: 'muted', text: 'This node is not in a cluster ([cluster] bind is off).' })));
  }
  cards.push(el('p', { class: 'muted wide', id: 'c-updated', text: `updated ${fmtTime(new Date().toISOString(), false)}, every 5 s` }));
  box.replaceChildren(...cards);
}

// ---------------------------------------------------------------- views and keys

function render() {
  cur = readState();
  for (const v of VIEWS) {
    $('view-' + v).hidden = v !== cur.view;
    const tab = $('tab-' + v);
    const st = { ...cur, view: v, cursor: '' };
    tab.href = stateURL(st);
    if (v === cur.view) tab.setAttribute('aria-current', 'page'); else tab.removeAttribute('aria-current');
  }
  document.title = `logpacker · ${{ search: 'search', tail: 'live tail', patterns: 'patterns', cluster: 'cluster' }[cur.view]}${cur.q ? ': ' + cur.q : ''}`;
  syncForm();
  if (cur.view !== 'tail') stopTail();
  if (cur.view !== 'cluster') { clearTimeout(clusterTimer); clusterCtl?.abort(); }
  if (cur.view !== 'search') searchCtl?.abort();
  if (cur.view === 'search' || cur.view === 'tail' || cur.view === 'patterns') showError(null);
  if (cur.view === 'search') runSearch();
  else if (cur.view === 'tail') startTail();
  else if (cur.view === 'cluster') runCluster();
}

function typing(e) {
  const t = e.target;
  return t.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName);
}
function moveEvent(dir) {
  const list = cur.view === 'tail' ? $('tail') : $('events');
  const items = [...list.querySelectorAll('details.ev > summary')];
  if (!items.length) return;
  const i = items.indexOf(document.activeElement);
  const n = i < 0 ? (dir > 0 ? 0 : items.length - 1) : Math.min(items.length - 1, Math.max(0, i + dir));
  items[n].focus();
  items[n].scrollIntoView({ block: 'nearest' });
}
function setupKeys() {
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'Escape' && typing(e)) { e.target.blur(); return; }
    if (typing(e) || document.querySelector('dialog[open]')) return;
    const k = e.key;
    if (k === '/') { e.preventDefault(); if (!$('query').hidden) { $('q').focus(); $('q').select(); } }
    else if (k === 'j') moveEvent(1);
    else if (k === 'k') moveEvent(-1);
    else if (k === 'n' && cur.view === 'search' && !$('older').disabled) $('older').click();
    else if (k === 'b' && cur.view === 'search' && cur.cursor) newer();
    else if (k === '-' && cur.view === 'search') zoomOut();
    else if (k === 'p' && cur.view === 'tail') setPaused(!tail.paused);
    else if (k === '?') $('keys').showModal();
    else if (k >= '1' && k <= '4') go({ view: VIEWS[+k - 1] }, { keepCursor: false });
  });
}

function setup() {
  $('query').addEventListener('submit', submitForm);
  $('severity').addEventListener('change', submitForm);
  $('range').addEventListener('change', () => {
    if ($('range').value === 'custom') {
      const [f, t] = timeBounds(cur);
      $('from').value = toLocalInput(f || (lastHits && lastHits.from));
      $('to').value = toLocalInput(t || new Date().toISOString());
      $('custom').hidden = false;
      $('from').focus();
      return;
    }
    submitForm();
  });
  $('help-btn').addEventListener('click', () => {
    const h = $('help');
    h.hidden = !h.hidden;
    $('help-btn').setAttribute('aria-expanded', String(!h.hidden));
  });
  for (const b of document.querySelectorAll('.help .ex')) b.addEventListener('click', () => { $('q').value = b.textContent; submitForm(); });
  $('zoomout').addEventListener('click', zoomOut);
  $('newer').addEventListener('click', newer);
  $('forget').addEventListener('click', () => { sessionStorage.removeItem(TOKEN_KEY); showSignOut(); location.reload(); });
  $('keys-btn').addEventListener('click', () => $('keys').showModal());
  for (const a of document.querySelectorAll('a[data-view]')) {
    a.addEventListener('click', (e) => {
      if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
      e.preventDefault();
      go({ view: a.dataset.view });
    });
  }
  // links inside the page that keep to this page (e.g. "search them")
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a[href^="/"], a[href^="?"]');
    if (!a || a.dataset.view || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const u = new URL(a.href, location.href);
    if (u.pathname !== location.pathname) return;
    e.preventDefault();
    history.pushState({ page: 0 }, '', u.pathname + u.search);
    render();
  });
  window.addEventListener('popstate', render);
  setupHist();
  setupTail();
  setupKeys();
  showSignOut();
  render();
  // the node's name in the header (the cluster view sets it too)
  api('status').then((s) => { $('node').textContent = s.node; }).catch(() => {});
}

setup();
