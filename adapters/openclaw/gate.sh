#!/usr/bin/env bash
# A bounded, reproducible gate run of the REAL openclaw session store (for CI and reports).
#
#   bash adapters/openclaw/gate.sh [OUT]      # OUT defaults to reports/openclaw-2026.3.11/gate
#
# Environment:
#   STORE_HARNESS   the store-harness binary (default .venv/bin/store-harness, relative to the
#                   project root)
#   GATE_TIMEOUT    seconds before the whole gate is killed (default 2400: about 5 min on an
#                   idle 2-core machine, and three times that was seen on a loaded one)
#   GATE_SCENARIOS  scenarios, space-separated (default: corrupt-entry)
#
# Exit status:
#   0  the gate ran to a verdict: it PASSED or FAILED (gate exit 0 or 1). The real store is
#      expected to FAIL; the verdict line is printed and OUT/ holds gate.json, junit.xml,
#      gate-summary.md and the replays.
#   1  install.sh failed (e.g. the npm registry is unreachable): its message is printed.
#   2  the gate could not run (usage error, pre-flight failure, a traceback, timeout, ...):
#      anything but gate exit 0/1 with its "gate PASSED/FAILED" line and OUT/gate.json.
#
# Fixed on purpose (same options, same fault points): --seed 0 (the gate's default),
# --max-points 1, -j 1, layout legacy, profile upstream, scenarios below.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

# corrupt-entry: 5 configurations (zero-byte, truncated, garbage, non-object, non-UTF-8
# sessions.json) under kills; about 6 min here. update.kill adds about 4 min (writers wait
# out 10 s lock timeouts), which would take the run past 10 min: GATE_SCENARIOS="update.kill
# corrupt-entry" runs both.
read -r -a SCENARIOS <<< "${GATE_SCENARIOS:-corrupt-entry}"
out="${1:-reports/openclaw-2026.3.11/gate}"
harness="${STORE_HARNESS:-.venv/bin/store-harness}"
gate_timeout="${GATE_TIMEOUT:-2400}"
started=$SECONDS

if ! bash "$here/install.sh"; then
  echo "gate.sh: error: install.sh failed (see its message above); the gate did not run" >&2
  exit 1
fi
if [[ ! -x "$harness" ]] && ! command -v "$harness" >/dev/null 2>&1; then
  echo "gate.sh: error: store-harness not found at '$harness' (set STORE_HARNESS)" >&2
  exit 2
fi

store_cmd="node $here/adapter.mjs --store-path {store_path} --layout {layout} --profile {profile}"
scenario_args=()
for s in "${SCENARIOS[@]}"; do scenario_args+=(-s "$s"); done

mkdir -p "$out"
rm -f "$out/gate.json" # a verdict left by an earlier run must not count for this one
log="$out/gate.log"
echo "gate.sh: ${SCENARIOS[*]} against openclaw $(node -p 'require(process.argv[1]).version' "$here/node_modules/openclaw/package.json"), --max-points 1 -j 1, out $out"
timeout --kill-after=30 "$gate_timeout" "$harness" gate \
  --store-cmd "$store_cmd" \
  --layout legacy --profile upstream \
  "${scenario_args[@]}" \
  --max-points 1 -j 1 --seed 0 \
  --out "$out" -v 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
elapsed=$((SECONDS - started))

# The gate's verdict line: "gate PASSED: ..." / "gate FAILED: ...". Exit 1 without one (a
# Python traceback also exits 1) means the harness broke, not that it judged.
verdict="$(grep -E '^gate (PASSED|FAILED)' "$log" | tail -n 1)"
if [[ ( "$status" == 0 || "$status" == 1 ) && ( -z "$verdict" || ! -f "$out/gate.json" ) ]]; then
  echo "gate.sh: error: the gate exited $status without a verdict line or $out/gate.json (${elapsed} s); last line: $(grep -v '^[[:space:]]*$' "$log" | tail -n 1)" >&2
  exit 2
fi
[[ -n "$verdict" ]] || verdict="$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)"

case "$status" in
  0|1)
    echo "gate.sh: verdict (gate exit $status, ${elapsed} s): $verdict"
    grep -E '^upstream \(held to' "$log" | tail -n 1 | sed 's/^/gate.sh: /'
    exit 0
    ;;
  124|137)
    echo "gate.sh: error: the gate did not finish within ${gate_timeout} s (killed); no verdict" >&2
    exit 2
    ;;
  *)
    echo "gate.sh: error: the gate could not run (exit $status, ${elapsed} s): $verdict" >&2
    exit 2
    ;;
esac
