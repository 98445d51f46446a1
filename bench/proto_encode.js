// proto_encode.js - the request bodies of bench/proto_bench.py: the same seeded records
// encoded once per protocol, with the real client libraries the e2e tests use
// (tests/clients/node_modules, installed by scripts/setup.sh):
//   native       cloudlog NDJSON (the baseline)
//   otlp_pb      @opentelemetry/sdk-logs records -> otlp-transformer ProtobufLogsSerializer
//   otlp_json    the same records -> JsonLogsSerializer
//   loki_json    winston-loki's prepareJSONBatch (pino-style JSON lines)
//   loki_pb      winston-loki's logproto PushRequest, compressed with its snappy module
//   es_bulk      @elastic/elasticsearch's serializer.ndserialize (create actions)
//   hec          splunk-logging's event bodies, concatenated as its batching sends them
//   msgpack      @msgpack/msgpack, Fluent Bit's [[EventTime, metadata], record] shape
//   json_stream  JSON objects back to back (Fluent Bit's format json_stream)
//   syslog       RFC 5424 with structured data, RFC 6587 octet counting (one stream file)
// usage: node bench/proto_encode.js OUT_DIR BODIES RECORDS_PER_BODY
// Writes OUT_DIR/<protocol>/<NNNN> (one request body each; syslog: OUT_DIR/syslog/stream).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

const clients = createRequire(path.join(__dirname, '..', 'tests', 'clients', 'package.json'));
const [outDir, nBodies, perBody] = process.argv.slice(2);
const BODIES = Number(nBodies);
const PER = Number(perBody);
if (!outDir || !(BODIES > 0) || !(PER > 0)) {
  process.stderr.write('usage: node bench/proto_encode.js OUT_DIR BODIES RECORDS_PER_BODY\n');
  process.exit(2);
}

// ---- the records: a seeded generator, so every protocol gets the same ones ----
let seed = 1;
function rnd(n) { // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) % n;
}
const WORDS = ('request served user order payment cache miss retry upstream timeout ' +
  'connection pool worker queue flush commit index shard replica query').split(' ');
const LEVELS = ['info', 'info', 'info', 'info', 'info', 'info', 'warn', 'warn', 'error', 'debug'];
const NOW = Date.now() - 60000;

function record(i) {
  const words = [];
  for (let w = 5 + rnd(10); w > 0; w--) words.push(WORDS[rnd(WORDS.length)]);
  let trace = '';
  for (let h = 0; h < 32; h++) trace += '0123456789abcdef'[rnd(16)];
  return {
    ms: NOW + i, level: LEVELS[rnd(LEVELS.length)], service: 'svc-' + String(rnd(20)).padStart(2, '0'),
    message: words.join(' ') + ' #' + i, host: 'web-' + rnd(8), trace_id: trace,
    duration_ms: rnd(5000), bytes: rnd(1000000),
  };
}
const fields = (r) => ({ host: r.host, trace_id: r.trace_id, duration_ms: r.duration_ms, bytes: r.bytes });

// ---- encoders: one body from an array of records ----
function nativeBody(recs) {
  return recs.map((r) => JSON.stringify(Object.assign({
    timestamp: new Date(r.ms).toISOString(), level: r.level, service: r.service, message: r.message,
  }, fields(r))) + '\n').join('');
}

// The SDK hands records to the exporter in a promise callback: wait for them.
async function otlpRecords(recs) {
  const { LoggerProvider, SimpleLogRecordProcessor, InMemoryLogRecordExporter } =
    clients('@opentelemetry/sdk-logs');
  const { resourceFromAttributes } = clients('@opentelemetry/resources');
  const { SeverityNumber } = clients('@opentelemetry/api-logs');
  const sev = { debug: SeverityNumber.DEBUG, info: SeverityNumber.INFO, warn: SeverityNumber.WARN,
    error: SeverityNumber.ERROR };
  const exporter = new InMemoryLogRecordExporter();
  const loggers = {};
  for (const r of recs) {
    if (!loggers[r.service]) {
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ 'service.name': r.service }),
        processors: [new SimpleLogRecordProcessor({ exporter })],
      });
      loggers[r.service] = provider.getLogger('bench', '1.0.0');
    }
    loggers[r.service].emit({
      timestamp: new Date(r.ms), severityNumber: sev[r.level], severityText: r.level.toUpperCase(),
      body: r.message, attributes: fields(r),
    });
  }
  for (let i = 0; i < 100 && exporter.getFinishedLogRecords().length < recs.length; i++)
    await new Promise((resolve) => setImmediate(resolve));
  if (exporter.getFinishedLogRecords().length !== recs.length) throw new Error('OTLP records missing');
  return exporter.getFinishedLogRecords();
}

function lokiStreams(recs) {
  const streams = new Map();
  for (const r of recs) {
    const key = r.service + '\0' + r.level;
    if (!streams.has(key)) streams.set(key, { labels: { level: r.level, service_name: r.service }, entries: [] });
    streams.get(key).entries.push({ ts: r.ms, line: JSON.stringify(Object.assign({ msg: r.message }, fields(r))) });
  }
  return [...streams.values()];
}

function lokiPbBody(recs) {
  const { logproto } = clients('winston-loki/src/proto');
  const helpers = clients('winston-loki/src/proto/helpers');
  const snappy = clients('snappy');
  const batch = { streams: lokiStreams(recs).map((s) => helpers.createProtoTimestamps(s)) };
  const prepared = helpers.prepareProtoBatch(batch);
  const msg = logproto.PushRequest.create(prepared);
  return snappy.compressSync(logproto.PushRequest.encode(msg).finish());
}

function esBody(recs) {
  const { Client } = clients('@elastic/elasticsearch');
  const es = new Client({ node: 'http://127.0.0.1:9' }); // never connects: only its serializer
  const lines = [];
  for (const r of recs) {
    lines.push({ create: { _index: r.service } });
    lines.push(Object.assign({ '@timestamp': new Date(r.ms).toISOString(), level: r.level,
      message: r.message }, fields(r)));
  }
  return es.serializer.ndserialize(lines);
}

function hecBody(recs) {
  const SplunkLogger = clients('splunk-logging').Logger;
  const logger = new SplunkLogger({ token: 'bench', url: 'http://127.0.0.1:9' });
  logger.eventFormatter = (message) => message; // the event is the record object itself
  return recs.map((r) => JSON.stringify(logger._makeBody({
    message: Object.assign({ message: r.message, level: r.level, service: r.service,
      trace_id: r.trace_id, duration_ms: r.duration_ms, bytes: r.bytes }),
    metadata: { time: r.ms, host: r.host, source: 'bench', sourcetype: '_json' },
  }))).join('');
}

function msgpackBody(recs) {
  const { encode, ExtData } = clients('@msgpack/msgpack');
  return Buffer.concat(recs.map((r) => {
    const t = new Uint8Array(8);
    const v = new DataView(t.buffer);
    v.setUint32(0, Math.floor(r.ms / 1000));
    v.setUint32(4, (r.ms % 1000) * 1e6);
    return Buffer.from(encode([[new ExtData(0, t), {}], Object.assign({ service: r.service,
      level: r.level, message: r.message }, fields(r))]));
  }));
}

function jsonStreamBody(recs) {
  return recs.map((r) => JSON.stringify(Object.assign({ date: r.ms / 1000, service: r.service,
    level: r.level, message: r.message }, fields(r)))).join('');
}

function syslogBody(recs) {
  const pri = { debug: 7, info: 6, warn: 4, error: 3 };
  return Buffer.concat(recs.map((r) => {
    const m = Buffer.from('<' + (16 * 8 + pri[r.level]) + '>1 ' + new Date(r.ms).toISOString() +
      ' ' + r.host + ' ' + r.service + ' - - [f@32473 trace_id="' + r.trace_id +
      '" duration_ms="' + r.duration_ms + '" bytes="' + r.bytes + '"] ' + r.message);
    return Buffer.concat([Buffer.from(m.length + ' '), m]);
  }));
}

async function main() {
  const { ProtobufLogsSerializer, JsonLogsSerializer } = clients('@opentelemetry/otlp-transformer');
  const helpers = clients('winston-loki/src/proto/helpers');
  const encoders = {
    native: nativeBody,
    otlp_pb: async (recs) => Buffer.from(ProtobufLogsSerializer.serializeRequest(await otlpRecords(recs))),
    otlp_json: async (recs) => Buffer.from(JsonLogsSerializer.serializeRequest(await otlpRecords(recs))),
    loki_json: (recs) => JSON.stringify(helpers.prepareJSONBatch({ streams: lokiStreams(recs) })),
    loki_pb: lokiPbBody,
    es_bulk: esBody,
    hec: hecBody,
    msgpack: msgpackBody,
    json_stream: jsonStreamBody,
  };
  const syslog = [];
  for (let b = 0; b < BODIES; b++) {
    const recs = [];
    for (let i = 0; i < PER; i++) recs.push(record(b * PER + i));
    for (const [name, enc] of Object.entries(encoders)) {
      fs.mkdirSync(path.join(outDir, name), { recursive: true });
      fs.writeFileSync(path.join(outDir, name, String(b).padStart(4, '0')), await enc(recs));
    }
    syslog.push(syslogBody(recs));
  }
  fs.mkdirSync(path.join(outDir, 'syslog'), { recursive: true });
  fs.writeFileSync(path.join(outDir, 'syslog', 'stream'), Buffer.concat(syslog));
  process.stdout.write(JSON.stringify({ protocols: Object.keys(encoders).concat('syslog'),
    bodies: BODIES, records_per_body: PER }) + '\n');
}
main().catch((e) => {
  process.stderr.write(String(e.stack || e) + '\n');
  process.exit(1);
});
