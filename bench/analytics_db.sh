#!/usr/bin/env bash
# analytics_db.sh - instructions per count row of the analytics catalog's writer
# (cl_analytics_db_apply), by callgrind: a figure that does not move with the machine's
# load, for comparing two builds (docs/analytics.md "Cost inline: the catalog writer").
#
#   bench/analytics_db.sh [BUILD_DIR...]          (default build-release)
#
# For each build and each stream (random words, templated), runs bench_analytics_db under
# `valgrind --tool=callgrind --toggle-collect=cl_analytics_db_apply` and prints the rows
# written, the writer's instructions per record and per count row, and its top functions
# (inclusive share). Environment: RECORDS [200000]  DRAIN_EVERY [20000]  STEP_MS [10]
#   STREAMS ["words templated"]  TOP [12]  KEEP [""]: keep each profile as KEEP.STREAM
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${RECORDS:-200000}
DRAIN_EVERY=${DRAIN_EVERY:-20000}
STEP_MS=${STEP_MS:-10}
STREAMS=${STREAMS:-words templated}
TOP=${TOP:-12}
command -v valgrind > /dev/null || { echo "analytics_db.sh: valgrind is not installed" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT

for build in "${@:-build-release}"; do
    bin=$build/bench/bench_analytics_db
    [[ -x "$bin" ]] || { echo "analytics_db.sh: no $bin (cmake --build $build --target bench_analytics_db)" >&2; exit 1; }
    for stream in $STREAMS; do
        rm -f "$out"
        line=$(valgrind --tool=callgrind --callgrind-out-file="$out" \
            --toggle-collect=cl_analytics_db_apply \
            "$bin" "$stream" "$RECORDS" "$DRAIN_EVERY" "$STEP_MS" 2> /dev/null)
        total=$(callgrind_annotate "$out" 2> /dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
        [[ -n "${KEEP:-}" ]] && cp "$out" "$KEEP.$stream"
        rows=$(sed -n 's/.*count_rows=\([0-9]*\).*/\1/p' <<< "$line")
        echo "$build $stream: $line"
        awk -v t="$total" -v r="$RECORDS" -v c="$rows" 'BEGIN { printf "  writer instructions %.0f: %.0f per record, %.0f per count row\n", t, t / r, t / c }'
        callgrind_annotate --inclusive=yes "$out" 2> /dev/null |
            awk -v t="$total" -v top="$TOP" '/^ *[0-9,]+ .*:/ { n = $1; gsub(",", "", n);
                if (n + 0 > 0 && n + 0 < 0.9995 * t && shown < top) { sub(/^ *[0-9,]+ +(\([^)]*\) +)?/, ""); printf "  %5.1f%%  %s\n", 100 * n / t, $0; shown++ } }'
    done
done
