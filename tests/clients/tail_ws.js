// tail_ws.js - follows GET /loki/api/v1/tail with the real `ws` WebSocket client
// (tests/e2e/test_loki_tail.py). Prints one JSON line per event on stdout:
//   {"event":"open","protocol":P}  {"event":"frame","data":{streams,dropped_entries}}
//   {"event":"pong","data":"..."}  {"event":"close","code":N,"reason":"..."}
//   {"event":"unexpected","status":N,"body":"..."}  {"event":"error","message":"..."}
// Reads commands on stdin, one per line: "ping TEXT", "close", "bigframe" (a 64 KiB text
// frame, over the server's limit for client messages).
// usage: node tail_ws.js URL [BEARER_KEY] [PROTOCOL_KEY] [ORIGIN]
'use strict';
const WebSocket = require('ws');
const readline = require('readline');

const [url, bearer, protoKey, origin] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const headers = {};
if (bearer) headers.Authorization = 'Bearer ' + bearer;
const protocols = protoKey ? ['cloudlog', 'cloudlog-key.' + Buffer.from(protoKey).toString('base64url')] : undefined;
const opts = { headers };
if (origin) opts.origin = origin;

const ws = new WebSocket(url, protocols, opts);
ws.on('open', () => out({ event: 'open', protocol: ws.protocol }));
ws.on('message', (data, isBinary) => {
  const text = data.toString('utf8');
  let parsed;
  try { parsed = JSON.parse(text); } catch (e) { return out({ event: 'badframe', binary: isBinary, text }); }
  out({ event: 'frame', data: parsed });
});
ws.on('pong', (data) => out({ event: 'pong', data: data.toString('utf8') }));
ws.on('unexpected-response', (req, res) => {
  let body = '';
  res.on('data', (c) => { body += c; });
  res.on('end', () => { out({ event: 'unexpected', status: res.statusCode, body }); process.exit(0); });
});
ws.on('close', (code, reason) => { out({ event: 'close', code, reason: reason.toString('utf8') }); process.exit(0); });
ws.on('error', (e) => out({ event: 'error', message: String(e && e.message) }));

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.startsWith('ping ')) ws.ping(line.slice(5));
  else if (line === 'close') ws.close(1000, 'bye');
  else if (line === 'bigframe') ws.send('x'.repeat(65536));
});
// Bounded: the test ends it sooner; this is the backstop.
setTimeout(() => { out({ event: 'timeout' }); process.exit(3); }, 120000);
