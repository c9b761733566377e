"""One builder of BakedImage props (``news``) for the provider tests that call ``check``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import REGION

News = Callable[..., dict[str, Any]]


def news_builder(lineage: str, **defaults: Any) -> News:
    """``news(instance_id, **overrides)``: the props of a bake of ``instance_id``.

    Every props has the instance, ``lineage``, triggers ``["patch-1"]`` and the test
    region; ``defaults`` add to them (or change them) for one test module.
    """

    def news(instance_id: str, **overrides: Any) -> dict[str, Any]:
        return {
            "instance_id": instance_id,
            "lineage": lineage,
            "triggers": ["patch-1"],
            "region": REGION,
            **defaults,
            **overrides,
        }

    return news
