from django.urls import path

from . import views

urlpatterns = [
    path("parts", views.PartListView.as_view(), name="parts"),
    path("parts/<str:partId>", views.PartDetailView.as_view(), name="part"),
    path("price-availability", views.PriceAvailabilityView.as_view(), name="price-availability"),
    path("parts-orders", views.PartsOrderCollectionView.as_view(), name="parts-orders"),
    path("parts-orders/<str:partsOrderId>", views.PartsOrderDetailView.as_view(), name="parts-order"),
]
