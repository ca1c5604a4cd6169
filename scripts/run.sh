#!/usr/bin/env bash
# `make run` and `make serve` once the venv is installed: prepare the database, then run a Procfile's
# processes under scripts/supervise.py, which stops all of them when any one ends or on Ctrl-C/SIGTERM.
#   scripts/run.sh dev     migrate, demo data; Procfile.dev: the dev server + `celery -A orma worker --beat`
#   scripts/run.sh serve   migrate, collectstatic; Procfile: gunicorn (2 workers) + a worker + beat
# The web server listens on 127.0.0.1:${PORT:-8000}.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export PYTHONUNBUFFERED=1  # output is relayed line by line; a buffered process would look silent
export PORT="${PORT:-8000}"

case "${1:-}" in
  dev)
    export DEBUG="${DEBUG:-1}"
    python manage.py migrate --noinput
    python manage.py orma_seed_demo --base-url "http://127.0.0.1:${PORT}"
    exec python scripts/supervise.py Procfile.dev
    ;;
  serve)
    python manage.py migrate --noinput
    python manage.py collectstatic --noinput -v0
    exec python scripts/supervise.py Procfile
    ;;
  *)
    echo "usage: $0 dev|serve" >&2
    exit 2
    ;;
esac
