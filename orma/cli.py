"""The ``orma`` console command (``[project.scripts]``): ``manage.py`` from anywhere, in the venv.

``orma orma_create_dealer --name "Autohaus Nord" --json`` runs as ``make run``'s processes do: without a
``SECRET_KEY`` in the environment it is the embedded default (``DEBUG=1``, the development key, SQLite in
``var/``), so it works on a fresh clone right after ``make run``; with one (production), the environment
decides, as it does for the server.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a Django management command: ``orma <command> [options]`` (``orma help`` lists them)."""
    if "SECRET_KEY" not in os.environ:
        os.environ.setdefault("DEBUG", "1")  # the embedded default, as `make run` sets it
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orma.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    execute_from_command_line(["orma", *argv[1:]])
