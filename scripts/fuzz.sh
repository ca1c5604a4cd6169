#!/usr/bin/env bash
# `make fuzz`: Schemathesis against a live OrMa, authenticated as the demo partner (every scope),
# every check on (the config's default: a --checks on the command line would override the one phase-scoped
# exception below), fixed seed, bounded examples per operation; any failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${FUZZ_PORT:-8765}"
BASE="http://127.0.0.1:${PORT}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-30}"
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
PARTS_STORE=$(echo "$CREDENTIALS" | $PY -c 'import json,sys; print(json.load(sys.stdin)["departments"]["parts"])')
DEALER=$(echo "$CREDENTIALS" | $PY -c 'import json,sys; print(json.load(sys.stdin)["dealerUUID"])')

.venv/bin/gunicorn orma.wsgi:application --bind "127.0.0.1:${PORT}" --workers 2 --log-level warning &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  curl -fs "${BASE}/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

# Real objects for the path parameters, so operations reach their logic instead of answering 404:
# the demo customer and vehicle, and an order created with the curl `make run` prints.
PY_JSON='import json,sys; d=json.load(sys.stdin)'
CUSTOMER=$(echo "$CREDENTIALS" | $PY -c "$PY_JSON; print(d['customers'][0])")
CREATE=$($PY manage.py orma_seed_demo --base-url "$BASE" | grep -- "-X PUT" | sed 's/^ *curl -s /curl -s -f /')
ORDER=$(eval "$CREATE" | $PY -c "$PY_JSON; print(d['orderUUID'])")
VEHICLE=$(curl -s -f -u "${USERNAME}:${SECRET}" "${BASE}/order/v2/department/${SERVICE}/vehicle?vin=WVWZZZCDZMW000101" \
  | $PY -c "$PY_JSON; print(d['results'][0]['vehicleUUID'])")

PART=$(echo "$CREDENTIALS" | $PY -c "$PY_JSON; print(d['parts'][0])")
PARTS_ORDER=$(curl -s -f -u "${USERNAME}:${SECRET}" -H 'Content-Type: application/json' \
  "${BASE}/parts-api/${DEALER}/${PARTS_STORE}/v1/parts-orders" \
  -d "{\"customerId\": \"${CUSTOMER}\", \"orderType\": \"STK\", \"parts\": [{\"part\": {\"partId\": \"${PART}\"}, \"quantity\": 1}]}" \
  | $PY -c "$PY_JSON; print(d['partsOrderId'])")

cat > var/schemathesis.toml <<TOML
[parameters]
"path.departmentUUID" = "${SERVICE}"
"path.orderUUID" = "${ORDER}"
"path.customerUUID" = "${CUSTOMER}"
"path.vehicleUUID" = "${VEHICLE}"
"path.enterpriseId" = "${DEALER}"
"path.storeId" = "${PARTS_STORE}"
"path.partId" = "${PART}"
"path.partsOrderId" = "${PARTS_ORDER}"

# A request can match the schema and still break a rule JSON Schema cannot state: a reference to a
# customer, vehicle or package that does not exist in this dealer, "familyName or companyName",
# "advisorNumber or assignedUserUuid", the ±30-day rule, a closed order. DESIGN answers those with
# 400/409/412, so they count as accepted handling here; 5xx never does.
[checks.positive_data_acceptance]
# 422: schemathesis repeats a documented Idempotency-Key with other bodies, which DESIGN §9 answers 422.
# 304: a read with If-None-Match naming the current ETag (or *) is answered Not Modified, as documented.
expected-statuses = ["2xx", "304", "400", "401", "403", "404", "409", "412", "422", "429"]

# A false positive of the pinned path parameters above (schemathesis#2913 family), seen in the coverage
# phase: a case that negates storeId gets the pinned, valid store back, and the 200 it receives is counted
# as "invalid data accepted" (the request it prints has a valid storeId). Only that check, only there: the
# fuzzing phase keeps it for every operation, and a malformed or foreign store is refused in parts/tests.
[phases.coverage.checks]
negative_data_rejection.enabled = false
TOML

.venv/bin/schemathesis --no-color --config-file var/schemathesis.toml run "${BASE}/api/schema/" \
  --auth "${USERNAME}:${SECRET}" \
  --seed 20261125 \
  --max-examples "${MAX_EXAMPLES}" \
  --workers 1 \
  --request-timeout 10
