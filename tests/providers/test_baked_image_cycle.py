"""BakedImageProvider with the cycle: its inputs checked at check, its pre-flight read-only,
``rebake_on: [patch_state]`` deciding the re-bake, and a stack without them unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from providers.aws.bake import baked_image
from providers.aws.clients import make_client
from providers.aws.rules.bake_plan import BAKE_ID, PATCH_STATE
from providers.aws.waits import Pacing
from providers.baked_image import BakedImageProvider
from tests.conftest import REGION, FakeClock
from tests.moto_ext import ssm_commands
from tests.moto_ext.golden import seed_golden_instance
from tests.providers.props import news_builder
from tests.recording import CallRecorder, record_clients

LINEAGE = "bakery/test/golden"
READ_ONLY = ("Describe", "Get", "List")


_news = news_builder(LINEAGE)


@pytest.fixture(autouse=True)
def fake_time(fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bake's waits on the fake clock (commands take looks in the SSM model)."""
    pacing = Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 1.0)
    monkeypatch.setattr(baked_image, "default_pacing", lambda: pacing)


@pytest.fixture
def golden(ec2: Any) -> Iterator[str]:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    ssm_commands.register_agent(instance_id)
    ssm_commands.set_patch_state(instance_id, InstalledCount=12, Operation="Scan")
    yield instance_id


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> CallRecorder:
    return record_clients(monkeypatch)


def _failures(result: Any) -> dict[str, str]:
    return {f.property: f.reason for f in result.failures}


@pytest.mark.parametrize(
    ("field", "value", "failed"),
    [
        ("patch", {"operation": "upgrade"}, "patch.operation"),
        ("prepare", {"commands": []}, "prepare.commands"),
        ("restore", {"commands": ["ok"], "timeout_s": 1}, "restore.timeout_s"),
        ("verify", {"instance_type": "t3.micro"}, "verify.subnet_id"),
        ("rebake_on", ["kernel"], "rebake_on"),
    ],
)
def test_check_bad_cycle_input_fails_naming_the_field_with_no_aws_call(
    golden: str, recorded: CallRecorder, field: str, value: Any, failed: str
) -> None:
    result = BakedImageProvider().check({}, _news(golden, **{field: value}))

    assert list(_failures(result)) == [failed]
    assert recorded.ops() == []


def test_check_patch_on_an_instance_not_in_systems_manager_fails_reading_only(
    golden: str, recorded: CallRecorder
) -> None:
    ssm_commands.deregister_agent(golden)

    result = BakedImageProvider().check({}, _news(golden, patch={"operation": "install"}))

    assert "not online in Systems Manager" in _failures(result)["patch"]
    assert "AmazonSSMManagedInstanceCore" in _failures(result)["patch"]
    assert recorded.ops() and all(op.startswith(READ_ONLY) for op in recorded.ops())


def test_check_prepare_with_a_missing_document_fails_naming_it(
    golden: str, recorded: CallRecorder
) -> None:
    news = _news(golden, prepare={"document": "Team-Cleanup", "commands": ["x"]})

    result = BakedImageProvider().check({}, news)

    assert list(_failures(result)) == ["prepare.document"]
    assert all(op.startswith(READ_ONLY) for op in recorded.ops())


def test_check_verify_in_a_subnet_that_does_not_exist_fails_naming_it(
    golden: str, recorded: CallRecorder
) -> None:
    news = _news(golden, verify={"subnet_id": "subnet-0123456789abcdef0"})

    result = BakedImageProvider().check({}, news)

    assert list(_failures(result)) == ["verify.subnet_id"]
    assert all(op.startswith(READ_ONLY) for op in recorded.ops())


def test_check_rebake_on_patch_state_without_a_patch_state_fails_naming_the_fix(
    ec2: Any, recorded: CallRecorder
) -> None:
    never_scanned = seed_golden_instance(ec2, make_client("kms", region=REGION), name="new")

    result = BakedImageProvider().check({}, _news(never_scanned, rebake_on=["patch_state"]))

    reason = _failures(result)["rebake_on"]
    assert "no patch state" in reason and "Operation=Scan" in reason
    assert all(op.startswith(READ_ONLY) for op in recorded.ops())


def _baked(provider: BakedImageProvider, news: dict[str, Any]) -> dict[str, Any]:
    checked = provider.check({}, news)
    assert not checked.failures, checked.failures
    created = provider.create(checked.inputs)
    return {**checked.inputs, **(created.outs or {})}


def test_rebake_on_patch_state_same_state_no_change_new_state_replaces_naming_both(
    golden: str, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = BakedImageProvider()
    news = _news(golden, rebake_on=["patch_state"])
    olds = _baked(provider, news)
    assert olds[PATCH_STATE].startswith("ps1;i=12;")

    same = provider.check(olds, news)
    assert not provider.diff("ami", olds, same.inputs).changes

    ssm_commands.set_patch_state(golden, InstalledCount=19, Operation="Install")
    capsys.readouterr()
    changed = provider.check(olds, news)
    diff = provider.diff("ami", olds, changed.inputs)

    assert BAKE_ID in (diff.replaces or []) and changed.inputs[BAKE_ID] != olds[BAKE_ID]
    assert not [k for k in diff.replaces or [] if not k.startswith("__")]  # no input changed
    said = capsys.readouterr().err
    assert "12 installed -> 19 installed" in said, said


def test_rebake_on_patch_state_records_the_state_after_the_patch(golden: str) -> None:
    """The patch step installs the missing patches: the state kept is the image's, so the
    next preview is no change rather than a re-bake for the bake's own patch."""
    ssm_commands.set_patch_state(golden, MissingCount=7)
    provider = BakedImageProvider()
    news = _news(golden, rebake_on=["patch_state"], patch={"operation": "install"})
    olds = _baked(provider, news)

    assert olds[PATCH_STATE].startswith("ps1;i=19;")
    assert not provider.diff("ami", olds, provider.check(olds, news).inputs).changes


def test_turning_rebake_on_on_is_an_update_that_records_the_state(golden: str) -> None:
    provider = BakedImageProvider()
    olds = _baked(provider, _news(golden))
    news = provider.check(olds, _news(golden, rebake_on=["patch_state"])).inputs

    diff = provider.diff("ami", olds, news)
    updated = provider.update(olds["image_id"], olds, news)

    assert diff.changes and diff.replaces == []
    assert news[BAKE_ID] == olds[BAKE_ID]
    assert (updated.outs or {})[PATCH_STATE].startswith("ps1;i=12;")


def test_a_stack_without_the_cycle_checks_and_diffs_as_before(
    golden: str, recorded: CallRecorder
) -> None:
    provider = BakedImageProvider()
    olds = _baked(provider, _news(golden))
    recorded.calls.clear()

    again = provider.check(olds, _news(golden))

    assert not provider.diff("ami", olds, again.inputs).changes
    assert not any(op.startswith("ssm") or "Command" in op for op in recorded.ops())
    assert PATCH_STATE not in again.inputs


def test_check_says_what_each_step_will_do(
    golden: str, capsys: pytest.CaptureFixture[str], ec2: Any
) -> None:
    subnet = ec2.describe_instances(InstanceIds=[golden])["Reservations"][0]["Instances"][0][
        "SubnetId"
    ]
    news = _news(
        golden,
        patch={"operation": "install"},
        prepare={"commands": ["a", "b", "c"]},
        verify={"subnet_id": subnet, "instance_type": "t3.micro"},
    )

    result = BakedImageProvider().check({}, news)

    assert not result.failures, result.failures
    said = capsys.readouterr().err
    assert f"will patch {golden} (AWS-RunPatchBaseline Install, reboot if needed)" in said
    assert "will run 3 prepare command(s) (AWS-RunShellScript)" in said
    assert f"will verify on a t3.micro in {subnet}" in said


def test_check_sysprep_prepare_on_a_windows_golden_instance_is_refused(
    ec2: Any, recorded: CallRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    windows = seed_golden_instance(ec2, make_client("kms", region=REGION), name="win")
    ssm_commands.register_agent(windows)
    real = ec2.describe_instances

    def as_windows(**kwargs: Any) -> Any:  # moto reports no PlatformDetails for Windows
        found = real(**kwargs)
        for reservation in found["Reservations"]:
            for instance in reservation["Instances"]:
                instance["PlatformDetails"] = "Windows"
        return found

    from providers.aws.bake import cycle_preflight

    monkeypatch.setattr(
        cycle_preflight,
        "_describe",
        lambda client, instance_id: as_windows(InstanceIds=[instance_id]),
    )
    news = _news(
        windows,
        prepare={
            "document": "AWS-RunPowerShellScript",
            "commands": ["& $env:ProgramFiles\\Amazon\\EC2Launch\\ec2launch.exe sysprep"],
        },
    )

    result = BakedImageProvider().check({}, news)

    reason = _failures(result)["prepare"]
    assert "Sysprep would generalize the golden instance" in reason
    assert "EC2 Image Builder" in reason
