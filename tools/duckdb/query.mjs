#!/usr/bin/env node
// query.mjs - runs SQL with DuckDB over a cloudlog store, as a user of the store would.
//
// Usage: node tools/duckdb/query.mjs DIR SQL
//
// DIR is the store root (DATA/logs: DIR/service=S/dt=YYYY-MM-DD/hour=HH/ID.ndjson.gz).
// Before SQL runs, a view `logs` is defined over every published object:
//
//   CREATE VIEW logs AS SELECT * FROM read_json('DIR/*/*/*/*.ndjson.gz',
//       format = 'newline_delimited', hive_partitioning = true)
//
// so the Hive path columns service, dt and hour come with the records' own fields (the
// records' own "service" and the path's are the same value by construction). In SQL,
// {{store}} is replaced by the same glob as a quoted string literal, for read_json calls
// with other options. With no object in DIR yet, `logs` is not defined (DuckDB cannot
// infer a schema from no file) and a query using it fails with that reason. The glob is exactly three directories deep, so nothing under
// _staging/ and no .tmp file is read.
//
// Prints each result row as one JSON object per line, columns in result order:
// booleans, strings and numbers as JSON values (a BIGINT/HUGEINT outside JavaScript's
// safe integer range as a string), structs as objects, lists as arrays, maps as
// objects keyed by the key's text, and every other type (DATE, TIMESTAMP, DECIMAL,
// INTERVAL, UUID, BLOB...) as DuckDB's own text for the value, e.g. "2026-01-01" or
// "2026-01-01 00:00:00.123". Exit status: 0 on success, 1 on a DuckDB error, 2 on usage.

import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

function usage(msg) {
  if (msg) process.stderr.write(`query.mjs: ${msg}\n`);
  process.stderr.write('usage: node query.mjs DIR SQL\n');
  process.exit(2);
}

function sqlString(s) {
  return "'" + s.replaceAll("'", "''") + "'";
}

function toJson(v) {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'bigint':
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(v) : v.toString();
    default:
      break;
  }
  const name = v.constructor && v.constructor.name;
  if (name === 'DuckDBStructValue') {
    const o = {};
    for (const [k, x] of Object.entries(v.entries)) o[k] = toJson(x);
    return o;
  }
  if (name === 'DuckDBListValue' || name === 'DuckDBArrayValue') return v.items.map(toJson);
  if (name === 'DuckDBMapValue') {
    const o = {};
    for (const e of v.entries) o[String(toJson(e.key))] = toJson(e.value);
    return o;
  }
  if (name === 'DuckDBUnionValue') return toJson(v.value);
  return v.toString();
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length !== 2) usage(args.length < 2 ? 'DIR and SQL are required' : 'too many arguments');
  const [dirArg, sqlArg] = args;
  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) usage(`${dirArg} is not a directory`);
  const glob = `${dir}/*/*/*/*.ndjson.gz`;
  const store = sqlString(glob);

  // Local files only: never install or fetch an extension (json is built in).
  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const conn = await instance.connect();
  try {
    // Binding the view reads the files' schema; with no object yet it fails, and only a
    // query that uses `logs` should fail then (with this reason).
    let viewError = null;
    try {
      await conn.run(`CREATE VIEW logs AS SELECT * FROM read_json(${store}, ` +
                     `format = 'newline_delimited', hive_partitioning = true)`);
    } catch (e) {
      viewError = e;
    }
    let reader;
    try {
      reader = await conn.runAndReadAll(sqlArg.replaceAll('{{store}}', store));
    } catch (e) {
      if (viewError) e.message += `\n(view logs over ${glob} not defined: ${viewError.message})`;
      throw e;
    }
    const names = reader.columnNames();
    const out = [];
    for (const row of reader.getRows()) {
      const o = {};
      names.forEach((n, i) => { o[n] = toJson(row[i]); });
      out.push(JSON.stringify(o));
    }
    if (out.length) process.stdout.write(out.join('\n') + '\n');
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

main().catch((e) => {
  process.stderr.write(`query.mjs: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
