"""``python -m orma <command>``: the same as the ``orma`` console command (:mod:`orma.cli`)."""

from orma.cli import main

main()
