"""The ±30-day rule: boundary table, a property test against a brute-force oracle, and the race."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from orders.rules import OrderStamp, closest_conflict
from orders.selectors import repair_order_conflict
from tenancy.tests.factories import DepartmentFactory, GrantFactory, PartnerFactory
from tests.clients import client_for

from .factories import CustomerFactory, minimal_body, orders_url

UTC = dt.UTC
BASE = dt.datetime(2024, 2, 1, 0, 0, 0, tzinfo=UTC)
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def create(api, department, customer, number: str, at: dt.datetime):
    body = minimal_body(customer, number=number, date=f"{at:%Y-%m-%d}", time=f"{at:%H:%M:%S}")
    return api.put(orders_url(department), body, format="json")


# existing orders (offsets from BASE), the new order's offset, and which existing one is named (None: new order)
BOUNDARY_TABLE = [
    pytest.param([dt.timedelta(0)], instant("2025-02-01") - BASE, None, id="seed: 2024-02-01 vs 2025-02-01 differ"),
    pytest.param([dt.timedelta(0)], instant("2024-02-10") - BASE, 0, id="seed: 2024-02-01 vs 2024-02-10 same"),
    pytest.param([dt.timedelta(0)], 30 * DAY, 0, id="exactly +30 days: duplicate"),
    pytest.param([dt.timedelta(0)], -30 * DAY, 0, id="exactly -30 days: duplicate"),
    pytest.param([dt.timedelta(0)], 30 * DAY + SECOND, None, id="+30 days 1 s: new order"),
    pytest.param([dt.timedelta(0)], -30 * DAY - SECOND, None, id="-30 days 1 s: new order"),
    pytest.param([dt.timedelta(0)], dt.timedelta(0), 0, id="same instant: duplicate"),
    # existing orders of one number are themselves more than 30 days apart, or they could not both exist
    pytest.param([-20 * DAY, 15 * DAY], 0 * DAY, 1, id="two candidates: the closest is named"),
    pytest.param([-16 * DAY, 16 * DAY], 0 * DAY, 0, id="a tie: the older is named"),
    pytest.param([-40 * DAY, 29 * DAY], 0 * DAY, 1, id="one outside, one inside"),
]


@pytest.mark.django_db
class TestBoundaryTable:
    @pytest.mark.parametrize(("existing", "new", "named"), BOUNDARY_TABLE)
    def test_it_follows_the_window(self, api, department, existing, new, named):
        customer = CustomerFactory(dealer=department.dealer)
        created = [
            create(api, department, customer, "RO-1234", BASE + offset).json()["orderUUID"] for offset in existing
        ]

        response = create(api, department, customer, "RO-1234", BASE + new)

        if named is None:
            assert response.status_code == 201, response.json()
        else:
            assert response.status_code == 409
            [error] = response.json()["errors"]
            assert error["errorCode"] == "DUPLICATE_ORDER"
            assert created[named] in error["errorDescription"]
            assert "update" in error["errorDescription"]

    def test_the_same_number_in_another_department_is_another_order(self, api, department, partner):
        other = DepartmentFactory(dealer=department.dealer)
        GrantFactory(partner=partner, department=other)
        customer = CustomerFactory(dealer=department.dealer)
        assert create(api, department, customer, "RO-1234", BASE).status_code == 201

        assert create(api, other, customer, "RO-1234", BASE).status_code == 201

    def test_an_update_that_keeps_its_own_number_does_not_conflict_with_itself(self, api, department):
        customer = CustomerFactory(dealer=department.dealer)
        order_uuid = create(api, department, customer, "RO-1234", BASE).json()["orderUUID"]
        body = minimal_body(customer, number="RO-1234", date="2024-02-05", time="09:00:00")

        response = api.put(f"{orders_url(department)}/{order_uuid}", body, format="json")

        assert response.status_code == 200, response.json()

    def test_an_update_moved_into_another_orders_window_is_a_duplicate(self, api, department):
        customer = CustomerFactory(dealer=department.dealer)
        first = create(api, department, customer, "RO-1234", BASE).json()["orderUUID"]
        second = create(api, department, customer, "RO-1234", BASE + 60 * DAY).json()["orderUUID"]
        moved = minimal_body(customer, number="RO-1234", date="2024-02-20", time="00:00:00")

        response = api.put(f"{orders_url(department)}/{second}", moved, format="json")

        assert response.status_code == 409
        assert first in response.json()["errors"][0]["errorDescription"]

    def test_an_update_that_renumbers_into_a_window_is_a_duplicate(self, api, department):
        customer = CustomerFactory(dealer=department.dealer)
        first = create(api, department, customer, "RO-1", BASE).json()["orderUUID"]
        second = create(api, department, customer, "RO-2", BASE).json()["orderUUID"]

        response = api.put(f"{orders_url(department)}/{second}", minimal_body(customer, number="RO-1"), format="json")

        assert response.status_code == 409
        assert first in response.json()["errors"][0]["errorDescription"]


def oracle(created: dt.datetime, candidates: list[OrderStamp]) -> OrderStamp | None:
    """The rule as written in DESIGN §4, by brute force: sort everything in the window, take the first."""
    inside = [c for c in candidates if abs((c.created_instant - created).total_seconds()) <= 30 * 24 * 3600]
    inside.sort(key=lambda c: (abs((c.created_instant - created).total_seconds()), c.created_instant, str(c.uuid)))
    return inside[0] if inside else None


offsets = st.integers(min_value=-70 * 24 * 3600, max_value=70 * 24 * 3600)
# Some offsets sit exactly on and around the boundaries and at tie distances.
edgy = st.sampled_from([0, 30 * 86400, -30 * 86400, 30 * 86400 + 1, -30 * 86400 - 1, 86400, -86400, 5, -5])


@given(existing=st.lists(st.one_of(offsets, edgy), max_size=12), new=st.one_of(offsets, edgy))
def test_the_rule_equals_a_brute_force_oracle(existing, new):
    candidates = [OrderStamp(uuid.uuid4(), BASE + dt.timedelta(seconds=s)) for s in existing]
    created = BASE + dt.timedelta(seconds=new)

    assert closest_conflict(created, candidates) == oracle(created, candidates)


@pytest.mark.django_db
def test_the_selector_finds_only_the_departments_same_numbered_orders(api, department):
    customer = CustomerFactory(dealer=department.dealer)
    mine = create(api, department, customer, "RO-7", BASE).json()["orderUUID"]
    create(api, department, customer, "RO-8", BASE)

    found = repair_order_conflict(department_id=department.id, order_number="RO-7", created_instant=BASE + DAY)

    assert str(found.uuid) == mine
    assert repair_order_conflict(department_id=department.id, order_number="ro-7", created_instant=BASE) is None


def _race(department, partner, bodies) -> list:
    """Send the bodies at once from real threads, each on its own database connection."""
    barrier = threading.Barrier(len(bodies))
    responses: list = [None] * len(bodies)

    def send(index: int) -> None:
        client = client_for(partner)
        try:
            barrier.wait(timeout=20)
            responses[index] = client.put(orders_url(department), bodies[index], format="json")
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestRace:
    @pytest.fixture
    def setup(self, settings):
        settings.ORMA_PARTNER_RATE_LIMIT = "100000/minute"
        department = DepartmentFactory()
        partner = PartnerFactory()
        GrantFactory(partner=partner, department=department)
        return department, partner, CustomerFactory(dealer=department.dealer)

    def test_twenty_simultaneous_creates_of_one_number_make_one_order(self, setup):
        department, partner, customer = setup
        bodies = [minimal_body(customer, number="RO-RACE", date="2024-02-01", time=f"08:00:{i:02d}") for i in range(20)]

        responses = _race(department, partner, bodies)

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * 19
        [winner] = [r.json()["orderUUID"] for r in responses if r.status_code == 201]
        for response in responses:
            if response.status_code == 409:
                assert winner in response.json()["errors"][0]["errorDescription"]
        assert department.repair_orders.count() == 1

    def test_twenty_simultaneous_creates_of_different_numbers_make_twenty_orders(self, setup):
        department, partner, customer = setup
        bodies = [minimal_body(customer, number=f"RO-{i}") for i in range(20)]

        responses = _race(department, partner, bodies)

        assert [r.status_code for r in responses] == [201] * 20
        assert department.repair_orders.count() == 20


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_department_lock_locks_the_department_row_alone(department):
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    from orders.services import _lock_department

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        _lock_department(department)

    [lock] = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]
    # a join (Meta.ordering on the dealer's name) would lock the dealer row too: every department of the
    # dealer would wait for the others
    assert "JOIN" not in lock.upper()
