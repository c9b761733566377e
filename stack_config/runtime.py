"""The running stack's config, read through ``pulumi.Config`` and handed to ``load``."""

from __future__ import annotations

from typing import Any

import pulumi

from stack_config.keys import KEYS, NAMESPACE, SECTIONS, key
from stack_config.stack import StackConfig, load


def _set_names() -> set[str]:
    """The ``bakery:*`` names this stack sets.

    ``pulumi.Config`` reads a key but cannot list keys, so every name Bakery knows
    (each key and each section object) is asked for, and the names in the config bag
    the CLI hands the program (``PULUMI_CONFIG``, public as
    ``pulumi.runtime.get_config_env``) are added, so that a misspelt key is reported
    instead of ignored.
    """
    config = pulumi.Config(NAMESPACE)
    known = {name for name in (*KEYS, *SECTIONS) if config.get(name) is not None}
    passed = {
        name.removeprefix(f"{NAMESPACE}:")
        for name in pulumi.runtime.get_config_env()
        if name.startswith(f"{NAMESPACE}:")
    }
    return known | passed


def _bakery_config() -> tuple[dict[str, Any], list[str]]:
    """Every ``bakery:*`` key of the stack as the engine passed it (strings), and the
    secret ones."""
    config = pulumi.Config(NAMESPACE)
    names = sorted(_set_names())
    values = {key(name): config.get(name) for name in names}
    secrets = [key(name) for name in names if pulumi.runtime.is_config_secret(key(name))]
    return values, secrets


def from_pulumi() -> StackConfig:
    """The running stack's config (``bakery:*`` and ``aws:region``).

    Raises:
        StackConfigError: with every problem found, each naming its key.
    """
    values, secret_keys = _bakery_config()
    return load(
        values,
        region=pulumi.Config("aws").get("region"),
        stack=pulumi.get_stack(),
        project=pulumi.get_project(),
        secret_keys=secret_keys,
    )
