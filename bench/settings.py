"""Settings of the servers the benchmarks start: OrMa's own, plus the trivial benchmark views."""

from orma.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
