"""The events a change writes (issue 10, point 2): which subscriptions get a delivery, the payload of each
event type in the thin and the full form, and what it costs a create."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications import payloads
from notifications.delivery import event_record
from notifications.models import Delivery, DeliveryStatus, Event, PayloadForm
from notifications.tests.factories import SubscriptionFactory
from orders.api.representations import order_representation
from orders.models import RepairOrder
from orders.services import repair_order_dms_rejected, repair_order_dms_synced
from orders.tests.factories import CustomerFactory, minimal_body, orders_url
from orma.actors import Actor, Channel
from orma.events import EventType
from parts.api.representations import parts_order_json
from parts.models import PartsOrderLine
from parts.services import parts_order_line_status_change
from parts.tests.factories import PartFactory, StockFactory, place
from tenancy.tests.factories import DepartmentFactory, GrantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(department):
    return CustomerFactory(dealer=department.dealer)


def subscribe(partner, department, *, form=PayloadForm.THIN, types=None, **fields):
    return SubscriptionFactory(
        partner=partner, departments=[department], payload_form=form, event_types=types or list(EventType), **fields
    )


def create(api, department, customer, number="RO-1"):
    response = api.put(orders_url(department), minimal_body(customer, number=number), format="json")
    assert response.status_code == 201, response.content
    return RepairOrder.objects.get(uuid=response.json()["orderUUID"])


def deliveries_of(subscription):
    return list(Delivery.objects.filter(subscription=subscription).select_related("event").order_by("pk"))


class TestWhoGetsADelivery:
    def test_it_writes_nothing_when_nobody_subscribes(self, api, department, customer):
        create(api, department, customer)
        assert Event.objects.count() == 0 and Delivery.objects.count() == 0

    def test_it_delivers_to_enabled_subscriptions_wanting_the_type_and_covering_the_department(
        self, api, partner, department, customer
    ):
        wanting = subscribe(partner, department)
        other_type = subscribe(partner, department, types=[EventType.ORDER_UPDATED])
        disabled = subscribe(partner, department, enabled=False)
        elsewhere = DepartmentFactory(dealer=department.dealer)
        GrantFactory(partner=partner, department=elsewhere)
        other_department = subscribe(partner, elsewhere)

        order = create(api, department, customer)

        [delivery] = deliveries_of(wanting)
        assert (delivery.status, delivery.event_type, delivery.subject_key) == (
            DeliveryStatus.PENDING,
            "order.created",
            f"order:{order.uuid}",
        )
        assert deliveries_of(other_type) == deliveries_of(disabled) == deliveries_of(other_department) == []
        assert Event.objects.count() == 1  # stored once, whatever the number of subscribers

    def test_a_revoked_grant_or_a_deactivated_partner_hears_nothing_more(self, api, partner, department, customer):
        from tenancy.choices import Scope
        from tenancy.models import Grant
        from tenancy.tests.factories import PartnerFactory

        kept = subscribe(partner, department)
        revoked_partner, scope_lost_partner, inactive_partner = PartnerFactory(), PartnerFactory(), PartnerFactory()
        for other in (revoked_partner, scope_lost_partner, inactive_partner):
            GrantFactory(partner=other, department=department)
        revoked, scope_lost, inactive = (
            subscribe(revoked_partner, department),
            subscribe(scope_lost_partner, department),
            subscribe(inactive_partner, department),
        )
        Grant.objects.filter(partner=revoked_partner).delete()
        Grant.objects.filter(partner=scope_lost_partner).update(scopes=[Scope.ORDER_READ])
        type(inactive_partner).objects.filter(pk=inactive_partner.pk).update(is_active=False)

        create(api, department, customer)

        assert len(deliveries_of(kept)) == 1
        assert deliveries_of(revoked) == deliveries_of(scope_lost) == deliveries_of(inactive) == []

    def test_two_subscriptions_share_one_event(self, api, partner, department, customer):
        first, second = subscribe(partner, department), subscribe(partner, department, form=PayloadForm.FULL)
        create(api, department, customer)
        [a], [b] = deliveries_of(first), deliveries_of(second)
        assert a.event_id == b.event_id and a.uuid != b.uuid  # one event, a webhook-id per delivery

    def test_a_rolled_back_change_leaves_no_event(self, api, partner, department, customer):
        subscribe(partner, department)
        body = minimal_body(customer, number="RO-1")
        assert api.put(orders_url(department), body, format="json").status_code == 201
        # the ±30-day rule refuses the same number: the transaction is rolled back with its event
        assert api.put(orders_url(department), body, format="json").status_code == 409
        assert Event.objects.count() == 1

    def test_a_ping_goes_exactly_to_the_given_subscriptions_even_a_disabled_one(self, partner, department):
        subscription = subscribe(partner, department, enabled=False, types=[EventType.ORDER_CREATED])
        event = event_record(
            event_type=EventType.PING,
            department=None,
            subject_key=f"ping:{subscription.uuid}",
            data={"subscriptionId": str(subscription.uuid)},
            subscriptions=[subscription],
        )
        [delivery] = deliveries_of(subscription)
        assert delivery.event == event and event.department is None and delivery.event_type == "ping"


class TestCost:
    def test_with_no_subscriber_a_create_pays_one_query(self, department):
        with CaptureQueriesContext(connection) as queries:
            assert (
                event_record(event_type=EventType.ORDER_CREATED, department=department, subject_key="order:x", data={})
                is None
            )
        assert len(queries) == 1

    def test_with_thin_subscribers_it_is_two_or_three_queries_whatever_their_number(self, partner, department):
        for _ in range(5):
            subscribe(partner, department)
        rendered = []
        with CaptureQueriesContext(connection) as queries:
            event_record(
                event_type=EventType.ORDER_CREATED,
                department=department,
                subject_key="order:x",
                data={},
                document=lambda: rendered.append(1) or {},
            )
        # the subscribers, then the event and the deliveries: one statement on PostgreSQL (notifications.sql),
        # two INSERTs through the ORM elsewhere
        assert len(queries) == (2 if connection.vendor == "postgresql" else 3)
        assert rendered == []  # nobody wants the full form: the document is never rendered
        assert Delivery.objects.count() == 5

    def test_the_full_form_renders_the_document_once(self, partner, department):
        subscribe(partner, department, form=PayloadForm.FULL)
        subscribe(partner, department, form=PayloadForm.FULL)
        rendered = []
        event = event_record(
            event_type=EventType.ORDER_CREATED,
            department=department,
            subject_key="order:x",
            data={},
            document=lambda: rendered.append(1) or {"a": 1},
        )
        assert rendered == [1] and event.document == {"a": 1}

    def test_an_api_create_with_a_subscriber_is_pinned(
        self, api, partner, department, customer, django_assert_max_num_queries
    ):
        subscribe(partner, department, form=PayloadForm.FULL)
        # the create's 14 (orders' own pin, with the subscriber lookup) + the event with its deliveries: one
        # statement on PostgreSQL (notifications.sql), two INSERTs through the ORM elsewhere
        with django_assert_max_num_queries(15 if connection.vendor == "postgresql" else 16):
            create(api, department, customer)


class TestPayloads:
    def body_of(self, subscription, index=-1):
        delivery = deliveries_of(subscription)[index]
        return json.loads(payloads.body(delivery.event, subscription.payload_form))

    def test_order_created_thin_and_full(self, api, partner, department, customer):
        thin, full = subscribe(partner, department), subscribe(partner, department, form=PayloadForm.FULL)
        order = create(api, department, customer)

        thin_body = self.body_of(thin)
        event = Event.objects.get()
        assert thin_body == {
            "id": str(event.uuid),
            "type": "order.created",
            "occurredAt": event.occurred_at.isoformat(),
            "departmentUUID": str(department.uuid),
            "data": {
                "orderUUID": str(order.uuid),
                "orderNumber": "RO-1",
                "version": 1,
                "status": order.status,
                "dms": {"status": "PENDING", "orderNumber": None},
            },
        }
        full_body = self.body_of(full)
        assert full_body["id"] == thin_body["id"]
        assert full_body["data"] == {**thin_body["data"], "order": order_representation(order)}
        # the same object as GET answers it
        read = api.get(f"{orders_url(department)}/{order.uuid}").json()["order"]
        assert full_body["data"]["order"]["orderUUID"] == read["orderUUID"]
        assert full_body["data"]["order"]["header"] == read["header"]

    def test_order_updated_carries_the_new_version(self, api, partner, department, customer):
        thin = subscribe(partner, department)
        order = create(api, department, customer)
        response = api.put(
            f"{orders_url(department)}/{order.uuid}", minimal_body(customer, number="RO-2"), format="json"
        )
        assert response.status_code == 200
        body = self.body_of(thin)
        assert (body["type"], body["data"]["version"], body["data"]["orderNumber"]) == ("order.updated", 2, "RO-2")

    def test_dms_synced_and_rejected_carry_the_dms_state_and_errors(self, api, partner, department, customer):
        thin = subscribe(partner, department, types=[EventType.ORDER_DMS_SYNCED, EventType.ORDER_DMS_REJECTED])
        order = create(api, department, customer)
        order = RepairOrder.objects.get(pk=order.pk)
        assert repair_order_dms_synced(repair_order=order, version=1, dms_order_number="DMS-7")
        synced = self.body_of(thin)
        assert synced["type"] == "order.dms_synced"
        assert synced["data"]["dms"] == {"status": "SYNCED", "orderNumber": "DMS-7"}
        assert "errors" not in synced["data"]

        errors = [{"errorCode": "UNKNOWN_ADVISOR", "errorTitle": "Unknown advisor", "errorDescription": "ADV-9"}]
        assert repair_order_dms_rejected(repair_order=order, version=1, errors=errors)
        rejected = self.body_of(thin)
        assert rejected["type"] == "order.dms_rejected"
        assert rejected["data"]["errors"] == errors and rejected["data"]["dms"]["status"] == "REJECTED"

    def test_parts_order_created_and_status_changed(self, api, partner, department, customer):
        thin = subscribe(
            partner, department, types=[EventType.PARTS_ORDER_CREATED, EventType.PARTS_ORDER_STATUS_CHANGED]
        )
        full = subscribe(partner, department, form=PayloadForm.FULL, types=[EventType.PARTS_ORDER_CREATED])
        stock = StockFactory(department=department, part=PartFactory(dealer=department.dealer), on_hand=10)
        parts_order = place(api, department, customer, (stock.part, 1))

        created = self.body_of(thin, 0)
        answered_id = api.get(
            f"/parts-api/{department.dealer.uuid}/{department.uuid}/v1/parts-orders/{parts_order.number}"
        )
        assert created["type"] == "parts_order.created"
        assert created["data"]["partsOrderId"] == answered_id.json()["partsOrderId"]
        assert created["data"]["orderStatus"] == parts_order.status
        assert created["data"]["version"] == parts_order.version
        assert self.body_of(full)["data"]["partsOrder"] == json.loads(json.dumps(parts_order_json(parts_order)))

        line = PartsOrderLine.objects.get(parts_order=parts_order)
        before = parts_order.status
        changed_order = parts_order_line_status_change(line=line, status="CANCELLED", actor=Actor(Channel.DMS, "dms"))
        changed = self.body_of(thin)
        assert changed["type"] == "parts_order.status_changed"
        assert changed["data"]["oldStatus"] == before and changed["data"]["newStatus"] == changed_order.status
        assert changed["data"]["version"] == changed_order.version == parts_order.version + 1
