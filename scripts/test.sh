#!/usr/bin/env bash
# `npm test`: installs what the tests need, checks the layering, runs every package's tests
# through turbo, and closes with one summary line over all packages.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node tools/layers/check.mjs
find packages tools tests bench examples -maxdepth 2 -name .vitest-results.json -delete 2>/dev/null || true
status=0
npx turbo run test --concurrency=2 --continue "$@" || status=$?
node scripts/test-summary.mjs || status=$?
exit $status
