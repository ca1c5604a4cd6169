"""What the parts app tells the rest of OrMa, sent only after the change is committed.

The notifications app subscribes to these to emit ``parts_order.created`` and
``parts_order.status_changed`` (DESIGN §7); nothing else in the parts app depends on who listens.
"""

from django.dispatch import Signal

# sender=PartsOrder, parts_order=<PartsOrder>
parts_order_created = Signal()
# sender=PartsOrder, parts_order=<PartsOrder>, old_status=str, new_status=str
parts_order_status_changed = Signal()
