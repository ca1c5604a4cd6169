"""Keep the partners' cached access honest: any change to a partner, a grant, or a department or dealer a
partner holds a grant on makes the cached credentials and grants of the partners concerned stale
(``tenancy.services.partner_access_evict``), from every write path that saves or deletes a model."""

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from .models import Dealer, Department, Grant, Partner
from .services import partner_access_evict


@receiver(pre_save, sender=Partner)
def _remember_old_username(sender: type[Partner], instance: Partner, update_fields: Any = None, **_: Any) -> None:
    # a renamed partner's entries live under its old username: they must go stale too
    if instance.pk is None or (update_fields is not None and "username" not in update_fields):
        return
    instance._orma_old_username = (  # type: ignore[attr-defined]
        Partner.objects.filter(pk=instance.pk).values_list("username", flat=True).first()
    )


@receiver(post_save, sender=Partner)
@receiver(post_delete, sender=Partner)
def _evict_partner(sender: type[Partner], instance: Partner, **_: Any) -> None:
    partner_access_evict(usernames={instance.username, getattr(instance, "_orma_old_username", None) or ""})


@receiver(post_save, sender=Grant)
@receiver(post_delete, sender=Grant)
def _evict_grant(sender: type[Grant], instance: Grant, **_: Any) -> None:
    if Grant.partner.is_cached(instance):  # type: ignore[attr-defined]
        username = instance.partner.username
    else:  # a cascade's grants come without their partner (whose row still exists: it is deleted after them)
        username = Partner.objects.filter(pk=instance.partner_id).values_list("username", flat=True).first()
    partner_access_evict(usernames={username or ""})


@receiver(post_save, sender=Department)
@receiver(post_delete, sender=Department)
def _evict_department(sender: type[Department], instance: Department, created: bool = False, **_: Any) -> None:
    if not created:  # a new department is in no grant yet
        partner_access_evict(
            usernames=set(Grant.objects.filter(department_id=instance.pk).values_list("partner__username", flat=True))
        )


@receiver(post_save, sender=Dealer)
@receiver(post_delete, sender=Dealer)
def _evict_dealer(sender: type[Dealer], instance: Dealer, created: bool = False, **_: Any) -> None:
    if not created:
        partner_access_evict(
            usernames=set(
                Grant.objects.filter(department__dealer_id=instance.pk).values_list("partner__username", flat=True)
            )
        )
