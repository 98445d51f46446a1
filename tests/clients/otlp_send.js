// otlp_send.js - sends log records to cloudlog with the real OpenTelemetry JS SDK and its
// OTLP/HTTP exporters (tests/e2e/test_proto_otlp.py).
// usage: node otlp_send.js URL KEY json|proto gzip|none [BIG_BYTES]
// Prints {"results": [export results], "warnings": [diag warnings]} as JSON.
'use strict';
const api = require('@opentelemetry/api');
const { SeverityNumber } = require('@opentelemetry/api-logs');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const [url, key, encoding, compression, big] = process.argv.slice(2);
const { OTLPLogExporter } = require(encoding === 'proto'
  ? '@opentelemetry/exporter-logs-otlp-proto'
  : '@opentelemetry/exporter-logs-otlp-http');

const warnings = [];
const note = (...a) => warnings.push(a.map(String).join(' '));
api.diag.setLogger({ error: note, warn: note, info() {}, debug() {}, verbose() {} },
  api.DiagLogLevel.WARN);

const exporter = new OTLPLogExporter({
  url,
  headers: key ? { Authorization: 'Bearer ' + key } : {},
  compression,
  timeoutMillis: 10000,
});
const results = [];
const exportOrig = exporter.export.bind(exporter);
exporter.export = (logs, done) => exportOrig(logs, (r) => {
  results.push({ code: r.code, error: r.error ? String(r.error.message || r.error) : null });
  done(r);
});

const provider = new LoggerProvider({
  resource: resourceFromAttributes({
    'service.name': 'checkout-api',
    'deployment.environment': 'e2e',
  }),
  processors: [new BatchLogRecordProcessor({ exporter, maxExportBatchSize: 100 })],
});
const logger = provider.getLogger('e2e-scope', '1.2.3');
const span = api.trace.setSpanContext(api.context.active(), {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: 1,
});

logger.emit({
  timestamp: new Date(Date.UTC(2026, 11, 6, 10, 20, 30, 123)),
  severityNumber: SeverityNumber.INFO,
  severityText: 'INFO',
  body: 'hello from otlp',
  attributes: { user_id: 42, 'http.method': 'GET', ok: true, ratio: 0.5, tags: ['a', 'b'] },
  context: span,
});
logger.emit({
  timestamp: new Date(Date.UTC(2026, 11, 6, 10, 20, 31, 0)),
  severityNumber: SeverityNumber.ERROR2,
  body: { message: 'map body', code: 500, nested: { deep: [1, 2] } },
});
logger.emit({
  timestamp: new Date(Date.UTC(2026, 11, 6, 10, 20, 32, 0)),
  severityText: 'warning',
  body: 'text severity only',
});
if (big) {
  logger.emit({
    timestamp: new Date(Date.UTC(2026, 11, 6, 10, 20, 33, 0)),
    severityNumber: SeverityNumber.INFO,
    body: 'x'.repeat(Number(big)),
  });
}

provider.forceFlush()
  .then(() => provider.shutdown())
  .then(() => process.stdout.write(JSON.stringify({ results, warnings }) + '\n'))
  .catch((e) => {
    process.stdout.write(JSON.stringify({ results, warnings, failure: String(e) }) + '\n');
  });
