// check_lezer.mjs - every line of queries.txt (ok and unsupported alike: both are valid
// LogQL) parses with Grafana's own grammar (@grafana/lezer-logql) without an error node.
// Usage: node check_lezer.mjs queries.txt. Exit 0 when all parse, 1 otherwise.
import { readFileSync } from 'node:fs';
import { parser } from '@grafana/lezer-logql';

const file = process.argv[2];
const lines = readFileSync(file, 'utf8').split('\n');
let failures = 0;
let checked = 0;
for (const [i, line] of lines.entries()) {
  if (line === '' || line.startsWith('#')) continue;
  const tab = line.indexOf('\t');
  const query = line.slice(tab + 1);
  const tree = parser.parse(query);
  let errorAt = -1;
  tree.iterate({
    enter: (node) => {
      if (node.type.isError && errorAt < 0) errorAt = node.from;
    },
  });
  checked++;
  if (errorAt >= 0) {
    failures++;
    console.log(`${file}:${i + 1}: lezer-logql error at offset ${errorAt}: ${query}`);
  }
}
console.log(`${checked} queries, ${failures} with a lezer-logql error`);
process.exit(failures === 0 && checked > 0 ? 0 : 1);
