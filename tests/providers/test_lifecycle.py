"""BakedImage's lifecycle inputs through the provider: checks, requests AWS gets, old states.

moto ignores or lacks deprecation, protection and snapshot-permission details, so the
tests assert on the requests sent (CallRecorder) as well as on what moto keeps.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

import providers.aws.images.lifecycle
import providers.baked_image
import providers.lifecycle
from providers.aws import tags
from providers.aws.clients import make_client
from providers.aws.errors import CopyFailedError
from providers.baked_image import BakedImageProvider
from providers.dynamic_props import UNKNOWN
from tests.conftest import REGION
from tests.moto_ext import copy_faults
from tests.moto_ext.golden import seed_golden_instance
from tests.providers.props import news_builder
from tests.recording import CallRecorder, record_clients, wrap_clients

LINEAGE = "bakery/test/golden"
COPY_REGION = "eu-west-1"
ACCOUNT = "111122223333"
ORG = "arn:aws:organizations::123456789012:organization/o-abc1234567"
OU = "arn:aws:organizations::123456789012:ou/o-abc1234567/ou-ab12-cdef3456"


_news = news_builder(LINEAGE, keep_previous=0)


@pytest.fixture
def golden(ec2: Any) -> str:
    return seed_golden_instance(ec2, make_client("kms", region=REGION))


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> CallRecorder:
    """Every request the provider's clients send (bake, lifecycle and keys)."""
    return record_clients(monkeypatch)


def _created(golden: str, **overrides: Any) -> tuple[BakedImageProvider, dict[str, Any]]:
    provider = BakedImageProvider()
    inputs = provider.check({}, _news(golden, **overrides)).inputs
    created = provider.create(inputs)
    return provider, dict(created.outs or {})


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"share_with_accounts": ["12345"]}, "share_with_accounts[0]", "123456789012"),
        ({"share_with_accounts": [123456789012]}, "share_with_accounts[0]", "as text"),
        ({"share_with_organizations": ["o-abc"]}, "share_with_organizations[0]", "organization/"),
        ({"share_with_organizational_units": [ORG]}, "share_with_organizational_units[0]", "ou/"),
        ({"copy_to_regions": {"eu-atlantis-9": None}}, "copy_to_regions.eu-atlantis-9", "region"),
        ({"copy_to_regions": {REGION: None}}, f"copy_to_regions.{REGION}", "own region"),
        (
            {"copy_to_regions": {COPY_REGION: "arn:aws:kms:us-east-1:123456789012:key/abc-1"}},
            f"copy_to_regions.{COPY_REGION}",
            "key is in us-east-1",
        ),
        ({"copy_to_regions": {COPY_REGION: "my key"}}, f"copy_to_regions.{COPY_REGION}", "KMS"),
        ({"deprecate_after_days": 0}, "deprecate_after_days", "more than 0"),
        ({"deprecate_after_days": -3}, "deprecate_after_days", "more than 0"),
        ({"deprecate_after_days": 4000}, "deprecate_after_days", "3650"),
        ({"deregistration_protection": "yes"}, "deregistration_protection", "true or false"),
        ({"keep_launched_within_days": 0}, "keep_launched_within_days", "more than 0"),
        ({"keep_launched_within_days": "a week"}, "keep_launched_within_days", "number"),
        ({"deprecate_after_days": "ten"}, "deprecate_after_days", "number of days"),
        (
            {"deregistration_protection_cooldown": 1},
            "deregistration_protection_cooldown",
            "true or false",
        ),
        ({"prune_shared": "no"}, "prune_shared", "true or false"),
        ({"share_with_accounts": "111122223333"}, "share_with_accounts", "expected a list"),
        ({"copy_to_regions": ["eu-west-1"]}, "copy_to_regions", "map of region"),
        ({"snapshot_tags": {"bakery:x": "1"}}, "snapshot_tags.bakery:x", "reserved"),
    ],
)
def test_check_bad_lifecycle_input_names_field_and_creates_nothing(
    ec2: Any, golden: str, overrides: dict[str, Any], field: str, words: str
) -> None:
    result = BakedImageProvider().check({}, _news(golden, **overrides))

    assert [f.property for f in result.failures] == [field]
    assert words in result.failures[0].reason
    assert ec2.describe_images(Owners=["self"])["Images"] == []
    assert ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"] == []


def test_check_deprecation_already_past_for_the_baked_image_fails(golden: str) -> None:
    provider, outs = _created(golden)
    outs["created_at"] = tags.stamp(tags.utcnow() - timedelta(days=10))

    result = provider.check(outs, _news(golden, deprecate_after_days=5))

    assert [f.property for f in result.failures] == ["deprecate_after_days"]
    assert "in the past" in result.failures[0].reason


def test_check_lifecycle_inputs_unknown_at_preview_pass(golden: str) -> None:
    unknowns = {k: UNKNOWN for k in providers.lifecycle.DEFAULTS}
    result = BakedImageProvider().check({}, _news(golden, **unknowns))

    assert result.failures == []


def test_diff_state_of_previous_main_without_lifecycle_keys_is_no_change(golden: str) -> None:
    provider, outs = _created(golden)
    # What create returned before the lifecycle inputs existed (main before issue 9).
    new_keys = (*providers.lifecycle.DEFAULTS, *providers.lifecycle.OUTPUT_KEYS)
    old_state = {k: v for k, v in outs.items() if k not in new_keys}
    news = provider.check(old_state, _news(golden)).inputs

    diff = provider.diff(outs["image_id"], old_state, news)

    assert news["__bake_id"] == old_state["__bake_id"]
    assert not diff.changes and diff.replaces == []


def test_diff_lifecycle_change_updates_in_place(golden: str) -> None:
    provider, outs = _created(golden)
    for change in (
        {"share_with_accounts": [ACCOUNT]},
        {"deprecate_after_days": 30},
        {"deregistration_protection": True},
        {"copy_to_regions": {COPY_REGION: None}},
        {"snapshot_tags": {"backup": "daily"}},
        {"prune_shared": True},
    ):
        news = provider.check(outs, _news(golden, **change)).inputs
        diff = provider.diff(outs["image_id"], outs, news)
        assert diff.changes and diff.replaces == [], change


def test_create_sends_deprecation_protection_and_sharing_requests(
    ec2: Any, golden: str, calls: CallRecorder
) -> None:
    _, outs = _created(
        golden,
        deprecate_after_days=30,
        deregistration_protection=True,
        deregistration_protection_cooldown=True,
        share_with_accounts=[ACCOUNT],
        share_with_organizations=[ORG],
        share_with_organizational_units=[OU],
    )
    image_id = outs["image_id"]

    (deprecate,) = calls.of("EnableImageDeprecation")
    baked_at = providers.aws.images.lifecycle.deprecation_time(outs["created_at"], 30)
    assert deprecate == {"ImageId": image_id, "DeprecateAt": baked_at}
    assert calls.of("EnableImageDeregistrationProtection") == [
        {"ImageId": image_id, "WithCooldown": True}
    ]
    assert calls.of("ModifyImageAttribute")[-1] == {
        "ImageId": image_id,
        "LaunchPermission": {
            "Add": [{"UserId": ACCOUNT}, {"OrganizationArn": ORG}, {"OrganizationalUnitArn": OU}]
        },
    }
    shared = calls.of("ModifySnapshotAttribute")
    assert {s["SnapshotId"] for s in shared} == set(outs["snapshot_ids"])
    assert all(
        s["OperationType"] == "add"
        and s["UserIds"] == [ACCOUNT]
        and s["Attribute"] == "createVolumePermission"
        for s in shared
    )
    image = ec2.describe_images(ImageIds=[image_id])["Images"][0]
    assert image["DeprecationTime"].startswith(baked_at.strftime("%Y-%m-%dT%H:%M"))
    assert image["DeregistrationProtection"] == "enabled-with-cooldown"
    permissions = ec2.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
    assert {"UserId": ACCOUNT} in permissions["LaunchPermissions"]
    snap = ec2.describe_snapshot_attribute(
        SnapshotId=outs["snapshot_ids"][0], Attribute="createVolumePermission"
    )
    assert snap["CreateVolumePermissions"] == [{"UserId": ACCOUNT}]


def test_update_sharing_revokes_what_is_no_longer_listed(
    ec2: Any, golden: str, calls: CallRecorder
) -> None:
    provider, outs = _created(golden, share_with_accounts=[ACCOUNT, "444455556666"])
    news = provider.check(outs, _news(golden, share_with_accounts=["444455556666"])).inputs

    provider.update(outs["image_id"], outs, news)

    assert calls.of("ModifyImageAttribute")[-1] == {
        "ImageId": outs["image_id"],
        "LaunchPermission": {"Remove": [{"UserId": ACCOUNT}]},
    }
    assert {s["OperationType"] for s in calls.of("ModifySnapshotAttribute")[-3:]} == {"remove"}
    snap = ec2.describe_snapshot_attribute(
        SnapshotId=outs["snapshot_ids"][0], Attribute="createVolumePermission"
    )
    assert snap["CreateVolumePermissions"] == [{"UserId": "444455556666"}]


def test_update_protection_off_lifts_bakerys_protection(ec2: Any, golden: str) -> None:
    provider, outs = _created(golden, deregistration_protection=True)
    news = provider.check(outs, _news(golden)).inputs

    provider.update(outs["image_id"], outs, news)

    image = ec2.describe_images(ImageIds=[outs["image_id"]])["Images"][0]
    assert image["DeregistrationProtection"] == "disabled"
    assert tags.PROTECTED not in tags.to_dict(image["Tags"])


def test_create_tags_snapshots_with_snapshot_tags_and_volume_tags(ec2: Any, golden: str) -> None:
    volumes = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [golden]}])
    data = next(v for v in volumes["Volumes"] if v["Size"] == 20)
    ec2.create_tags(Resources=[data["VolumeId"]], Tags=[{"Key": "disk", "Value": "data"}])

    _, outs = _created(golden, snapshot_tags={"backup": "daily"})

    snaps = ec2.describe_snapshots(SnapshotIds=outs["snapshot_ids"])["Snapshots"]
    by_volume = {s["VolumeId"]: tags.to_dict(s["Tags"]) for s in snaps}
    assert all(t["backup"] == "daily" for t in by_volume.values())
    assert by_volume[data["VolumeId"]]["disk"] == "data"
    image = ec2.describe_images(ImageIds=[outs["image_id"]])["Images"][0]
    assert "backup" not in tags.to_dict(image["Tags"])


def test_copy_to_another_region_is_tagged_output_and_removed_with_its_source(
    ec2: Any, golden: str, calls: CallRecorder, capsys: pytest.CaptureFixture[str]
) -> None:
    key = f"arn:aws:kms:{COPY_REGION}:123456789012:key/abc-1"
    provider, outs = _created(golden, copy_to_regions={COPY_REGION: key})
    remote = make_client("ec2", region=COPY_REGION)

    copy_id = outs["image_ids"][COPY_REGION]
    assert outs["image_ids"][REGION] == outs["image_id"]
    (request,) = calls.of("CopyImage")
    assert request["SourceImageId"] == outs["image_id"] and request["SourceRegion"] == REGION
    assert request["KmsKeyId"] == key and request["Encrypted"] is True
    assert request["ClientToken"]
    copy_tags = tags.to_dict(remote.describe_images(ImageIds=[copy_id])["Images"][0]["Tags"])
    assert copy_tags[tags.COPY_OF] == outs["image_id"]
    assert copy_tags[tags.BAKE_ID] == outs["__bake_id"]
    assert copy_tags[tags.LINEAGE] == LINEAGE

    capsys.readouterr()
    provider.delete(outs["image_id"], outs)  # destroy

    log = capsys.readouterr().err
    assert f"will remove {outs['image_id']} and snapshots" in log
    assert f"will remove {copy_id} in {COPY_REGION} and snapshots" in log
    assert log.index(f"will remove {copy_id}") < log.index("deregistered")
    assert ec2.describe_images(Owners=["self"])["Images"] == []
    assert remote.describe_images(Owners=["self"])["Images"] == []


def test_copy_is_replaced_with_the_source_on_a_rebake(ec2: Any, golden: str) -> None:
    provider, first = _created(golden, copy_to_regions={COPY_REGION: None})
    news = provider.check(
        first, _news(golden, triggers=["patch-2"], copy_to_regions={COPY_REGION: None})
    ).inputs
    second = dict(provider.create(news).outs or {})
    provider.delete(first["image_id"], first)  # Pulumi releases the replaced image

    remote = make_client("ec2", region=COPY_REGION)
    assert {i["ImageId"] for i in remote.describe_images(Owners=["self"])["Images"]} == {
        second["image_ids"][COPY_REGION]
    }


def test_update_drops_a_region_and_removes_its_copy(ec2: Any, golden: str) -> None:
    provider, outs = _created(golden, copy_to_regions={COPY_REGION: None})
    news = provider.check(outs, _news(golden)).inputs

    updated = provider.update(outs["image_id"], outs, news)

    assert updated.outs["image_ids"] == {REGION: outs["image_id"]}
    remote = make_client("ec2", region=COPY_REGION)
    assert remote.describe_images(Owners=["self"])["Images"] == []


def test_rebake_outputs_the_lineage_images_in_use_and_why(ec2: Any, golden: str) -> None:
    provider, first = _created(golden)
    instance = ec2.run_instances(ImageId=first["image_id"], MinCount=1, MaxCount=1)["Instances"][0]
    news = provider.check(first, _news(golden, triggers=["patch-2"])).inputs

    second = dict(provider.create(news).outs or {})

    assert second["images_in_use"] == {
        first["image_id"]: [f"instance {instance['InstanceId']} (running)"]
    }
    assert first["images_in_use"] == {}


def test_update_describes_the_image_once_and_sends_the_planned_actions_in_order(
    golden: str, calls: CallRecorder
) -> None:
    provider, outs = _created(golden)
    news = provider.check(
        outs,
        _news(
            golden,
            deprecate_after_days=30,
            share_with_organizations=[ORG],
            copy_to_regions={COPY_REGION: None},
        ),
    ).inputs
    calls.calls.clear()

    updated = provider.update(outs["image_id"], outs, news)

    home = [c for c in calls.calls if c.params.get("ImageIds") == [outs["image_id"]]]
    assert [c.operation for c in home] == ["DescribeImages"]
    sent = [
        c.operation
        for c in calls.calls
        if c.operation
        in ("EnableImageDeprecation", "ModifyImageAttribute", "CopyImage", "CreateTags")
    ]
    # The image (deprecate, share), then the copy (copy, its tags, deprecate, share).
    assert sent == [
        "EnableImageDeprecation",
        "ModifyImageAttribute",
        "CopyImage",
        "CreateTags",
        "EnableImageDeprecation",
        "ModifyImageAttribute",
    ]
    copy_id = (updated.outs or {})["image_ids"][COPY_REGION]
    assert calls.of("ModifyImageAttribute")[1]["ImageId"] == copy_id


OTHER_REGION = "eu-central-1"


def _nothing_in(region: str) -> None:
    remote = make_client("ec2", region=region)
    assert remote.describe_images(Owners=["self"])["Images"] == []
    assert remote.describe_snapshots(OwnerIds=["self"])["Snapshots"] == []


def test_create_copy_refused_for_a_limit_fails_naming_region_and_code(golden: str) -> None:
    with (
        copy_faults.refuse_copies_to(COPY_REGION, "ResourceLimitExceeded"),
        pytest.raises(CopyFailedError) as failed,
    ):
        _created(golden, copy_to_regions={COPY_REGION: None}, share_with_accounts=[ACCOUNT])

    error = failed.value
    assert error.region == COPY_REGION and error.code == "ResourceLimitExceeded"
    assert f"to {COPY_REGION} failed: CopyImage refused (ResourceLimitExceeded" in str(error)
    assert f"nothing of it is left in {COPY_REGION}" in str(error)
    assert "wait for the other AMI copies" in str(error)
    _nothing_in(COPY_REGION)


def test_create_copy_gone_failed_is_deregistered_with_its_snapshots(golden: str) -> None:
    with (
        copy_faults.fail_copies_to(COPY_REGION, "Server.InternalError", "copy failed"),
        pytest.raises(CopyFailedError) as failed,
    ):
        _created(golden, copy_to_regions={COPY_REGION: None})

    error = failed.value
    assert error.copy_id and error.code == "Server.InternalError" and error.left == []
    assert "went failed (Server.InternalError: copy failed)" in str(error)
    _nothing_in(COPY_REGION)


def test_create_copy_failing_keeps_the_region_copied_and_shared_before_it(
    golden: str,
) -> None:
    # Regions are copied in sorted order: eu-central-1 is whole before eu-west-1 fails.
    # It stays (adopted by the next `pulumi up` of the bake, removed with its source).
    with (
        copy_faults.fail_copies_to(COPY_REGION),
        pytest.raises(CopyFailedError),
    ):
        _created(
            golden,
            copy_to_regions={COPY_REGION: None, OTHER_REGION: None},
            share_with_accounts=[ACCOUNT],
        )

    _nothing_in(COPY_REGION)
    kept = make_client("ec2", region=OTHER_REGION)
    (copy,) = kept.describe_images(Owners=["self"])["Images"]
    assert copy["State"] == "available"
    permissions = kept.describe_image_attribute(
        ImageId=copy["ImageId"], Attribute="launchPermission"
    )
    assert permissions["LaunchPermissions"] == [{"UserId": ACCOUNT}]
    for mapping in copy["BlockDeviceMappings"]:
        snap = kept.describe_snapshot_attribute(
            SnapshotId=mapping["Ebs"]["SnapshotId"], Attribute="createVolumePermission"
        )
        assert snap["CreateVolumePermissions"] == [{"UserId": ACCOUNT}]


def test_create_copy_whose_sharing_is_refused_leaves_no_half_shared_copy(
    golden: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The copy's launch permission is set, then its snapshot's createVolumePermission
    # refused: a half-shared copy, which must not stay.
    def refuse(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "InvalidParameter", "Message": "cannot share"}},
            "ModifySnapshotAttribute",
        )

    def in_copy_region(client: Any) -> Any:
        if client.meta.region_name == COPY_REGION:
            client.meta.events.register("before-call.ec2.ModifySnapshotAttribute", refuse)
        return client

    wrap_clients(monkeypatch, in_copy_region)
    with pytest.raises(CopyFailedError) as failed:
        _created(golden, copy_to_regions={COPY_REGION: None}, share_with_accounts=[ACCOUNT])

    assert "ModifySnapshotAttribute refused (InvalidParameter: cannot share)" in str(failed.value)
    _nothing_in(COPY_REGION)
