"""Fixtures of the adapter tests: a strict DMS peer on loopback, stopped after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .peer import DmsPeer


@pytest.fixture
def dms_peer() -> Iterator[DmsPeer]:
    with DmsPeer() as peer:
        yield peer


def connect(dealer, peer: DmsPeer, kind: str):  # type: ignore[no-untyped-def]
    """Point ``dealer``'s DMS at ``peer`` with its credentials, as ``kind``; answers the dealer (saved)."""
    dealer.dms_kind = kind
    dealer.dms_base_url = peer.base_url
    dealer.dms_username = peer.username
    dealer.dms_password = peer.password
    dealer.save()
    return dealer
