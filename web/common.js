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
function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}
