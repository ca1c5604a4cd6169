"""The WSGI entry point gunicorn's workers load (``orma.wsgi``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_application_s_startup_objects_are_frozen_out_of_the_collector_s_sight():
    """A full collection walking every module's objects stalled a worker for 91 ms (docs/performance.md)."""
    probe = "import gc, orma.wsgi; print(gc.get_freeze_count(), callable(orma.wsgi.application))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "orma.settings", "DEBUG": "1"}
    answer = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert int(answer[0]) > 50_000 and answer[1] == "True"
