from django.urls import path

from . import views

urlpatterns = [
    path("order", views.RepairOrderCollectionView.as_view(), name="repair-orders"),
    path("order/<uuid:orderUUID>", views.RepairOrderDetailView.as_view(), name="repair-order"),
    path("order/<uuid:orderUUID>/history", views.RepairOrderHistoryView.as_view(), name="repair-order-history"),
    path("customer", views.CustomerCollectionView.as_view(), name="customers"),
    path("customer/<uuid:customerUUID>", views.CustomerDetailView.as_view(), name="customer"),
    path("vehicle", views.VehicleCollectionView.as_view(), name="vehicles"),
    path("vehicle/<uuid:vehicleUUID>", views.VehicleDetailView.as_view(), name="vehicle"),
    path("package", views.PackageListView.as_view(), name="packages"),
]
