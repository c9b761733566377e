"""Input rules (providers/aws/rules/validation.py) that need more than a field test."""

from __future__ import annotations

from typing import Any

import pytest

from providers.aws.rules import validation


def test_known_regions_read_once_per_process() -> None:
    first = validation.known_regions()

    assert {"us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"} <= first
    assert validation.known_regions() is first  # botocore's data is read once


def test_check_copy_regions_empty_map_reads_no_region_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse() -> Any:
        raise AssertionError("an empty map needs no region list")

    monkeypatch.setattr(validation, "known_regions", refuse)

    assert validation.check_copy_regions({}, "us-east-1") == []
    assert validation.check_copy_regions(None, "us-east-1") == []


def test_check_copy_regions_names_an_unknown_region_and_the_home_region() -> None:
    problems = validation.check_copy_regions(
        {"eu-west-9": None, "us-east-1": None, "eu-west-1": None}, "us-east-1"
    )

    fields = [p.field for p in problems]
    assert fields == ["copy_to_regions.eu-west-9", "copy_to_regions.us-east-1"]
