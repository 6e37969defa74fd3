#!/usr/bin/env bash
# Regenerates the docs that are generated from the code: docs/configuration.md (from the config schemas).
# The test suite fails when a generated doc and the code differ; run this after changing a schema.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --build packages/testlab
node packages/testlab/dist/src/docs/write-config-doc.js
