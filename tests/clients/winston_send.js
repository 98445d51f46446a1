// winston_send.js - logs through winston with the real winston-loki transport into
// cloudlog's Loki push API (tests/e2e/test_proto_loki.py): its default encoding,
// snappy-compressed protobuf, one batch sent by flush().
// usage: node winston_send.js BASE_URL KEY [BIG_BYTES]
// Prints {"errors": [what winston-loki reported]}.
'use strict';
const winston = require('winston');
const LokiTransport = require('winston-loki');

const [host, key, big] = process.argv.slice(2);
const errors = [];
console.error = (...a) => errors.push(a.map(String).join(' '));

const transport = new LokiTransport({
  host,
  basicAuth: 'winston:' + key,
  labels: { app: 'winston-app', env: 'e2e' },
  json: false, // protobuf + snappy, the transport's default
  interval: 1, // seconds: the batch (all three entries) is sent by the first tick
  timeout: 10000,
  onConnectionError: (e) => errors.push(String(e.message || e)),
});
const logger = winston.createLogger({ transports: [transport] });
logger.warn('winston first', { user: 'bob' });
logger.error('winston second');
if (big) logger.info('w'.repeat(Number(big)));

transport.flush()
  .catch((e) => errors.push(String(e.message || e)))
  .then(() => {
    process.stdout.write(JSON.stringify({ errors }) + '\n');
    process.exit(0);
  });
