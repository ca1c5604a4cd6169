"""The orders family (``/order/v2/department/{departmentUUID}/``), one module per resource: repair orders,
customers, vehicles, packages. Views are thin: a request serializer over the app's rules, a service or a
selector, and the envelope."""

from .customers import CustomerCollectionView, CustomerDetailView
from .packages import PackageListView
from .repair_orders import RepairOrderCollectionView, RepairOrderDetailView, RepairOrderHistoryView
from .vehicles import VehicleCollectionView, VehicleDetailView

__all__ = [
    "CustomerCollectionView",
    "CustomerDetailView",
    "PackageListView",
    "RepairOrderCollectionView",
    "RepairOrderDetailView",
    "RepairOrderHistoryView",
    "VehicleCollectionView",
    "VehicleDetailView",
]
