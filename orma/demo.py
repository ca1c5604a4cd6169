"""The demo world of the embedded default (``orma_seed_demo``): every app seeds its own part.

An app takes part by giving its ``AppConfig`` a ``seed_demo(demo)`` method. They run in the order of
``INSTALLED_APPS``, inside one transaction, so each finds what the apps it builds on made (tenancy's
dealer before the orders app's customers before the parts catalogue) and plumbing imports no domain app.
Seeding is idempotent: stable UUIDs, rows found before they are made.

The demo secrets are kept in ``var/demo_credentials.json`` (a development-only file, never committed) so
that re-running the seed prints credentials that still work instead of rotating them every time.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import transaction


def demo_uuid(suffix: str) -> uuid.UUID:
    """A stable UUID of a demo row: ``d0000000-0000-4000-8000-000000000<suffix>``."""
    return uuid.UUID(f"d0000000-0000-4000-8000-{suffix:0>12}")


@dataclass
class Demo:
    """The demo world as it is being seeded: what the apps made, what ``--json`` prints, what a human reads."""

    base_url: str
    credentials: dict[str, str]  # the secrets kept between runs
    made: dict[str, Any] = field(default_factory=dict)  # the rows later apps build on: "dealer", "customers" ...
    result: dict[str, Any] = field(default_factory=dict)  # the --json keys of DESIGN §8
    lines: list[str] = field(default_factory=list)


def _credentials_file() -> Path:
    return Path(settings.VAR_DIR) / "demo_credentials.json"


def _load_credentials() -> dict[str, str]:
    try:
        return json.loads(_credentials_file().read_text())
    except (OSError, ValueError):
        return {}


def _save_credentials(credentials: dict[str, str]) -> None:
    path = _credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(credentials, indent=2))
    path.chmod(0o600)


def seed_demo(*, base_url: str) -> Demo:
    """Seed every app's demo data (idempotent) and answer what was made."""
    demo = Demo(base_url=base_url.rstrip("/"), credentials=_load_credentials())
    with transaction.atomic():
        for config in apps.get_app_configs():
            seeder = getattr(config, "seed_demo", None)
            if seeder is not None:
                seeder(demo)
    _save_credentials(demo.credentials)
    return demo
