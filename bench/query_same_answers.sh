#!/bin/bash
# query_same_answers.sh BASE_BIN NEW_BIN [STORE]: runs 47 `cloudlog query` filters (-i, --regex
# with and without a literal, --where, --level, time ranges cutting segments, ordered and
# unordered listings, LogQL |~) with both binaries and compares the md5 of stdout+stderr.
# The fixed times fit the /tmp/scanseg/store of docs/performance.md (2026-12-06/07 data).
A=$1; B=$2; S=${3:-/tmp/scanseg/store}; rc=0; n=0
while IFS= read -r q; do
  [ -z "$q" ] && continue
  a=$(eval "$A query --data $S $q" 2>&1 | md5sum); b=$(eval "$B query --data $S $q" 2>&1 | md5sum)
  n=$((n+1))
  if [ "$a" = "$b" ]; then echo "same  ${a:0:8} $q"; else echo "DIFF  $q"; rc=1; fi
done <<'Q'
--since 48h --count --grep contention
--since 48h --count
--since 48h --count --grep CONTENTION -i
--since 48h --count --grep CONTENTION -i --threads 1
--since 48h --count --grep 'Lock Acq' -i
--since 48h --count --grep 'x' -i
--since 48h --count --grep '"LEVEL":"ERROR"' -i
--since 48h --count --grep CONTENTION -i --level warn+
--since 48h --count --grep contention -i --level error
--from 2026-12-07T03:17:00Z --to 2026-12-07T09:41:30Z --count --grep CONTENTION -i
--from 2026-12-07T03:17:00.123Z --to 2026-12-07T09:41:30.456Z --count --regex 'lock (acquired|contention)'
--since 48h --count --regex 'lock (acquired|contention)'
--since 48h --count --regex 'lock (acquired|contention)' --threads 1
--since 48h --count --regex 'acquired|contention'
--since 48h --count --regex '^\{"timestamp":"2026-12-07T1[0-3]'
--since 48h --count --regex 'status":5\d\d\}$'
--since 48h --count --regex '"duration_ms":\d{4}\.\d+'
--since 48h --count --regex 'lock\s+contention'
--since 48h --count --regex '(?i)LOCK contention'
--since 48h --count --regex 'lo+ck con'
--since 48h --count --regex 'lock? contention'
--since 48h --count --regex 'ip-10-0-1[0-9]{2}-\d+\.ec2'
--since 48h --count --regex 'lock (acquired|contention)' --level error
--since 48h --count --regex 'lock (acquired|contention)' --grep checkout
--since 48h --count --regex 'lock (acquired|contention)' --grep CHECKOUT -i
--since 48h --count --regex 'contention' --grep lock -i
--since 48h --count --where service=checkout
--since 48h --count --where service=checkout --where level=error
--since 48h --count --where status=500 --grep lock
--since 48h --count --where service=checkout --regex 'lock (acquired|contention)'
--from 2026-12-07T03:17:00Z --to 2026-12-07T09:41:30Z --count --where service=checkout --level warn+
--service checkout --since 48h --grep contention -i --limit 5000
--service checkout --since 48h --regex 'lock (acquired|contention)' --limit 5000
--service checkout --since 48h --regex 'lock (acquired|contention)' --limit 50 --order oldest
--since 48h --regex 'lock (acquired|contention)' --limit 20
--since 48h --grep CONTENTION -i --limit 20 --order oldest
--service checkout --from 2026-12-07T03:17:00Z --to 2026-12-07T05:41:30Z --regex 'lock (acq|cont)' --unordered --limit 0
--service checkout --from 2026-12-07T03:17:00Z --to 2026-12-07T05:41:30Z --grep LOCK -i --unordered --limit 0
--service checkout --since 48h --where level=error --regex 'lock' --limit 0 --format csv
--service 'pay*' --since 48h --grep 'LOCK' -i --format text --limit 300
--since 48h --count --regex '('
--since 48h --count --regex 'a(?=b)lock'
--since 48h --count --regex '\Qlock (\E'
--since 48h --count --regex 'lock \(acquired'
--since 48h --count --grep contention --regex 'lock [ac]'
--since 48h --count --logql '{service="checkout"} |~ "lock (acquired|contention)"'
--since 48h --count --logql '{service=~".+"} |~ "(?i)lock contention"'
Q
echo "$n queries"; exit $rc
