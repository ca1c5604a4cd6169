from .tenancy import Dealer, DealerStaff, Department, Grant, Partner

__all__ = ["Dealer", "DealerStaff", "Department", "Grant", "Partner"]
