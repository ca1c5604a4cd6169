"""Benchmark: webhook delivery (issue 10), with real processes and loopback endpoints.

What is measured
    PostgreSQL, a private ``redis-server`` (broker and cache), the webhooks worker (``celery -A orma worker -Q
    webhooks``, thread pool unless ``--pool``), one ``celery beat``, ``DEBUG=0``. The partners' endpoints are
    threaded ``http.server``s in this process (``notifications.tests.receiver.Receiver``). In one run:

    1. What writing the events adds to a create, in-process (Django's test client, no worker consuming):
       ``--creates`` (300) creates of a minimal order with one full-form subscriber, timed around the
       notifications receiver (the subscriber lookup, the event with its document, the delivery) and the
       doorbell's publish after commit. Goal: p99 <= 2 ms.
    2. Throughput: ``--deliveries`` (2,000) pending deliveries (each its own object, doorbells queued), the
       worker with ``--slots`` (2) threads, from the first attempt's start to the last DELIVERED; against a
       plain ``requests.post`` loop of the same body to the same endpoint, in the same run. Goal: >= 0.5x.
    3. Commit -> first attempt: events at ``--rate`` (20) per second for ``--seconds`` (10), each committed
       alone; from the event's commit (timed here) to its first attempt's ``started_at``. Goal: p99 <= 200 ms.
    4. Isolation: a healthy partner's events at ``--rate``, commit -> DELIVERED, undisturbed, and with another
       partner's endpoint hanging (every request held until the timeout) at the same rate. Goal: the p99
       within 10 % of the undisturbed one. After a warm-up, ``--isolation-rounds`` (3) rounds of each
       condition, alternated (alone, beside, beside, alone, ...), each beside round with a fresh hanging
       subscription, disabled and released at its end; each p99 is of all its condition's deliveries (600 by
       default), and ``per_round`` keeps every round's. Until 2026-12-03 it was one round of each, alone first
       (right after the worker started, when run alone) then beside: the two met different machine loads, and a
       p99 of 200 deliveries is their second slowest. Run with ``--pool prefork --slots 2`` to see the other
       shape.

How to run
    .venv/bin/python bench/webhooks.py [--pool threads] [--slots 2] [--isolation-slots 16] [--creates 300]
                                       [--isolation-rounds 3] [--deliveries 2000] [--rate 20] [--seconds 10]
                                       [--keep-db] [--strict]
                                       [--only create,throughput,first-attempt,isolation] [--batch-size N]
                                       [--doorbell-thread 0|1]

    ``--only`` runs some parts (a partial run writes ``webhooks-<parts>.json``); ``--batch-size`` and
    ``--doorbell-thread`` set ``ORMA_WEBHOOK_BATCH_SIZE`` / ``ORMA_WEBHOOK_DOORBELL_THREAD`` for the worker and
    this process (the environment's ``ORMA_*`` are dropped), to compare a setting back to back.

    Needs PostgreSQL (``orma_webhooks_bench`` on 127.0.0.1:5432 unless ``DATABASE_URL`` names another whose
    name contains "bench"; dropped and recreated) and ``redis-server``. Every process it starts is stopped by
    its process group. Results: ``bench/results/webhooks.json``.

Exit status: 0 measured (goals reported met or missed; ``--strict``: 1 when one is missed), 2 could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.common import BenchError  # noqa: E402
from tests.processes import CeleryBeat, CeleryWorker, ProcessStartError, RedisServer, stop_all  # noqa: E402

DATABASE_NAME = "orma_webhooks_bench"
GOAL_RATIO = 0.5
GOAL_FIRST_ATTEMPT_P99_MS = 200.0
GOAL_CREATE_ADDED_P99_MS = 2.0
GOAL_ISOLATION = 1.10
# The parts of a run (``--only``): each can be run alone, to compare a setting back to back.
PARTS = ("create", "throughput", "first-attempt", "isolation")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", default="threads", choices=["threads", "prefork"])
    parser.add_argument("--slots", type=int, default=2, help="worker slots of the throughput run (default 2)")
    parser.add_argument("--isolation-slots", type=int, default=16, help="worker slots of runs 3-4 (default 16)")
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--isolation-rounds", type=int, default=3, help="rounds of each condition of the isolation run (default 3)"
    )
    parser.add_argument("--hang-timeout", type=float, default=15.0, help="ORMA_WEBHOOK_TIMEOUT_SECONDS (15)")
    parser.add_argument("--batch-size", type=int, default=None, help="ORMA_WEBHOOK_BATCH_SIZE (the setting's default)")
    parser.add_argument(
        "--doorbell-thread", type=int, choices=[0, 1], default=None,
        help="ORMA_WEBHOOK_DOORBELL_THREAD (the setting's default)",
    )  # fmt: skip
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"comma-separated parts to run (default all: {','.join(PARTS)})"
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--strict", action="store_true")
    return parser.parse_args(argv)


def describe(values_ms: list[float]) -> dict[str, float]:
    return {
        "count": len(values_ms),
        "p50": common.percentile(values_ms, 50),
        "p99": common.percentile(values_ms, 99),
        "max": max(values_ms),
    }


# --- data ------------------------------------------------------------------------------------------


def create_world(url: str) -> dict[str, Any]:
    """A dealer (sandbox DMS), a department, a customer, a partner subscribed (full form) at ``url``."""
    from notifications.models import PayloadForm, Subscription
    from notifications.signing import new_secret
    from orders import services
    from tenancy.services import GrantSpec, dealer_create, department_create, partner_create

    dealer = dealer_create(name="Autohaus Webhooks Bench")
    department = department_create(dealer=dealer, name="Service")
    customer = services.customer_create(dealer=dealer, data={"givenName": "Max", "familyName": "Muster"})
    username = f"wh-bench-{secrets.token_hex(4)}"
    partner, secret = partner_create(
        name="Webhooks Bench Partner",
        username=username,
        grants=[GrantSpec(department.uuid, ("order.create", "order.read", "notification.manage"))],
    )
    subscription = Subscription.objects.create(
        partner=partner, url=url, event_types=["order.created"], payload_form=PayloadForm.FULL, secret=new_secret()
    )
    subscription.departments.set([department])
    return {"department": department, "customer": customer, "auth": (username, secret), "subscription": subscription}


def subscription_for(world: dict[str, Any], url: str) -> Any:
    from notifications.models import PayloadForm, Subscription
    from notifications.signing import new_secret

    subscription = Subscription.objects.create(
        partner=world["subscription"].partner, url=url, event_types=["bench"], payload_form=PayloadForm.THIN,
        secret=new_secret(),
    )  # fmt: skip
    subscription.departments.set([world["department"]])
    return subscription


def record(subscription: Any, department: Any, subject: str) -> Any:
    """One event with one delivery to ``subscription``, committed alone (its doorbell published on commit)."""
    from django.db import transaction

    from notifications.delivery import event_record

    with transaction.atomic():
        return event_record(
            event_type="order.updated",
            department=department,
            subject_key=subject,
            data={"orderUUID": subject, "version": 1},
            subscriptions=[subscription],
        )


# --- the measures ----------------------------------------------------------------------------------


def measure_create_cost(world: dict[str, Any], creates: int) -> dict[str, Any]:
    import threading

    from django.test import Client

    from notifications import doorbell, receivers
    from orders.tests.factories import minimal_body
    from orma import events, outbox

    client = Client(HTTP_HOST="127.0.0.1")
    username, secret = world["auth"]
    headers = {"Authorization": common.basic_auth(username, secret)}
    path = f"/order/v2/department/{world['department'].uuid}/order"
    spent: list[float] = []
    publish, flush = outbox._publish, doorbell._Transaction.flush
    request_thread = threading.current_thread()

    def timed_receiver(event: Any) -> None:
        started = time.perf_counter()
        receivers.repair_order_event(event)
        spent.append((time.perf_counter() - started) * 1000)

    # What the create's own thread pays after its commit: the doorbell's hand-over (and its publish, when that
    # runs in this thread); a publish on the doorbell's own thread is not the create's time.
    def timed_publish(task: Any, row_id: int) -> None:
        started = time.perf_counter()
        publish(task, row_id)
        if task.name.startswith("notifications.deliver") and threading.current_thread() is request_thread:
            spent[-1] += (time.perf_counter() - started) * 1000

    def timed_flush(self: Any) -> None:
        started = time.perf_counter()
        flush(self)
        spent[-1] += (time.perf_counter() - started) * 1000

    events.unsubscribe(receivers.repair_order_event)
    events.subscribe(timed_receiver, *receivers.ORDER_EVENTS, phase=events.Phase.IN_TRANSACTION)
    outbox._publish = timed_publish
    doorbell._Transaction.flush = timed_flush  # type: ignore[method-assign]
    try:
        for number in range(creates + 20):
            body = json.dumps(minimal_body(world["customer"], number=f"CC-{number}"))
            response = client.put(path, body, content_type="application/json", headers=headers)
            if response.status_code != 201:
                raise BenchError(f"create answered {response.status_code}: {response.content[:300]!r}")
    finally:
        outbox._publish = publish
        doorbell._Transaction.flush = flush  # type: ignore[method-assign]
        events.unsubscribe(timed_receiver)
        events.subscribe(receivers.repair_order_event, *receivers.ORDER_EVENTS, phase=events.Phase.IN_TRANSACTION)
    return describe(spent[20:])  # the first 20 warm up


def wait_delivered(ids: list[int], timeout: float, what: str) -> None:
    from notifications.models import Delivery, DeliveryStatus

    deadline = time.monotonic() + timeout
    while (done := Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.DELIVERED).count()) < len(ids):
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: {done} of {len(ids)} delivered after {timeout:.0f} s")
        time.sleep(0.2)


def measure_throughput(world: dict[str, Any], worker: CeleryWorker, count: int, endpoint: Any) -> dict[str, Any]:
    import requests
    from django.db import transaction
    from django.db.models import Max, Min

    from notifications import payloads
    from notifications.delivery import event_record
    from notifications.models import Delivery, DeliveryAttempt

    subscription = subscription_for(world, endpoint.url)
    with transaction.atomic():  # one transaction: the doorbells are published together on commit
        for n in range(count):
            event_record(
                event_type="order.updated",
                department=world["department"],
                subject_key=f"order:tp-{n}",
                data={"orderUUID": f"tp-{n}", "version": 1},
                subscriptions=[subscription],
            )
    ids = list(Delivery.objects.filter(subscription=subscription).values_list("pk", flat=True))
    body = payloads.body(Delivery.objects.select_related("event__department").get(pk=ids[0]).event, "thin")
    worker.start()
    wait_delivered(ids, timeout=600, what="throughput")
    span = DeliveryAttempt.objects.filter(delivery_id__in=ids).aggregate(a=Min("started_at"))["a"]
    last = Delivery.objects.filter(pk__in=ids).aggregate(b=Max("delivered_at"))["b"]
    seconds = (last - span).total_seconds()
    worker.stop()

    started = time.perf_counter()
    for _ in range(count):  # the yardstick: one client, a new connection per request, no signing, no database
        requests.post(endpoint.url, data=body, headers={"content-type": "application/json"}, timeout=15)
    plain = time.perf_counter() - started
    # A second yardstick, stricter: the same loop on one kept-alive session (as the worker's connections are).
    with requests.Session() as session:
        started = time.perf_counter()
        for _ in range(count):
            session.post(endpoint.url, data=body, headers={"content-type": "application/json"}, timeout=15)
        plain_session = time.perf_counter() - started
    return {
        "deliveries": count,
        "seconds": seconds,
        "per_second": count / seconds,
        "plain_per_second": count / plain,
        "ratio": (count / seconds) / (count / plain),
        "plain_session_per_second": count / plain_session,
        "ratio_vs_session": (count / seconds) / (count / plain_session),
    }


def paced(world: dict[str, Any], subscriptions: list[Any], rate: float, seconds: float, tag: str) -> dict[int, float]:
    """Events at ``rate`` per second to each of ``subscriptions``; answers {delivery id: commit instant (epoch)}
    of the first subscription's."""
    from notifications.models import Delivery

    committed: dict[int, float] = {}
    total = int(rate * seconds)
    start = time.monotonic()
    for n in range(total):
        time.sleep(max(0.0, start + n / rate - time.monotonic()))
        for index, subscription in enumerate(subscriptions):
            event = record(subscription, world["department"], f"order:{tag}-{index}-{n}")
            if index == 0:
                committed_at = time.time()
                delivery_id = Delivery.objects.filter(event=event).values_list("pk", flat=True).get()
                committed[delivery_id] = committed_at
    return committed


def measure_first_attempt(world: dict[str, Any], endpoint: Any, rate: float, seconds: float) -> dict[str, float]:
    from notifications.models import DeliveryAttempt

    subscription = subscription_for(world, endpoint.url)
    committed = paced(world, [subscription], rate, seconds, "fa")
    wait_delivered(list(committed), timeout=60, what="first attempt")
    first = dict(
        DeliveryAttempt.objects.filter(delivery_id__in=committed, number=1).values_list("delivery_id", "started_at")
    )
    return describe([max(0.0, (first[d].timestamp() - at) * 1000) for d, at in committed.items()])


def delivered_latencies(committed: dict[int, float]) -> list[float]:
    from notifications.models import Delivery

    rows = Delivery.objects.filter(pk__in=committed).values_list("pk", "delivered_at")
    return [max(0.0, (delivered.timestamp() - committed[pk]) * 1000) for pk, delivered in rows]


def measure_isolation(
    world: dict[str, Any], healthy: Any, hanging: Any, rate: float, seconds: float, rounds: int
) -> dict[str, Any]:
    """The healthy partner's commit -> DELIVERED alone and beside a hanging endpoint, in ``rounds`` rounds of
    each, alternated (alone, beside, beside, alone, ...) after a warm-up, so that both conditions meet the
    machine's load alike; the p99s are of every round's deliveries of a condition together.

    Each "beside" round starts with a fresh hanging subscription (its first doorbells take the cap's slots,
    the others are turned away) and ends with it disabled and its held requests released, so that the next
    "alone" round is undisturbed."""
    from notifications.delivery import subscription_disable
    from notifications.models import Delivery, DeliveryStatus, SubscriptionNotice
    from notifications.tests.receiver import Reply

    hanging.script = lambda request: Reply(hang=True)
    # the worker's threads open their connections (database, endpoint) before anything is measured
    warm = paced(world, [subscription_for(world, healthy.url)], rate, min(seconds, 3.0), "iso-warm")
    wait_delivered(list(warm), timeout=60, what="warm-up")
    latencies: dict[str, list[float]] = {"alone": [], "beside": []}
    per_round: list[dict[str, Any]] = []
    held_most = 0
    for number in range(rounds):
        for condition in ("alone", "beside") if number % 2 == 0 else ("beside", "alone"):
            good = subscription_for(world, healthy.url)
            subscriptions = [good]
            if condition == "beside":
                hanging.hold()
                hanging.max_concurrent = hanging.concurrent  # this round's (0: the last round's were released)
                bad = subscription_for(world, hanging.url)
                subscriptions.append(bad)
            committed = paced(world, subscriptions, rate, seconds, f"iso-{number}-{condition}")
            wait_delivered(list(committed), timeout=120, what=f"{condition} (round {number + 1})")
            measured = delivered_latencies(committed)
            latencies[condition] += measured
            per_round.append({"condition": condition, **describe(measured)})
            if condition == "beside":
                per_round[-1]["hanging_max_concurrent"] = hanging.max_concurrent
                held_most = max(held_most, hanging.max_concurrent)
                subscription_disable(
                    subscription_id=bad.pk, kind=SubscriptionNotice.Kind.DISABLED_FAILING, reason="bench round over"
                )
                hanging.release()
                deadline = time.monotonic() + 30
                sending = Delivery.objects.filter(subscription=bad, status=DeliveryStatus.SENDING)
                while hanging.concurrent or sending.exists():
                    if time.monotonic() > deadline:
                        raise BenchError("the hanging endpoint's requests did not end after their release")
                    time.sleep(0.1)
    undisturbed_ms, disturbed_ms = describe(latencies["alone"]), describe(latencies["beside"])
    return {
        "rounds": rounds,
        "undisturbed_ms": undisturbed_ms,
        "disturbed_ms": disturbed_ms,
        "p99_ratio": disturbed_ms["p99"] / undisturbed_ms["p99"],
        "per_round": per_round,
        "hanging_max_concurrent": held_most,  # the most it held at once in a round
    }


# --- the run ---------------------------------------------------------------------------------------


def knob_overrides(args: argparse.Namespace) -> dict[str, str]:
    """The delivery settings the options set (``server_env`` drops inherited ``ORMA_*`` variables)."""
    overrides = {}
    if args.batch_size is not None:
        overrides["ORMA_WEBHOOK_BATCH_SIZE"] = str(args.batch_size)
    if args.doorbell_thread is not None:
        overrides["ORMA_WEBHOOK_DOORBELL_THREAD"] = str(args.doorbell_thread)
    return overrides


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    parts = {part.strip() for part in args.only.split(",") if part.strip()}
    if unknown := parts - set(PARTS):
        print(f"error: unknown part(s) {', '.join(sorted(unknown))} (known: {', '.join(PARTS)})", file=sys.stderr)
        return 2
    try:
        database_url = common.bench_database_url(DATABASE_NAME)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    load = common.machine_load()
    if warning := common.busy_machine_warning(load):
        print(f"warning: {warning}", file=sys.stderr)
    common.recreate_database(database_url)
    results: dict[str, Any] = {"pool": args.pool, "slots": args.slots, "rate": args.rate, "load_before": load}

    from notifications.tests.receiver import Receiver

    with tempfile.TemporaryDirectory(prefix="orma-webhooks-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        redis = RedisServer(log_dir=scratch)
        env = common.server_env(
            settings_module="orma.settings",
            database_url=database_url,
            cache_url=redis.url(1),
            extra={
                "CELERY_BROKER_URL": redis.url(0),
                "ORMA_CELERY_EAGER": "0",
                "ORMA_CELERY_DIR": str(scratch / "celery"),
                "ORMA_PARTNER_RATE_LIMIT": "100000000/minute",
                "ORMA_WEBHOOK_ALLOW_PRIVATE": "1",
                "ORMA_WEBHOOK_TIMEOUT_SECONDS": str(args.hang_timeout),
                "ORMA_WEBHOOK_LEASE_SECONDS": str(int(args.hang_timeout * 4)),
                **knob_overrides(args),
            },
        )
        throughput_worker = CeleryWorker(
            env, pool=args.pool, concurrency=args.slots, queues="webhooks", log_dir=scratch, supervised=False
        )
        worker = CeleryWorker(
            env, pool=args.pool, concurrency=args.isolation_slots, queues="webhooks", log_dir=scratch, supervised=False
        )
        throughput_worker.log_path = common.RESULTS_DIR / "worker-webhooks-throughput.log"
        worker.log_path = common.RESULTS_DIR / "worker-webhooks.log"
        beat = CeleryBeat(env, log_dir=scratch)
        endpoint, hanging = Receiver().start(), Receiver().start()
        try:
            redis.start()
            common.setup_django(env)
            common.migrate()
            from django.conf import settings

            from notifications.delivery import DeliverySettings

            # "2 workers" of the throughput goal: one worker process with ``--slots`` threads, each taking batches
            results["worker"] = {
                "processes": 1,
                "pool": args.pool,
                "throughput_slots": args.slots,
                "isolation_slots": args.isolation_slots,
                "batch_size": DeliverySettings.current().batch_size,
            }
            results["worker"]["doorbell_thread"] = settings.ORMA_WEBHOOK_DOORBELL_THREAD
            world = create_world(endpoint.url)
            if "create" in parts:
                print(f"create cost: {args.creates} in-process creates with a full-form subscriber ...")
                results["create_added_ms"] = measure_create_cost(world, args.creates)
            redis.flushall()
            from notifications.models import Delivery

            Delivery.objects.all().delete()
            if "throughput" in parts:
                print(f"throughput: {args.deliveries} deliveries, {args.slots} {args.pool} slots ...")
                results["throughput"] = measure_throughput(world, throughput_worker, args.deliveries, endpoint)
            if "first-attempt" in parts or "isolation" in parts:
                beat.start()
                worker.start()
            if "first-attempt" in parts:
                print(f"commit -> first attempt at {args.rate:g}/s for {args.seconds:g} s ...")
                results["first_attempt_ms"] = measure_first_attempt(world, endpoint, args.rate, args.seconds)
            if "isolation" in parts:
                print("isolation: a healthy partner alone, then beside a hanging endpoint ...")
                results["isolation"] = measure_isolation(
                    world, endpoint, hanging, args.rate, args.seconds, args.isolation_rounds
                )
        except (BenchError, ProcessStartError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        finally:
            hanging.stop()
            endpoint.stop()
            stop_all([throughput_worker, worker, beat])
            redis.stop()
            common.close_database_connections()
            if not args.keep_db:
                common.drop_database(database_url)

    goals = {}
    if "create_added_ms" in results:
        goals["create_added_p99"] = results["create_added_ms"]["p99"] <= GOAL_CREATE_ADDED_P99_MS
    if "throughput" in results:
        goals["throughput_ratio"] = results["throughput"]["ratio"] >= GOAL_RATIO
    if "first_attempt_ms" in results:
        goals["first_attempt_p99"] = results["first_attempt_ms"]["p99"] <= GOAL_FIRST_ATTEMPT_P99_MS
    if "isolation" in results:
        goals["isolation"] = results["isolation"]["p99_ratio"] <= GOAL_ISOLATION
    results["goals"] = goals
    results["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    results["revision"] = common.git_revision()
    name = "webhooks" if args.pool == "threads" else f"webhooks-{args.pool}"
    if parts != set(PARTS):  # a partial run does not overwrite the full run's results
        name += "-" + "-".join(part for part in PARTS if part in parts)
    path = common.write_results(name, results)
    print_summary(results, goals)
    print(f"results: {path}")
    return 1 if args.strict and not all(goals.values()) else 0


def print_summary(results: dict[str, Any], goals: dict[str, bool]) -> None:
    def met(goal: str) -> str:
        return "met" if goals[goal] else "MISSED"

    print()
    print(f"Webhook delivery, {results['pool']} pool")
    if cost := results.get("create_added_ms"):
        print(f"  events on a create: p50 {cost['p50']:.2f} ms, p99 {cost['p99']:.2f} ms ({met('create_added_p99')})")
    if tp := results.get("throughput"):
        print(
            f"  throughput ({results['slots']} slots): {tp['per_second']:.0f}/s signed "
            f"vs {tp['plain_per_second']:.0f}/s "
            f"plain requests.post = {tp['ratio']:.2f}x ({met('throughput_ratio')}); "
            f"{tp['ratio_vs_session']:.2f}x a kept-alive session's {tp['plain_session_per_second']:.0f}/s"
        )
    if first := results.get("first_attempt_ms"):
        print(
            f"  commit -> first attempt: p50 {first['p50']:.0f} ms, p99 {first['p99']:.0f} ms "
            f"({met('first_attempt_p99')})"
        )
    if iso := results.get("isolation"):
        print(
            f"  healthy partner commit -> delivered p99: {iso['undisturbed_ms']['p99']:.0f} ms alone, "
            f"{iso['disturbed_ms']['p99']:.0f} ms beside a hanging endpoint = {iso['p99_ratio']:.2f}x "
            f"({met('isolation')}); the hanging endpoint held {iso['hanging_max_concurrent']} requests at most"
        )


if __name__ == "__main__":
    sys.exit(main())
