// es_send.js - indexes documents into cloudlog's Elasticsearch-compatible _bulk with the
// real clients' helpers.bulk (tests/e2e/test_proto_es.py): @elastic/elasticsearch
// (auth: ApiKey) or @opensearch-project/opensearch (auth: Basic, the key as password).
// usage: node es_send.js elastic|opensearch NODE_URL KEY [BIG_BYTES]
// Prints {"stats": helpers.bulk's result, "dropped": [{status, error}], "info": GET /}.
'use strict';
const [flavour, node, key, big] = process.argv.slice(2);

function client() {
  if (flavour === 'elastic') {
    const { Client } = require('@elastic/elasticsearch');
    return new Client({ node, auth: { apiKey: key }, maxRetries: 0 });
  }
  const { Client } = require('@opensearch-project/opensearch');
  return new Client({ node, auth: { username: 'shipper', password: key }, maxRetries: 0 });
}

const docs = [
  { '@timestamp': '2026-12-06T12:40:30.123Z', message: 'es one', level: 'warn',
    host: { name: 'h1' }, tags: ['a', 'b'] },
  { '@timestamp': '2026-12-06T12:40:31.000Z', message: 'es two', service: 'own-svc', n: 2 },
];
if (big) docs.push({ message: 'z'.repeat(Number(big)) });

async function main() {
  const c = client();
  const out = { dropped: [] };
  try {
    const info = await c.info();
    out.info = info.body !== undefined ? info.body : info;
  } catch (e) {
    out.info = { error: String(e.message || e) };
  }
  try {
    out.stats = await c.helpers.bulk({
      datasource: docs,
      onDocument() { return { create: { _index: 'web-app' } }; },
      onDrop(d) { out.dropped.push({ status: d.status, error: d.error }); },
      retries: 0,
      refreshOnCompletion: false,
    });
  } catch (e) {
    out.error = String(e.message || e);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
main();
