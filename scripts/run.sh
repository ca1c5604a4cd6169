#!/usr/bin/env bash
# `make run` and `make serve` once the venv is installed: prepare the database, then run a Procfile under
# honcho, which starts every process in a session of its own, passes Ctrl-C/SIGTERM on to each, stops all
# of them (by process group, SIGKILL after 5 s) when any one exits, and exits with that one's code.
#   scripts/run.sh dev     migrate, demo data, Procfile.dev: dev server + `celery -A orma worker --beat`
#   scripts/run.sh serve   migrate, collectstatic, Procfile: gunicorn (2 workers) + a worker + beat
# Both listen on 127.0.0.1:${PORT:-8000}; honcho gives the first process PORT (the others get PORT+100...).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export PYTHONUNBUFFERED=1  # honcho relays output line by line; a buffered process would look silent
export PORT="${PORT:-8000}"

case "${1:-}" in
  dev)
    export DEBUG="${DEBUG:-1}"
    python manage.py migrate --noinput
    python manage.py orma_seed_demo --base-url "http://127.0.0.1:${PORT}"
    exec honcho start --procfile Procfile.dev
    ;;
  serve)
    python manage.py migrate --noinput
    python manage.py collectstatic --noinput -v0
    exec honcho start --procfile Procfile
    ;;
  *)
    echo "usage: $0 dev|serve" >&2
    exit 2
    ;;
esac
