"""Fixtures shared by the cross-app tests: a department, a partner holding a grant on it, API clients."""

from __future__ import annotations

import base64

import pytest
from rest_framework.test import APIClient

from .factories import DepartmentFactory, GrantFactory, PartnerFactory


def basic_auth(username: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()


@pytest.fixture
def department(db):
    return DepartmentFactory()


@pytest.fixture
def partner(department):
    partner = PartnerFactory()
    GrantFactory(partner=partner, department=department)
    return partner


@pytest.fixture
def api(partner) -> APIClient:
    """An API client authenticated as ``partner`` (every scope on ``department``)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic_auth(partner.username, partner.secret))
    return client


@pytest.fixture
def anon() -> APIClient:
    return APIClient()
