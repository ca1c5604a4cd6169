"""Keep the credential cache honest: any change to a partner evicts its cached credentials."""

from typing import Any

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Partner
from .selectors import partner_credentials_cache_key


@receiver(post_save, sender=Partner)
@receiver(post_delete, sender=Partner)
def _evict_partner_credentials(sender: type[Partner], instance: Partner, **_: Any) -> None:
    cache.delete(partner_credentials_cache_key(instance.username))
