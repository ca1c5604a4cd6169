#!/usr/bin/env bash
# `make run` and `make serve` once the venv is installed: prepare the database, then run a Procfile's
# processes under scripts/supervise.py, which stops all of them when any one ends or on Ctrl-C/SIGTERM.
#   scripts/run.sh dev     migrate, demo data; Procfile.dev: the dev server + `celery -A orma worker --beat`
#   scripts/run.sh serve   migrate, collectstatic; Procfile: nginx (buffering proxy) + gunicorn (2 workers)
#                          + a worker + beat
# The web server (serve: the proxy) listens on 127.0.0.1:${PORT:-8000}; serve's gunicorn on 127.0.0.1:$ORMA_UPSTREAM_PORT
# (default PORT+1) behind it. nginx comes from Debian (apt-get install -y nginx-light); ORMA_PROXY=0 runs
# gunicorn alone on $PORT (slow clients can then starve its workers: issue 14, docs/operations.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export PYTHONUNBUFFERED=1  # output is relayed line by line; a buffered process would look silent
export PORT="${PORT:-8000}"

case "${1:-}" in
  dev)
    export DEBUG="${DEBUG:-1}"
    # Development: webhooks may go to loopback and http (the demo subscription's receiver is this server).
    export ORMA_WEBHOOK_ALLOW_PRIVATE="${ORMA_WEBHOOK_ALLOW_PRIVATE:-1}"
    python manage.py migrate --noinput
    python manage.py orma_seed_demo --base-url "http://127.0.0.1:${PORT}"
    exec python scripts/supervise.py Procfile.dev
    ;;
  serve)
    python manage.py migrate --noinput
    python manage.py collectstatic --noinput -v0
    if [ "${ORMA_PROXY:-1}" = "0" ]; then
      export ORMA_UPSTREAM_PORT="$PORT"
      exec python scripts/supervise.py <(grep -v '^proxy:' Procfile)
    fi
    if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
      echo "make serve puts nginx in front of gunicorn: apt-get install -y nginx-light (or ORMA_PROXY=0)" >&2
      exit 2
    fi
    export PATH="$PATH:/usr/sbin"
    export ORMA_UPSTREAM_PORT="${ORMA_UPSTREAM_PORT:-$((PORT + 1))}"
    # the proxy passes each client's address in X-Forwarded-For; it is believed from the proxy only
    export ORMA_TRUSTED_PROXIES="${ORMA_TRUSTED_PROXIES:-127.0.0.1}"
    export ORMA_NGINX_DIR="${ORMA_NGINX_DIR:-$PWD/var/nginx}"
    python scripts/proxy.py --port "$PORT" --upstream "127.0.0.1:${ORMA_UPSTREAM_PORT}" --run-dir "$ORMA_NGINX_DIR" >/dev/null
    exec python scripts/supervise.py Procfile
    ;;
  *)
    echo "usage: $0 dev|serve" >&2
    exit 2
    ;;
esac
