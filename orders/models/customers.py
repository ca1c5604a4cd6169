"""Customers and vehicles of a dealer, and the service packages it offers."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models.functions import Lower

from orders.fields import HOURS, MONEY, QUANTITY
from tenancy.models import Dealer


class Customer(models.Model):
    """A dealer's customer (a person or a company), referenced by orders as ``customer.uuid``."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dealer = models.ForeignKey(Dealer, on_delete=models.PROTECT, related_name="customers")
    title_common = models.CharField(max_length=50, blank=True)
    given_name = models.CharField(max_length=200, blank=True)
    family_name = models.CharField(max_length=200, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    street_name = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=50, blank=True)
    city = models.CharField(max_length=200, blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "company_name", "id"]
        indexes = [
            models.Index(Lower("family_name"), "dealer", name="customer_dealer_family"),
            models.Index(Lower("company_name"), "dealer", name="customer_dealer_company"),
        ]

    def __str__(self) -> str:
        person = " ".join(p for p in (self.given_name, self.family_name) if p)
        return person or self.company_name or str(self.uuid)


class Vehicle(models.Model):
    """A customer's vehicle, known by its VIN; the brand comes from the VIN."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dealer = models.ForeignKey(Dealer, on_delete=models.PROTECT, related_name="vehicles")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="vehicles")
    vin = models.CharField(max_length=17)
    brand = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=200, blank=True)
    model_year = models.PositiveSmallIntegerField(null=True, blank=True)
    license_plate = models.CharField(max_length=50, blank=True)
    mileage = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["vin"]
        constraints = [models.UniqueConstraint(fields=["dealer", "vin"], name="vehicle_dealer_vin")]

    def __str__(self) -> str:
        return self.vin


class ServicePackage(models.Model):
    """A priced bundle of labour and parts (seed 000's 'Package'), for the brands and models it fits."""

    code = models.CharField(max_length=50, unique=True)
    description = models.CharField(max_length=4000)
    brands = models.JSONField(default=list, help_text="Brand codes it applies to; empty: every brand")
    models = models.JSONField(default=list, help_text="Model names it applies to; empty: every model")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.description}"


class PackageLabourLine(models.Model):
    """A labour operation a package brings into a job."""

    package = models.ForeignKey(ServicePackage, on_delete=models.CASCADE, related_name="labour_lines")
    labor_op_code = models.CharField(max_length=50)
    description = models.CharField(max_length=4000, blank=True)
    sold_hours = models.DecimalField(max_digits=HOURS.max_digits, decimal_places=HOURS.places, default=0)

    class Meta:
        ordering = ["id"]


class PackagePartLine(models.Model):
    """A part a package brings into a job."""

    package = models.ForeignKey(ServicePackage, on_delete=models.CASCADE, related_name="part_lines")
    part_number = models.CharField(max_length=50)
    description = models.CharField(max_length=4000, blank=True)
    quantity = models.DecimalField(max_digits=QUANTITY.max_digits, decimal_places=QUANTITY.places, default=1)

    class Meta:
        ordering = ["id"]


class PackagePrice(models.Model):
    """One dealer's price of a package (labour and parts together)."""

    package = models.ForeignKey(ServicePackage, on_delete=models.CASCADE, related_name="prices")
    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="package_prices")
    price = models.DecimalField(max_digits=MONEY.max_digits, decimal_places=MONEY.places)
    currency_code = models.CharField(max_length=3, default="EUR")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["package", "dealer"], name="package_price_dealer")]
