"""The support commands as a person or a script meets them: the ``orma`` entry point on a fresh clone,
``--json`` refusals as JSON, and ``--help`` that states every flag's default and valid values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

from orma.management.base import OrmaCommand

ROOT = Path(__file__).resolve().parent.parent
# Django's own options of every command: documented by Django.
_DJANGO_OPTIONS = {"help", "version", "verbosity", "settings", "pythonpath", "traceback", "no_color", "force_color"}
_DJANGO_OPTIONS |= {"skip_checks"}


def orma_commands() -> dict[str, OrmaCommand]:
    commands = {}
    for name, app in sorted(get_commands().items()):
        if name.startswith("orma_"):
            command = load_command_class(app, name)
            if isinstance(command, OrmaCommand):
                commands[name] = command
    return commands


COMMANDS = orma_commands()


def test_every_support_command_is_an_orma_command():
    assert {"orma_create_dealer", "orma_check", "orma_import_parts", "orma_rotate_partner_secret"} <= set(COMMANDS)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_under_json_a_bad_argument_is_a_json_error_with_a_non_zero_exit(name):
    out, err = StringIO(), StringIO()
    command = type(COMMANDS[name])(stdout=out, stderr=err)

    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(["orma", name, "--json", "--no-such-flag"])

    assert exited.value.code != 0
    assert set(json.loads(out.getvalue())) == {"error"}


@pytest.mark.django_db
def test_under_json_a_refusal_of_the_rules_is_a_json_error_too():
    out = StringIO()
    command = type(COMMANDS["orma_rotate_partner_secret"])(stdout=out, stderr=StringIO())

    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(["orma", "orma_rotate_partner_secret", "--json", "--username", "ghost"])

    assert exited.value.code == 1
    assert json.loads(out.getvalue()) == {"error": "no partner with username 'ghost'"}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_flag_says_its_default_and_its_valid_values(name):
    parser = COMMANDS[name].create_parser("orma", name)
    for action in parser._actions:
        if action.dest in _DJANGO_OPTIONS:
            continue
        text = (action.help or "") % {"default": action.default, "prog": "orma"}
        assert text, f"{name} {action.option_strings or action.dest}: no help"
        if action.option_strings and not action.required:
            assert "default" in text.lower(), f"{name} {action.option_strings}: says no default: {text!r}"
        for choice in action.choices or ():
            assert str(choice) in text, f"{name} {action.option_strings}: does not name {choice!r}: {text!r}"


def test_the_orma_console_command_is_declared():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]

    assert scripts == {"orma": "orma.cli:main"}


def _clean_environment(tmp_path: Path) -> dict[str, str]:
    """A fresh clone's shell: no DEBUG, no SECRET_KEY, no settings of CI; SQLite in a temporary folder."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'orma.sqlite3'}",
        "ORMA_CELERY_DIR": str(tmp_path / "celery"),
    }


def test_the_console_command_works_without_debug_or_secret_key_as_make_run_does(tmp_path):
    env = _clean_environment(tmp_path)
    run = [sys.executable, "-m", "orma"]

    # from the clone, as a person runs it (the venv's `orma` script runs the same orma.cli:main)
    listed = subprocess.run([*run, "help"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    refused = subprocess.run(
        [*run, "orma_create_dealer", "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert listed.returncode == 0, listed.stderr
    assert "orma_create_dealer" in listed.stdout
    assert "SECRET_KEY" not in listed.stderr + refused.stderr  # no ImproperlyConfigured traceback
    assert refused.returncode != 0
    assert json.loads(refused.stdout) == {"error": "Error: the following arguments are required: --name"}
