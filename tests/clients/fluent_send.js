// fluent_send.js - posts Fluent Bit http-output bodies to cloudlog, as Fluent Bit's
// out_http sends them (tests/e2e/test_proto_fluent.py): `format msgpack` events encoded
// with @msgpack/msgpack in both event shapes, [time, record] and [[time, metadata],
// record], time as the EventTime extension (type 0), an integer or a float; or
// `format json_stream`, the records as JSON objects back to back with the time under
// "date" (epoch seconds, a double).
// usage: node fluent_send.js URL KEY msgpack|json_stream [BIG_BYTES]
// Prints {"status": N, "body": "..."} as JSON.
'use strict';
const { encode, ExtData } = require('@msgpack/msgpack');
const zlib = require('node:zlib');

const [url, key, format, big] = process.argv.slice(2);

// Fluent Bit's EventTime: ext type 0, seconds and nanoseconds as big-endian uint32.
function eventTime(sec, nsec) {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, sec);
  v.setUint32(4, nsec);
  return new ExtData(0, b);
}

const events = [
  [eventTime(1796560830, 123456789), {
    log: 'fluent tail line', stream: 'stdout', level: 'warn',
    kubernetes: { pod_name: 'web-1', labels: { app: 'web' } },
  }],
  [[eventTime(1796560831, 0), { source: 'meta' }], { message: 'v2 shape', service: 'fb-svc', n: 7 }],
  [1796560832, { log: 'integer time' }],
  [1796560833.25, { log: 'float time', ok: true }],
];
if (big) {
  events.push([eventTime(1796560834, 0), { log: 'x'.repeat(Number(big)) }]);
}

function body() {
  if (format === 'msgpack') {
    return Buffer.concat(events.map((e) => Buffer.from(encode(e))));
  }
  // json_stream: {"date":<seconds>,...record} objects with nothing between them.
  return Buffer.from(events.map(([t, rec]) => {
    const time = Array.isArray(t) ? t[0] : t;
    let sec = time;
    if (time instanceof ExtData) {
      const v = new DataView(time.data.buffer);
      sec = v.getUint32(0) + v.getUint32(4) / 1e9;
    }
    return JSON.stringify(Object.assign({ date: sec }, rec));
  }).join(''));
}

async function main() {
  const headers = {
    'Content-Type': format === 'msgpack' ? 'application/msgpack' : 'application/json',
    'Content-Encoding': 'gzip',
    'X-Cloudlog-Service': 'fluent-bit',
  };
  if (key) headers.Authorization = 'Bearer ' + key;
  const res = await fetch(url, { method: 'POST', headers, body: zlib.gzipSync(body()) });
  process.stdout.write(JSON.stringify({ status: res.status, body: await res.text() }) + '\n');
}
main().catch((e) => {
  process.stdout.write(JSON.stringify({ status: 0, body: String(e) }) + '\n');
});
