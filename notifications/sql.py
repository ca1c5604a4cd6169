"""Hand-written SQL of notifications (PostgreSQL), each next to the ORM code it replaces, which SQLite runs.

- :data:`EVENT_WITH_DELIVERIES`: the event of a change and its deliveries in one statement, in the change's
  transaction. The ORM needs two (the event's INSERT for its id, then the deliveries' INSERT), and a create
  pays each round trip while it holds its locks (issue 10: what writing the events adds to a create).
  ``notifications.delivery._event_write_orm`` is the same write through the ORM; a test feeds both the
  same input on PostgreSQL and compares the stored rows. Its RETURNING also tells, per subscription, whether
  every slot is held by a request that hangs, at no extra round trip (the ORM's path always rings).
- :data:`SUBSCRIBERS`: who may hear of a department's events, asked whenever a process does not hold the answer
  (issue 10: what the events add to a create). The ORM's queryset
  (``notifications.delivery._department_subscribers_orm``, which SQLite runs) spends about 0.9 ms building and
  compiling its three joins before the round trip; this is the same match, the scope compared by PostgreSQL's
  JSON containment instead of in Python. A test feeds both the same subscriptions on PostgreSQL and compares who
  is chosen.
- :data:`CLAIM_SUBSCRIPTION` and :data:`IN_FLIGHT`: the claim's first two steps (``notifications.delivery._claim``),
  which every doorbell pays, and a doorbell of a subscription at its cap (a hanging endpoint's, at the event rate)
  pays nothing else. The ORM spent ~2.5 ms of CPU building and compiling the first one (its two subqueries) for a
  statement PostgreSQL answers in ~0.1 ms, in the webhooks worker's process, where that CPU is taken from the
  threads delivering to healthy partners (issue 10: a healthy partner's p99 beside a hanging endpoint).
  ``notifications.delivery._claim_subscription_orm`` and ``_in_flight_orm`` are the same through the ORM; a test
  feeds both the same deliveries on PostgreSQL and compares their answers.

All of them run through ``orma.db.prepared_cursor``: PostgreSQL prepares each once per connection. Planned anew
on every run (Django's cursors bind on the client), the event's CTE cost ~0.6 ms of the ~1.1 ms a create spent
on its events; the tests run each past the prepare threshold, with generic plans forced too.
"""

from __future__ import annotations

# The event's row, then one PENDING delivery per subscription id (with its uuid, made in Python like the ORM's
# default), all referencing it; answers the event's id and each delivery's id with its subscription's, and
# whether every slot of that subscription is held by a request in flight since before ``held_since`` (claimed
# that long ago: an endpoint that hangs). Such a delivery rings no doorbell (``delivery.event_record``): no
# claim could take it, and its doorbell cost the worker a claim turned away at the event's rate.
EVENT_WITH_DELIVERIES = """
WITH event AS (
    INSERT INTO notifications_event (uuid, type, department_id, subject_key, data, document, occurred_at)
    VALUES (%(uuid)s, %(type)s, %(department_id)s, %(subject_key)s, %(data)s, %(document)s, %(now)s)
    RETURNING id
)
INSERT INTO notifications_delivery (
    status, attempts, next_attempt_at, lease_until, attempt_token, pending_since, last_error, created_at,
    updated_at, uuid, subscription_id, event_id, subject_key, event_type, delivered_at
)
SELECT 'PENDING', 0, %(now)s, NULL, NULL, %(now)s, '', %(now)s, %(now)s, wanted.uuid, wanted.subscription_id,
       event.id, %(subject_key)s, %(type)s, NULL
FROM event, unnest(%(subscription_ids)s::bigint[], %(uuids)s::uuid[]) WITH ORDINALITY
     AS wanted (subscription_id, uuid, position)
ORDER BY wanted.position
RETURNING event_id, id, subscription_id,
    (SELECT count(DISTINCT coalesce(sending.attempt_token, sending.uuid))
     FROM notifications_delivery AS sending
     WHERE sending.subscription_id = notifications_delivery.subscription_id
       AND sending.status = 'SENDING'
       AND sending.lease_until > %(now)s
       AND sending.lease_until <= %(held_since)s) >= %(max_in_flight)s AS held
"""


# The enabled subscriptions covering the department whose partner is active and still holds notification.manage
# on it (the grant row joined: a revoked grant hears nothing more): (id, payload form, event types). The types
# are matched by the caller: the answer is held per department for every type (notifications.delivery).
SUBSCRIBERS = """
SELECT subscription.id, subscription.payload_form, subscription.event_types
FROM notifications_subscription AS subscription
JOIN notifications_subscription_departments AS covered
     ON covered.subscription_id = subscription.id AND covered.department_id = %(department_id)s
JOIN orders_partner AS partner ON partner.id = subscription.partner_id AND partner.is_active
JOIN orders_grant AS granted
     ON granted.partner_id = subscription.partner_id AND granted.department_id = %(department_id)s
WHERE subscription.enabled
  AND granted.scopes @> %(scopes)s::jsonb
"""


# The rung delivery's subscription, locked (FOR NO KEY UPDATE: it neither waits for nor holds up the inserts of
# new deliveries referencing it), only when the delivery is due (pending and due, or sending under a lease that
# ran out) and this statement's snapshot sees fewer requests in flight than the cap (distinct tokens of the
# subscription's SENDING rows under a live lease; a row without a token counts alone): a subscription at its cap
# is not locked at all. No row: nothing to claim.
CLAIM_SUBSCRIPTION = """
SELECT subscription.id
FROM notifications_subscription AS subscription
WHERE subscription.id = (
        SELECT rung.subscription_id
        FROM notifications_delivery AS rung
        WHERE rung.id = %(delivery_id)s
          AND ((rung.status = 'PENDING' AND rung.next_attempt_at <= %(now)s)
               OR (rung.status = 'SENDING' AND rung.lease_until < %(now)s))
      )
  AND (SELECT count(DISTINCT coalesce(sending.attempt_token, sending.uuid))
       FROM notifications_delivery AS sending
       WHERE sending.subscription_id = subscription.id
         AND sending.status = 'SENDING'
         AND sending.lease_until > %(now)s) < %(max_in_flight)s
FOR NO KEY UPDATE OF subscription
"""

# The subscription's requests in flight, counted again once its row is locked (the count that lets a claim go).
IN_FLIGHT = """
SELECT count(DISTINCT coalesce(attempt_token, uuid))
FROM notifications_delivery
WHERE subscription_id = %(subscription_id)s AND status = 'SENDING' AND lease_until > %(now)s
"""
