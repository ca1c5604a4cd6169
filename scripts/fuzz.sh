#!/usr/bin/env bash
# `make fuzz`: Schemathesis against a live OrMa, authenticated as the demo partner (every scope),
# every check on, fixed seed, bounded examples per operation; any failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${FUZZ_PORT:-8765}"
BASE="http://127.0.0.1:${PORT}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-40}"
export DEBUG="${DEBUG:-1}"
# The fuzzer is one client sending thousands of requests, many deliberately unauthenticated.
export ORMA_PARTNER_RATE_LIMIT="1000000/minute"
export ORMA_AUTH_FAIL_LIMIT_ADDRESS=1000000
export ORMA_AUTH_FAIL_LIMIT_USERNAME=1000000

$PY manage.py migrate --noinput -v0
CREDENTIALS=$($PY manage.py orma_seed_demo --json)
USERNAME=$(echo "$CREDENTIALS" | $PY -c 'import json,sys; print(json.load(sys.stdin)["partner"]["username"])')
SECRET=$(echo "$CREDENTIALS" | $PY -c 'import json,sys; print(json.load(sys.stdin)["partner"]["secret"])')
SERVICE=$(echo "$CREDENTIALS" | $PY -c 'import json,sys; print(json.load(sys.stdin)["departments"]["service"])')

.venv/bin/gunicorn orma.wsgi:application --bind "127.0.0.1:${PORT}" --workers 2 --log-level warning &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  curl -fs "${BASE}/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

cat > var/schemathesis.toml <<TOML
[parameters]
"path.departmentUUID" = "${SERVICE}"
TOML

.venv/bin/schemathesis --no-color --config-file var/schemathesis.toml run "${BASE}/api/schema/" \
  --auth "${USERNAME}:${SECRET}" \
  --checks all \
  --seed 20261125 \
  --max-examples "${MAX_EXAMPLES}" \
  --workers 2 \
  --request-timeout 10
