// loki_send.js - logs through pino with the real pino-loki transport into cloudlog's Loki
// push API (tests/e2e/test_proto_loki.py): one batch, pushed as JSON when the stream closes.
// usage: node loki_send.js BASE_URL KEY [BIG_BYTES]
// Prints {"errors": [what pino-loki reported]}.
'use strict';
const pino = require('pino');
const { pinoLoki } = require('pino-loki');

const [host, key, big] = process.argv.slice(2);
const errors = [];
console.error = (...a) => errors.push(a.map(String).join(' '));

const stream = pinoLoki({
  host,
  basicAuth: { username: 'pino', password: key },
  labels: { app: 'pino-app', env: 'e2e' },
  batching: { interval: 60 }, // flushed by close() below, as one push
  structuredMetaKey: 'meta',
});
const logger = pino({ base: { hostname: 'web-1' } }, stream);
logger.warn({ user: 'ann', meta: { trace_id: 'abc123' } }, 'loki first');
logger.error({ code: 7 }, 'loki second');
if (big) logger.info('q'.repeat(Number(big)));
// pino writes asynchronously; closing the stream flushes pino-loki's batch.
setTimeout(() => {
  stream.on('close', () => process.stdout.write(JSON.stringify({ errors }) + '\n'));
  stream.end();
}, 200);
