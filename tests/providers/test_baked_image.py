"""BakedImageProvider's Pulumi contract: methods called directly, then through the real host."""

from __future__ import annotations

from typing import Any

import pytest

from providers.aws import tags
from providers.aws.clients import make_client
from providers.aws.rules.bake_plan import BAKE_ID, IMAGE_NAME
from providers.baked_image import UNKNOWN, USER_NAMED, BakedImageProvider
from tests.conftest import FAKE_ENV, REGION
from tests.moto_ext.golden import seed_golden_instance
from tests.providers.host import ProviderHost
from tests.providers.props import news_builder
from tests.recording import record_clients

LINEAGE = "bakery/test/golden"
URN = "urn:pulumi:test::bakery::pulumi-python:dynamic/bakery:BakedImage::golden"


_news = news_builder(LINEAGE, tags={"team": "platform"})


def _check(provider: BakedImageProvider, olds: dict, news: dict) -> tuple[dict, list]:
    result = provider.check(olds, news)
    return result.inputs, result.failures


@pytest.fixture
def golden(ec2: Any) -> str:
    return seed_golden_instance(ec2, make_client("kms", region=REGION))


def _untouched(ec2: Any, instance_id: str) -> None:
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert instance["State"]["Name"] == "running"
    assert ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"] == []
    assert ec2.describe_images(Owners=["self"])["Images"] == []


def test_check_valid_inputs_fills_defaults_bake_id_and_name(golden: str) -> None:
    inputs, failures = _check(BakedImageProvider(), {}, _news(golden))

    assert failures == []
    assert inputs["consistency"] == "stop" and inputs["restore_state"] is True
    assert inputs["keep_previous"] == 1 and inputs["retain_on_delete"] is False
    assert len(inputs[BAKE_ID]) == 16
    assert inputs[IMAGE_NAME] == f"golden-{inputs[BAKE_ID][:10]}"
    # Derived bookkeeping only in "__" keys: the CLI leaves them out of previews.
    assert "bake_id" not in inputs and inputs.get("name") is None
    assert inputs[USER_NAMED] is False


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"instance_id": "i-nothex!"}, "instance_id", "i-0123456789abcdef0"),
        ({"instance_id": None}, "instance_id", "required"),
        ({"name": "ab"}, "name", "3 to 128"),
        ({"name": "x" * 129}, "name", "3 to 128"),
        ({"name": "bad{name}"}, "name", "not allowed"),
        ({"keep_previous": -1}, "keep_previous", "0 to 1000"),
        ({"keep_previous": 1.5}, "keep_previous", "whole number"),
        ({"region": "Mars-1"}, "region", "region name"),
        ({"tags": {"aws:x": "1"}}, "tags.aws:x", "reserved"),
        ({"triggers": "not-a-list"}, "triggers", "expected a list"),
        ({"timeouts": {"snapshots": 0}}, "timeouts.snapshots", "minutes > 0"),
        ({"endpoint_url": "http://u:p@127.0.0.1:1"}, "endpoint_url", "credentials"),
        ({"stop_instance": "yes"}, "stop_instance", "true or false"),
        ({"consistency": "freeze"}, "consistency", "stop, reboot, live"),
        ({"consistency": "reboot", "stop_instance": True}, "stop_instance", "deprecated"),
    ],
)
def test_check_bad_input_names_field_and_touches_nothing(
    ec2: Any, golden: str, overrides: dict[str, Any], field: str, words: str
) -> None:
    _, failures = _check(BakedImageProvider(), {}, {**_news(golden), **overrides})

    assert [f.property for f in failures] == [field]
    assert words in failures[0].reason
    _untouched(ec2, golden)


def test_check_nonexistent_instance_fails_on_instance_id(ec2: Any, golden: str) -> None:
    _, failures = _check(BakedImageProvider(), {}, _news("i-0123456789abcdef0"))

    assert [f.property for f in failures] == ["instance_id"]
    assert "no such instance" in failures[0].reason
    _untouched(ec2, golden)


def test_check_terminated_instance_fails_on_instance_id(ec2: Any, golden: str) -> None:
    ec2.terminate_instances(InstanceIds=[golden])

    _, failures = _check(BakedImageProvider(), {}, _news(golden))

    assert [f.property for f in failures] == ["instance_id"]
    assert "terminated" in failures[0].reason


def test_check_name_taken_fails_on_name(ec2: Any, golden: str) -> None:
    taken = ec2.register_image(Name="golden-image", RootDeviceName="/dev/sda1")["ImageId"]

    _, failures = _check(BakedImageProvider(), {}, _news(golden, name="golden-image"))

    assert [f.property for f in failures] == ["name"]
    assert taken in failures[0].reason


def test_check_unknown_instance_id_at_preview_defers_bake_id(golden: str) -> None:
    inputs, failures = _check(BakedImageProvider(), {}, _news(UNKNOWN))

    assert failures == []
    assert inputs[BAKE_ID] == UNKNOWN and inputs[IMAGE_NAME] == UNKNOWN


def test_check_same_inputs_keeps_bake_id_new_trigger_changes_it(golden: str) -> None:
    provider = BakedImageProvider()
    first, _ = _check(provider, {}, _news(golden))

    again, _ = _check(provider, first, _news(golden))
    rebake, _ = _check(provider, first, _news(golden, triggers=["patch-2"]))
    back, _ = _check(provider, rebake, _news(golden))

    assert again[BAKE_ID] == first[BAKE_ID] and again[IMAGE_NAME] == first[IMAGE_NAME]
    assert rebake[BAKE_ID] != first[BAKE_ID] and rebake[IMAGE_NAME] != first[IMAGE_NAME]
    assert back[BAKE_ID] not in (first[BAKE_ID], rebake[BAKE_ID])


def test_check_explicit_name_unchanged_on_rebake_fails_on_name(golden: str) -> None:
    provider = BakedImageProvider()
    first, _ = _check(provider, {}, _news(golden, name="golden-v1"))

    _, failures = _check(provider, first, _news(golden, name="golden-v1", triggers=["patch-2"]))

    assert [f.property for f in failures] == ["name"]
    assert "change name together with the triggers" in failures[0].reason


def test_diff_trigger_change_replaces_create_before_delete(golden: str) -> None:
    provider = BakedImageProvider()
    olds, _ = _check(provider, {}, _news(golden))
    news, _ = _check(provider, olds, _news(golden, triggers=["patch-2"]))

    result = provider.diff("ami-1", olds, news)

    assert result.changes is True
    assert set(result.replaces) == {"triggers", BAKE_ID, IMAGE_NAME}
    assert result.delete_before_replace is False


def test_diff_tags_and_keep_previous_update_in_place(golden: str) -> None:
    provider = BakedImageProvider()
    olds, _ = _check(provider, {}, _news(golden))
    news, _ = _check(provider, olds, _news(golden, tags={"team": "web"}, keep_previous=3.0))

    result = provider.diff("ami-1", olds, news)

    assert result.changes is True and result.replaces == []


def test_diff_float_numbers_from_engine_is_no_change(golden: str) -> None:
    provider = BakedImageProvider()
    olds, _ = _check(provider, {}, _news(golden))
    news, _ = _check(provider, olds, _news(golden, keep_previous=1.0))

    assert provider.diff("ami-1", olds, news).changes is False


def test_create_read_update_delete_lifecycle(ec2: Any, golden: str, monkeypatch) -> None:
    calls = record_clients(monkeypatch)
    provider = BakedImageProvider()
    inputs, _ = _check(provider, {}, _news(golden))

    created = provider.create(inputs)
    outs = created.outs
    assert created.id == outs["image_id"]
    assert len(outs["snapshot_ids"]) == 3
    assert outs["source_instance_id"] == golden and outs["root_device_name"] == "/dev/sda1"
    assert outs["name"] == inputs[IMAGE_NAME]

    ec2.create_tags(Resources=[created.id], Tags=[{"Key": "drift", "Value": "yes"}])
    read = provider.read(created.id, outs)
    assert read.id == created.id and read.outs["tags"] == {"team": "platform", "drift": "yes"}

    news, _ = _check(provider, inputs, _news(golden, tags={"team": "web"}, description="v2"))
    updated = provider.update(created.id, read.outs, news)
    image = ec2.describe_images(ImageIds=[created.id])["Images"][0]
    assert tags.user_tags(tags.to_dict(image["Tags"])) == {"team": "web"}
    # moto ignores a Description change; the request is what AWS would act on.
    assert calls.of("ModifyImageAttribute") == [
        {"ImageId": created.id, "Description": {"Value": "v2"}}
    ]
    assert updated.outs["image_id"] == created.id

    provider.delete(created.id, updated.outs)
    assert ec2.describe_images(Owners=["self"])["Images"] == []
    assert ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"] == []


def test_read_deregistered_image_reports_gone(ec2: Any, golden: str) -> None:
    provider = BakedImageProvider()
    inputs, _ = _check(provider, {}, _news(golden))
    created = provider.create(inputs)
    ec2.deregister_image(ImageId=created.id)

    assert provider.read(created.id, created.outs).id == ""


def test_provider_host_over_grpc_runs_full_lifecycle(moto_endpoint: str) -> None:
    ec2 = make_client("ec2", region=REGION, endpoint_url=moto_endpoint)
    golden = seed_golden_instance(
        ec2, make_client("kms", region=REGION, endpoint_url=moto_endpoint)
    )
    host = ProviderHost(BakedImageProvider())
    try:
        host.configure({"aws:region": REGION})
        news = {
            "instance_id": golden,
            "lineage": LINEAGE,
            "endpoint_url": moto_endpoint,
            "triggers": ["a"],
            "tags": {"team": "platform"},
        }
        inputs, failures = host.check(URN, {}, news)
        assert failures == [] and inputs["region"] == REGION

        _, bad = host.check(URN, {}, {**news, "keep_previous": -1})
        assert [p for p, _ in bad] == ["keep_previous"]

        image_id, outs = host.create(URN, inputs)
        assert image_id.startswith("ami-") and outs["image_id"] == image_id
        assert ec2.describe_images(ImageIds=[image_id])["Images"][0]["State"] == "available"

        read_id, read_outs = host.read(URN, image_id, outs)
        assert read_id == image_id and read_outs["snapshot_ids"] == outs["snapshot_ids"]

        changed, _ = host.check(URN, inputs, {**news, "triggers": ["b"]})
        diff = host.diff(URN, image_id, outs, changed)
        assert "triggers" in diff.replaces and not diff.deleteBeforeReplace

        retagged, _ = host.check(URN, inputs, {**news, "tags": {"team": "web"}})
        diff = host.diff(URN, image_id, outs, retagged)
        assert list(diff.replaces) == [] and diff.changes == diff.DIFF_SOME
        updated = host.update(URN, image_id, outs, retagged)
        assert updated["tags"] == {"team": "web"}

        host.delete(URN, image_id, updated)
        assert ec2.describe_images(Owners=["self"])["Images"] == []
    finally:
        stderr = host.close()
    assert "baked ami-" in stderr  # progress lines reach the engine through stderr
    for secret in (FAKE_ENV["AWS_SECRET_ACCESS_KEY"], FAKE_ENV["AWS_SESSION_TOKEN"]):
        assert secret not in stderr
        assert secret not in str(outs)
        assert secret not in host.serialized
