"""Benchmarks: scripts run by hand (``make bench``), not tests. Results go to ``bench/results/`` (gitignored)."""
