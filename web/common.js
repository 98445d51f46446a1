// common.js - helpers of both pages (the build puts this before dashboard.js and explore.js
// in each page's one inline script).
'use strict';

// localStorage, which may be unavailable (private windows, file://): v undefined reads,
// null removes, else writes; without storage the value lives for this page only.
function store(k, v) {
  try {
    if (v === undefined) return window.localStorage.getItem(k);
    if (v === null) window.localStorage.removeItem(k);
    else window.localStorage.setItem(k, v);
  } catch (e) { /* no storage */ }
  return null;
}

// DOM helpers (text only: nothing from the server is parsed as HTML).
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}
function svg(tag, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return e;
}
// The records table of both pages: <table class="recs"> with the Time/Level/Service/Message
// header; returns the table and its empty <tbody> for the caller's rows.
function recordsTable() {
  const t = el('table', 'recs');
  const hd = el('tr');
  for (const h of ['Time', 'Level', 'Service', 'Message']) hd.appendChild(el('th', null, h));
  t.appendChild(el('thead')).appendChild(hd);
  return { table: t, body: t.appendChild(el('tbody')) };
}
function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

// The header's colour-scheme button: Auto -> Light -> Dark, kept in localStorage under key;
// onChange runs after each change (a redraw with the new colours).
function themeButton(button, key, onChange) {
  let theme = store(key) || 'auto';
  const apply = () => {
    const fixed = theme === 'light' || theme === 'dark';
    if (fixed) document.documentElement.dataset.theme = theme;
    else delete document.documentElement.dataset.theme;
    button.textContent = theme === 'light' ? 'Light' : theme === 'dark' ? 'Dark' : 'Auto';
    button.title = 'Colour scheme: ' + (fixed ? theme : 'follows the system') + ' (click to change)';
  };
  apply();
  button.addEventListener('click', () => {
    theme = theme === 'auto' ? 'light' : theme === 'light' ? 'dark' : 'auto';
    store(key, theme === 'auto' ? null : theme);
    apply();
    if (onChange) onChange();
  });
}
