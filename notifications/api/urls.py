from django.urls import path

from .views import deliveries, subscriptions

urlpatterns = [
    path("subscription", subscriptions.SubscriptionCollectionView.as_view(), name="notification-subscriptions"),
    path(
        "subscription/<str:subscriptionId>",
        subscriptions.SubscriptionDetailView.as_view(),
        name="notification-subscription",
    ),
    path(
        "subscription/<str:subscriptionId>/ping",
        subscriptions.SubscriptionPingView.as_view(),
        name="notification-subscription-ping",
    ),
    path(
        "subscription/<str:subscriptionId>/rotate-secret",
        subscriptions.SubscriptionRotateSecretView.as_view(),
        name="notification-subscription-rotate-secret",
    ),
    path(
        "subscription/<str:subscriptionId>/recover",
        subscriptions.SubscriptionRecoverView.as_view(),
        name="notification-subscription-recover",
    ),
    path("delivery", deliveries.DeliveryListView.as_view(), name="notification-deliveries"),
    path("delivery/<str:deliveryId>", deliveries.DeliveryDetailView.as_view(), name="notification-delivery"),
    path(
        "delivery/<str:deliveryId>/redeliver",
        deliveries.DeliveryRedeliverView.as_view(),
        name="notification-delivery-redeliver",
    ),
]
