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

    def _two_orders(self, api_partner, department, customer, first: str, second: str, days_apart: int):
        """Orders numbered ``first`` and ``second``, created ``days_apart`` days apart; their UUIDs."""
        client = client_for(api_partner)
        uuids = []
        for number, at in ((first, BASE), (second, BASE + days_apart * DAY)):
            response = create(client, department, customer, number, at)
            assert response.status_code == 201, response.content
            uuids.append(response.json()["orderUUID"])
        return uuids

    def _renumber_at_once(self, department, partner, customer, changes):
        """PUT each (order UUID, new number, instant) from its own thread at once; the responses."""
        barrier = threading.Barrier(len(changes))
        responses: list = [None] * len(changes)

        def send(index: int) -> None:
            order_uuid, number, at = changes[index]
            body = minimal_body(customer, number=number, date=f"{at:%Y-%m-%d}", time=f"{at:%H:%M:%S}")
            client = client_for(partner)
            try:
                barrier.wait(timeout=20)
                responses[index] = client.put(f"{orders_url(department)}/{order_uuid}", body, format="json")
            finally:
                connection.close()

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(changes))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return responses

    def test_crossing_renumbers_neither_deadlock_nor_break_the_window(self, setup):
        department, partner, customer = setup
        # 40 days apart: the swap is allowed, so both take each other's number, ten rounds of it
        x, y = self._two_orders(partner, department, customer, "N-1", "N-2", days_apart=40)
        for round_ in range(10):
            x_to, y_to = ("N-2", "N-1") if round_ % 2 == 0 else ("N-1", "N-2")
            responses = self._renumber_at_once(
                department, partner, customer, [(x, x_to, BASE), (y, y_to, BASE + 40 * DAY)]
            )
            assert [r.status_code for r in responses] == [200, 200], [r.content for r in responses]
        numbers = dict(department.repair_orders.values_list("uuid", "order_number"))
        assert {str(k): v for k, v in numbers.items()} == {x: "N-1", y: "N-2"}

    def test_crossing_renumbers_within_the_window_are_both_refused(self, setup):
        department, partner, customer = setup
        # 5 days apart: whichever goes first finds the other still holding the number it wants
        x, y = self._two_orders(partner, department, customer, "W-1", "W-2", days_apart=5)
        responses = self._renumber_at_once(
            department, partner, customer, [(x, "W-2", BASE), (y, "W-1", BASE + 5 * DAY)]
        )
        assert [r.status_code for r in responses] == [409, 409]
        assert y in responses[0].json()["errors"][0]["errorDescription"]
        assert x in responses[1].json()["errors"][0]["errorDescription"]
        numbers = dict(department.repair_orders.values_list("uuid", "order_number"))
        assert {str(k): v for k, v in numbers.items()} == {x: "W-1", y: "W-2"}

    def test_two_renumbers_onto_one_new_number_within_the_window_make_one(self, setup):
        department, partner, customer = setup
        x, y = self._two_orders(partner, department, customer, "M-1", "M-2", days_apart=5)
        responses = self._renumber_at_once(
            department, partner, customer, [(x, "M-3", BASE), (y, "M-3", BASE + 5 * DAY)]
        )
        assert sorted(r.status_code for r in responses) == [200, 409]
        assert department.repair_orders.filter(order_number="M-3").count() == 1

    def test_a_create_and_a_renumber_onto_its_number_make_one(self, setup):
        department, partner, customer = setup
        [x] = self._two_orders(partner, department, customer, "K-1", "K-9", days_apart=400)[:1]
        barrier = threading.Barrier(2)
        responses: list = [None, None]

        def send(index: int) -> None:
            client = client_for(partner)
            try:
                barrier.wait(timeout=20)
                if index == 0:
                    body = minimal_body(customer, number="K-2", date="2024-02-02", time="08:00:00")
                    responses[0] = client.put(orders_url(department), body, format="json")
                else:
                    body = minimal_body(customer, number="K-2", date="2024-02-01", time="00:00:00")
                    responses[1] = client.put(f"{orders_url(department)}/{x}", body, format="json")
            finally:
                connection.close()

        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(r.status_code for r in responses) in ([200, 409], [201, 409])
        assert department.repair_orders.filter(order_number="K-2").count() == 1

    def test_the_lock_is_the_number_not_the_department(self, setup):
        """The lock is (department, number): a writer holding number A does not block a writer of number B."""
        from django.db import connections, transaction

        from orders import sql

        department, _, _ = setup
        with transaction.atomic():
            sql.lock_order_numbers(department.id, ["HELD"])
            other = connections.create_connection("default")
            try:
                with other.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '2s'")
                    cursor.execute("BEGIN")
                    # another number of the same department: granted at once
                    cursor.execute(
                        "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, %s))", ["OTHER", department.id]
                    )
                    assert cursor.fetchone() == (True,)
                    # the held number: refused while this transaction holds it
                    cursor.execute(
                        "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, %s))", ["HELD", department.id]
                    )
                    assert cursor.fetchone() == (False,)
                    cursor.execute("ROLLBACK")
            finally:
                other.close()


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
