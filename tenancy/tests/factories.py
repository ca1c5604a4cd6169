"""factory-boy factories of tenancy: dealers, departments, partners and their grants."""

from __future__ import annotations

from typing import Any

import factory

from orma.crypto import generate_secret, hash_secret
from tenancy.choices import ALL_BRANDS, ALL_SCOPES, DepartmentType
from tenancy.models import Dealer, Department, Grant, Partner


class DealerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dealer

    name = factory.Sequence(lambda n: f"Autohaus {n}")
    country = "DE"
    brands = factory.LazyFunction(lambda: list(ALL_BRANDS))


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    dealer = factory.SubFactory(DealerFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    type = DepartmentType.SERVICE


class PartnerFactory(factory.django.DjangoModelFactory):
    """A partner; its clear-text secret is on ``partner.secret`` (tests only)."""

    class Meta:
        model = Partner
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Partner {n}")
    username = factory.Sequence(lambda n: f"partner-{n}")
    secret = factory.LazyFunction(generate_secret)
    secret_hash = factory.LazyAttribute(lambda o: hash_secret(o.secret))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        secret = kwargs.pop("secret")
        partner = super()._create(model_class, *args, **kwargs)
        partner.secret = secret
        return partner


class GrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grant

    partner = factory.SubFactory(PartnerFactory)
    department = factory.SubFactory(DepartmentFactory)
    scopes = factory.LazyFunction(lambda: list(ALL_SCOPES))


def partner_on(department: Any, scopes: list[str] | None = None) -> Any:
    """A new partner holding ``scopes`` (default: every scope) on ``department``."""
    partner = PartnerFactory()
    if scopes is None:
        GrantFactory(partner=partner, department=department)
    else:
        GrantFactory(partner=partner, department=department, scopes=scopes)
    return partner
