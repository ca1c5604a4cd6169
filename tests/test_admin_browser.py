"""The back office in a real browser: Playwright driving Debian's Chromium (headless, no browser download)
against a live server on 127.0.0.1, as the demo staff user would work an order.

Log in, read the dashboard's counts, find an order by its VIN, open it, change a part line, save, run
"Resend to DMS", see its DMS status change, log out; a screenshot of each step in ``tests/artifacts/``.

The DMS push runs in the live server's process (the suite's eager Celery tasks, ``ORMA_CELERY_EAGER``): a
real worker would need the live server's test database shared with another process, which SQLite in
memory cannot do; the worker path itself is covered by ``tests/test_dms_delivery.py``. The story uses the
product's own failure: while the dealer's DMS is unreachable the save's push is left PENDING (a retry
later), and once it is back "Resend to DMS" pushes at once and the order turns SYNCED.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from dms_adapters.models import DmsPush
from orders.models import RepairOrder
from orders.tests.factories import minimal_body, orders_url
from orma.outbox import OutboxStatus
from tenancy.models import Dealer, Department, Partner
from tests.clients import basic_auth

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
STEP_TIMEOUT_MS = 15_000
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
UNREACHABLE_DMS = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused at once

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(".ci/run installs chromium (apt-get install -y chromium); it is missing")
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium); runs in CI")
    return CHROMIUM


@pytest.fixture
def server(transactional_db: Any) -> Iterator[Any]:
    """Django's live server on 127.0.0.1 (a free port), in a thread of this process, stopped after the test."""
    from pytest_django.live_server_helper import LiveServer

    live = LiveServer("127.0.0.1:0")
    yield live
    live.stop()


@pytest.fixture
def demo() -> dict[str, Any]:
    """``orma_seed_demo``'s world and its logins, as ``make run`` makes them."""
    import json
    from io import StringIO

    out = StringIO()
    call_command("orma_seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def browser(chromium: Path, monkeypatch: Any) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which Django takes for an async
    # context; the test's own ORM calls are plain synchronous ones (Playwright's documented workaround).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium),
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()


def create_order(demo: dict[str, Any], client: Any, number: str = "WEB-1") -> RepairOrder:
    """An order by the demo partner through the API: a job with one part line, for the demo VW."""
    body = minimal_body_for(demo)
    body["order"]["header"]["orderNumber"] = number
    department = Department.objects.get(uuid=demo["departments"]["service"])
    auth = basic_auth(demo["partner"]["username"], demo["partner"]["secret"])
    response = client.put(orders_url(department), body, content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 201, response.content
    return RepairOrder.objects.get(uuid=response.json()["orderUUID"])


def minimal_body_for(demo: dict[str, Any]) -> dict[str, Any]:
    from django.utils import timezone

    from orders.models import Customer

    customer = Customer.objects.get(uuid=demo["customers"][0])
    body = minimal_body(customer, "WEB-1", f"{timezone.now():%Y-%m-%d}", "07:00:00", jobs=1, lines_per_job=1)
    body["order"]["vehicle"] = {"vin": "WVWZZZCDZMW000101"}
    return body


class Steps:
    """The browser's page with a screenshot after each named step."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.number = 0
        ARTIFACTS.mkdir(exist_ok=True)

    def shot(self, name: str) -> None:
        self.number += 1
        self.page.screenshot(path=str(ARTIFACTS / f"admin-{self.number:02d}-{name}.png"), full_page=True)


def test_the_demo_staff_user_works_an_order_in_the_browser(server, demo, browser, client) -> None:
    order = create_order(demo, client)
    assert RepairOrder.objects.get(pk=order.pk).dms_status == "SYNCED"  # the sandbox took it
    # an older order whose push gave up while the DMS was down: the dashboard's count
    other = create_order(demo, client, "WEB-0")
    DmsPush.objects.filter(repair_order=other).update(status=OutboxStatus.FAILED)
    RepairOrder.objects.filter(pk=other.pk).update(dms_status="FAILED")
    dealer = Dealer.objects.get(uuid=demo["dealerUUID"])

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(STEP_TIMEOUT_MS)
    steps = Steps(page)

    # log in as the demo staff user
    page.goto(f"{server.url}/admin/login/")
    page.fill("#id_username", demo["staff"]["username"])
    page.fill("#id_password", demo["staff"]["password"])
    steps.shot("login")
    page.click("input[type=submit]")
    page.wait_for_selector("#orma-dashboard")

    # the dashboard's counts, for the demo dealer
    failed = page.locator("#orma-dashboard tr", has_text="DMS pushes FAILED")
    assert failed.locator(".orma-count").inner_text() == "1"
    assert "needs attention: autohaus demo" in page.inner_text("#orma-dashboard").lower()
    steps.shot("dashboard")

    # search the order by its VIN
    page.click("a[href='/admin/orders/repairorder/']")
    page.fill("#searchbar", "WVWZZZCDZMW000101")
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == RepairOrder.objects.filter(vin="WVWZZZCDZMW000101").count() >= 2  # this VW's orders
    assert rows.filter(has_text="WEB-1").count() == 1
    steps.shot("search-by-vin")

    # open it
    page.click("#result_list a:text-is('WEB-1')")
    page.wait_for_selector("#jobs")
    assert page.input_value("input[name='orderNumber']") == "WEB-1"
    steps.shot("order")

    # the dealer's DMS goes down; edit a part line and save
    Dealer.objects.filter(pk=dealer.pk).update(dms_kind="mykaarma", dms_base_url=UNREACHABLE_DMS)
    page.fill("input[name='jobs-0-parts-0-quantityOrdered']", "2")
    page.fill("input[name='jobs-0-parts-0-description']", "Brake pads, front axle")
    steps.shot("edited")
    page.click("input[name='_continue']")
    page.wait_for_selector(".messagelist")
    assert "was changed successfully" in page.inner_text(".messagelist")
    assert page.input_value("input[name='jobs-0-parts-0-quantityOrdered']") == "2.00"
    assert page.inner_text(".field-dms .dms-status") == "PENDING"  # the DMS did not answer: a retry later
    steps.shot("saved")
    saved = RepairOrder.objects.get(pk=order.pk)
    assert (saved.version, saved.history.last().channel) == (2, "ADMIN")

    # the DMS is back: Resend to DMS from the list, and see the status change
    Dealer.objects.filter(pk=dealer.pk).update(dms_kind="sandbox", dms_base_url="")
    page.goto(f"{server.url}/admin/orders/repairorder/?q=WEB-1")
    row = page.locator("#result_list tbody tr", has_text="WEB-1")
    assert row.locator(".dms-status").inner_text() == "PENDING"
    row.locator("input.action-select").check()
    page.select_option("select[name='action']", "resend_to_dms")
    steps.shot("resend")
    page.click("button[name='index']")
    page.wait_for_selector(".messagelist")
    assert "Queued 1 order(s) for the DMS." in page.inner_text(".messagelist")
    row = page.locator("#result_list tbody tr", has_text="WEB-1")
    assert row.locator(".dms-status").inner_text() == "SYNCED"
    steps.shot("synced")
    assert RepairOrder.objects.get(pk=order.pk).dms_status == "SYNCED"

    # log out
    page.click("#logout-form button")
    page.wait_for_selector("text=Logged out")
    steps.shot("logged-out")
    assert re.search(r"/admin/logout/$", page.url)
    assert Partner.objects.filter(username=demo["partner"]["username"]).exists()
