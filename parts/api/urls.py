from django.urls import path

from .views import catalogue, parts_orders, price_availability

urlpatterns = [
    path("parts", catalogue.PartListView.as_view(), name="parts"),
    path("parts/<str:partId>", catalogue.PartDetailView.as_view(), name="part"),
    path("price-availability", price_availability.PriceAvailabilityView.as_view(), name="price-availability"),
    path("parts-orders", parts_orders.PartsOrderCollectionView.as_view(), name="parts-orders"),
    path("parts-orders/<str:partsOrderId>", parts_orders.PartsOrderDetailView.as_view(), name="parts-order"),
]
