#!/bin/sh
# check_prometheus_rules.sh - `promtool check rules` on deploy/prometheus/alerts.yml.
# Skips (exit 77) without promtool, except under CI=true where that is a failure.
rules="$1"
if ! command -v promtool >/dev/null 2>&1; then
    echo "promtool not found (Debian package prometheus; scripts/setup.sh installs it)"
    if [ "$CI" = "true" ]; then
        exit 1
    fi
    echo "SKIP"
    exit 77
fi
exec promtool check rules "$rules"
