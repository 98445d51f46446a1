// hec_send.js - sends events to cloudlog's Splunk HEC endpoints with the real
// splunk-logging client (tests/e2e/test_proto_hec.py): one batch of events, flushed as
// one request of concatenated JSON events (Authorization: Splunk <token>).
// usage: node hec_send.js BASE_URL TOKEN PATH [BIG_BYTES]
// Prints {"status": N, "body": <parsed answer>, "errors": [client error messages]}.
'use strict';
const SplunkLogger = require('splunk-logging').Logger;

const [baseUrl, token, path, big] = process.argv.slice(2);
const logger = new SplunkLogger({
  token: token || 'none',
  url: baseUrl,
  path,
  maxBatchCount: 0, // queue every event; flush() sends them as one request
  maxRetries: 0,
});
const errors = [];
logger.error = (err) => errors.push(String(err.message || err) + (err.code ? ' code=' + err.code : ''));

logger.send({
  message: 'hec hello',
  severity: 'warn',
  metadata: {
    time: new Date(Date.UTC(2026, 11, 6, 12, 40, 30, 123)),
    host: 'web-1', source: 'app.js', sourcetype: 'nodejs', index: 'main',
  },
});
logger.send({
  message: 'hec second',
  severity: 'error',
  metadata: { time: new Date(Date.UTC(2026, 11, 6, 12, 40, 31, 0)), host: 'web-2' },
});
if (big) {
  logger.send({ message: 'y'.repeat(Number(big)), metadata: { time: new Date() } });
}
logger.flush((err, resp, body) => {
  process.stdout.write(JSON.stringify({
    status: resp ? resp.statusCode : 0,
    body: body === undefined ? null : body,
    errors: err ? errors.concat([String(err)]) : errors,
  }) + '\n');
});
