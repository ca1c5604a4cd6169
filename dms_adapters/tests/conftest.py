"""Fixtures of the adapter tests: a strict DMS peer on loopback, stopped after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .peer import DmsPeer


@pytest.fixture
def dms_peer() -> Iterator[DmsPeer]:
    with DmsPeer() as peer:
        yield peer


@pytest.fixture(autouse=True)
def _no_wait_for_a_worker(settings) -> None:
    """No worker runs in these tests: a parts order to a synchronous network DMS answers 202 at once."""
    settings.ORMA_PARTS_DMS_WAIT_SECONDS = 0
