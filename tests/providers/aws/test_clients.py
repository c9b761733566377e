"""Clients: one region, endpoint and purpose; each service's client built once, by make_client."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

import providers.aws.clients as clients_module
from providers.aws.clients import (
    CHECK_MAX_ATTEMPTS,
    MAX_ATTEMPTS,
    PROBE_MAX_ATTEMPTS,
    Clients,
)


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What each make_client call was asked for; the fake returns a fresh object per call."""
    asked: list[dict[str, Any]] = []

    def fake(service: str, **where: Any) -> Any:
        asked.append({"service": service, **where})
        return object()

    monkeypatch.setattr(clients_module, "make_client", fake)
    return asked


def test_clients_one_client_per_service_built_on_first_use(built: list[dict[str, Any]]) -> None:
    clients = Clients("eu-west-1", "http://localhost:5000")

    assert built == []  # nothing is built until asked for
    first, again = clients.ec2, clients.client("ec2")
    kms = clients.kms

    assert first is again and kms is not first
    assert built == [
        {
            "service": service,
            "region": "eu-west-1",
            "endpoint_url": "http://localhost:5000",
            "purpose": "bake",
        }
        for service in ("ec2", "kms")
    ]


def test_clients_in_region_keeps_endpoint_and_purpose(built: list[dict[str, Any]]) -> None:
    home = Clients("us-east-1", "http://localhost:5000", purpose="check")

    there = home.in_region("eu-west-1")
    assert there.autoscaling is there.client("autoscaling")

    assert (there.region, there.endpoint_url, there.purpose) == (
        "eu-west-1",
        "http://localhost:5000",
        "check",
    )
    assert built[-1]["region"] == "eu-west-1" and built[-1]["purpose"] == "check"
    assert home.in_region("eu-west-1") is there  # its clients are reused too
    assert home.in_region("us-east-1") is home and home.in_region(None) is home


def test_clients_for_props_reads_region_and_endpoint(built: list[dict[str, Any]]) -> None:
    props = {"region": "ap-south-1", "endpoint_url": "http://moto:5000", "lineage": "x"}

    clients = Clients.for_props(props, purpose="check")

    assert (clients.region, clients.endpoint_url, clients.purpose) == (
        "ap-south-1",
        "http://moto:5000",
        "check",
    )


def test_clients_for_props_without_region_uses_default_region() -> None:
    assert Clients.for_props({}, default_region="eu-north-1").region == "eu-north-1"
    assert Clients.for_props({"region": "us-west-2"}, default_region="eu-north-1").region == (
        "us-west-2"
    )
    unset = Clients.for_props({"region": None, "endpoint_url": ""})
    assert (unset.region, unset.endpoint_url, unset.purpose) == (None, None, "bake")


@pytest.mark.parametrize(
    ("purpose", "attempts"),
    [("bake", MAX_ATTEMPTS), ("check", CHECK_MAX_ATTEMPTS), ("probe", PROBE_MAX_ATTEMPTS)],
)
def test_clients_client_has_the_policy_of_its_purpose(purpose: Any, attempts: int) -> None:
    ec2 = Clients("us-east-1", purpose=purpose).ec2

    assert ec2.meta.region_name == "us-east-1"
    assert ec2.meta.config.retries["total_max_attempts"] == attempts


def test_clients_with_purpose_keeps_region_and_endpoint() -> None:
    check = Clients("eu-west-1", "http://127.0.0.1:5000", purpose="check")

    probe = check.with_purpose("probe")

    assert (probe.region, probe.endpoint_url, probe.purpose) == (
        "eu-west-1",
        "http://127.0.0.1:5000",
        "probe",
    )
    assert check.with_purpose("probe") is probe and check.with_purpose("check") is check
    config = probe.ec2.meta.config
    assert (config.connect_timeout, config.read_timeout) == (1, 2)


def test_clients_refuse_to_be_pickled() -> None:
    with pytest.raises(TypeError, match="inside each provider method"):
        pickle.dumps(Clients("us-east-1"))
