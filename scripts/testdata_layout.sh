#!/usr/bin/env bash
# Lays out third-party test suites, checked out from their public upstreams, the way
# CL_TESTDATA_DIR expects them (GitHub CI: .github/workflows/ci.yml checks out each at a
# pinned commit, then runs this). Data only; nothing is built from these repositories.
#   scripts/testdata_layout.sh UPSTREAM_DIR TESTDATA_DIR
# UPSTREAM_DIR holds JSONTestSuite/ (nst/JSONTestSuite) and botocore/ (boto/botocore).
# Result (what tests/unit/test_core_json.c and test_aws_sigv4.c read):
#   TESTDATA_DIR/jsontestsuite/test_parsing/*.json, LICENSE
#   TESTDATA_DIR/sigv4/aws4_testsuite/<case>/<case>.{req,creq,sts,authz,sreq}, LICENSE, NOTICE
# Not laid out (they exist only in the project's shared/testdata): sigv4/s3 (our S3 signing
# cases) and loghub-2k; their tests skip with a message on GitHub.
set -euo pipefail
up="$1" out="$2"
json="$up/JSONTestSuite" sig="$up/botocore/tests/unit/auth/aws4_testsuite"
for d in "$json/test_parsing" "$sig"; do
  [ -d "$d" ] || { echo "testdata_layout: missing $d" >&2; exit 1; }
done
mkdir -p "$out/jsontestsuite" "$out/sigv4"
rm -rf "$out/jsontestsuite/test_parsing" "$out/sigv4/aws4_testsuite"
cp -R "$json/test_parsing" "$out/jsontestsuite/test_parsing"
cp "$json/LICENSE" "$out/jsontestsuite/LICENSE"
cp -R "$sig" "$out/sigv4/aws4_testsuite"
echo "testdata_layout: $(ls "$out/jsontestsuite/test_parsing" | wc -l) JSONTestSuite files," \
  "$(find "$out/sigv4/aws4_testsuite" -name '*.req' | wc -l) SigV4 cases in $out"
