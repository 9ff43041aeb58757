#!/usr/bin/env bash
# Run one of GovStack's cucumber-js compliance suites (a checkout of a BB's `test/openAPI` folder) against our service.
#
#   deploy/conformance/run_harness.sh registration|messaging|identity|gateway <folder> [cucumber-js args...]
#
# Starts `python -m <service> api` with FIXTURES=conformance on fresh state, on the port the suite's helpers.js
# hard-codes (so GovStack's files stay untouched), runs `npx cucumber-js` there and prints its summary.
# Fresh state: a new SQLite file in a temporary DATA_DIR, or, when DATABASE_URL is set, `python -m <service> reset`
# on that database (it drops every table of it). The consent suite is Python behave over https: see
# docs/conformance/consent.md.
set -euo pipefail

service=${1:?"usage: $0 registration|messaging|identity|gateway <harness folder> [cucumber-js args...]"}
folder=$(cd "${2:?missing the harness folder (test/openAPI of a BB)}" && pwd)
shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
python="$root/.venv/bin/python"

helpers=$(find "$folder/features" -path '*helpers/helpers.js' | head -n 1)
port=$(grep -oE "localhost:[0-9]+" "$helpers" | head -n 1 | cut -d: -f2)
[ -n "$port" ] || { echo "no http://localhost:<port>/ base URL found in $helpers" >&2; exit 2; }

data_dir=$(mktemp -d)
log="$data_dir/$service.log"
export FIXTURES=conformance PORT="$port" HOST=127.0.0.1 DATA_DIR="$data_dir" PUBLIC_URL="http://localhost:$port"
[ -n "${DATABASE_URL:-}" ] && (cd "$root" && "$python" -m "$service" reset >>"$log" 2>&1)

(cd "$root" && exec "$python" -m "$service" api >>"$log" 2>&1) &
api=$!
trap 'kill "$api" 2>/dev/null; wait "$api" 2>/dev/null || true' EXIT

for _ in $(seq 120); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/health/live" && break
    kill -0 "$api" 2>/dev/null || { echo "$service did not start; its log:" >&2; cat "$log" >&2; exit 1; }
    sleep 1
done
echo "$service (FIXTURES=conformance) listening on port $port; log: $log"

cd "$folder"
[ -d node_modules ] || npm install --no-audit --no-fund
npx cucumber-js --publish-quiet --format progress "$@"  # ends with the summary: "N scenarios (... passed)"
