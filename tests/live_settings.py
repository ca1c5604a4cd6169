"""Settings for servers the tests start in a subprocess: OrMa's, plus the plumbing probes."""

from orma.settings import *  # noqa: F403

ROOT_URLCONF = "tests.probe_urls"
