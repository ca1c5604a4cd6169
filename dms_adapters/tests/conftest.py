"""Fixtures of the adapter tests: a strict DMS peer on loopback, stopped after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .peer import DmsPeer


@pytest.fixture
def dms_peer() -> Iterator[DmsPeer]:
    with DmsPeer() as peer:
        yield peer
