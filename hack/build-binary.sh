#!/usr/bin/env bash
# Builds one of the project's binaries as a static executable. The Makefile,
# the tests and the Dockerfiles all build through this script, so an image
# holds exactly what the tests ran.
#
#   hack/build-binary.sh catalog-manager bin/catalog-manager
set -euo pipefail

name=${1:?usage: hack/build-binary.sh <cmd name> <output path>}
out=${2:?usage: hack/build-binary.sh <cmd name> <output path>}
cd "$(dirname "$0")/.."
if [[ ! -d "cmd/$name" ]]; then
  echo "no cmd/$name; binaries: $(ls cmd | tr '\n' ' ')" >&2
  exit 1
fi
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out" "./cmd/$name"
