#!/usr/bin/env bash
# Checks that generated files are current, code is gofmt'ed, go.mod is tidy
# and go vet is clean. Generated files are compared before and after a
# regeneration, so the check works on uncommitted work as well as in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

generated() {
  { find api manifests charts/service-catalog/crds -type f \( -name 'zz_generated*.go' -o -name '*.yaml' \); echo docs/api-reference.md; } | sort | xargs sha256sum
}

before=$(generated)
make --no-print-directory -s generate manifests >/dev/null
after=$(generated)
if [[ "$before" != "$after" ]]; then
  echo "generated files were stale and have now been regenerated; review and commit them:" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  exit 1
fi

unformatted=$(gofmt -l $(git ls-files '*.go' ; git ls-files --others --exclude-standard '*.go') 2>/dev/null || true)
if [[ -n "$unformatted" ]]; then
  echo "these files need gofmt -w:" >&2
  echo "$unformatted" >&2
  exit 1
fi

if ! go mod tidy -diff >/dev/null; then
  echo "go.mod or go.sum is not tidy; run: go mod tidy" >&2
  exit 1
fi

go vet ./...
echo "verify: generated files current, gofmt clean, go.mod tidy, go vet clean"
