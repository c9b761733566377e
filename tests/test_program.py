"""The program under Pulumi mocks: each shipped stack file, promotion, and bad config.

Each ``Pulumi.<stack>.yaml`` in the repo is fed to ``__main__.py`` as the engine
would feed it (strings; objects as JSON), in a preview; the tests check what gets
registered and what the stack exports.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
from pulumi.runtime import settings as runtime_settings

from providers.aws.errors import InvalidInputError
from tests.program_fixtures import (
    AMI_COPY,
    BAKED_AMI,
    BAKED_IMAGE,
    BAKED_SNAPSHOTS,
    BLUE_GREEN,
    COPIED_AMI,
    GROUP,
    INSTANCE_REFRESH,
    LAUNCH_PERMISSION,
    LAUNCH_TEMPLATE,
    STACK_REFERENCE,
    STAGING_AMI,
    STAGING_SNAPSHOTS,
    ProgramMocks,
    fresh_mocks,
    run_program,
    stack_files,
    stack_name,
    stack_yaml,
)

PROMOTED_IMAGE = "bakery:index:PromotedImage"
IMAGE_FLEET = "bakery:index:ImageFleet"


@pytest.fixture
def program_mocks() -> Iterator[ProgramMocks]:
    yield from fresh_mocks()


def _aws_types(mocks: ProgramMocks) -> set[str]:
    return {t for t in mocks.types() if t.startswith("aws:")}


def test_program_stack_files_are_the_four_documented() -> None:
    assert sorted(stack_name(p) for p in stack_files()) == ["dev", "local", "prod", "staging"]


@pytest.mark.parametrize("stack", [stack_name(p) for p in stack_files()])
def test_program_each_stack_file_evaluates_and_exports_the_image(
    stack: str, program_mocks: ProgramMocks
) -> None:
    exports = run_program(stack, stack_yaml(stack), program_mocks)

    assert exports["image_id"].startswith("ami-")
    assert exports["snapshot_ids"]
    assert exports["region"] == stack_yaml(stack)["aws:region"]
    if stack_yaml(stack).get("bakery:mode") == "fleet":
        assert exports["group_name"]
        assert exports["launch_template_version"] in ("1", None)


def test_program_local_stack_bakes_against_the_endpoint_and_creates_no_aws_resource(
    program_mocks: ProgramMocks,
) -> None:
    config = stack_yaml("local")
    exports = run_program("local", config, program_mocks)

    baked = program_mocks.one(BAKED_IMAGE)
    assert baked.name == "image"
    assert baked.inputs["instance_id"] == config["bakery:bake.instance_id"]
    assert baked.inputs["endpoint_url"] == config["bakery:bake.endpoint_url"]
    assert baked.inputs["region"] == "us-east-1"
    assert baked.inputs["lineage"] == "bakery/local/image"
    # The pulumi-aws plugin is not needed for a bake-only stack.
    assert _aws_types(program_mocks) == set()
    assert not program_mocks.of(STACK_REFERENCE)
    assert exports["image_id"] == BAKED_AMI
    assert exports["snapshot_ids"] == BAKED_SNAPSHOTS
    assert "group_name" not in exports


def test_program_dev_stack_rolls_the_baked_image_out_fast(program_mocks: ProgramMocks) -> None:
    exports = run_program("dev", stack_yaml("dev"), program_mocks)

    assert program_mocks.one(BAKED_IMAGE).inputs["triggers"] == ["patch-2026-11-30"]
    assert program_mocks.one(LAUNCH_TEMPLATE).inputs["imageId"] == BAKED_AMI
    assert program_mocks.one(LAUNCH_TEMPLATE).inputs["instanceType"] == "t3.micro"
    group = program_mocks.one(GROUP).inputs
    assert (group["minSize"], group["maxSize"]) == (1, 2)
    refresh = program_mocks.one(INSTANCE_REFRESH).inputs
    assert refresh["min_healthy_percentage"] == 0
    assert refresh["image_id"] == BAKED_AMI
    assert not program_mocks.of(BLUE_GREEN)
    assert not program_mocks.of(PROMOTED_IMAGE)
    assert exports["launch_template_version"] == "1"
    assert exports["downtime_seconds"] == 42.0


def test_program_staging_stack_keeps_images_for_prod_and_rolls_with_checkpoints(
    program_mocks: ProgramMocks,
) -> None:
    run_program("staging", stack_yaml("staging"), program_mocks)

    baked = program_mocks.one(BAKED_IMAGE).inputs
    assert baked["keep_previous"] == 3
    assert baked["timeouts"] == {"snapshots": 240.0, "image": 120.0}
    group = program_mocks.one(GROUP).inputs
    assert (group["minSize"], group["maxSize"], group["desiredCapacity"]) == (2, 4, 2)
    assert len(group["vpcZoneIdentifiers"]) == 2
    refresh = program_mocks.one(INSTANCE_REFRESH).inputs
    assert refresh["checkpoint_percentages"] == [50, 100]
    assert refresh["auto_rollback"] is True


def test_program_prod_promotes_staging_image_without_baking(program_mocks: ProgramMocks) -> None:
    exports = run_program("prod", stack_yaml("prod"), program_mocks)

    assert not program_mocks.of(BAKED_IMAGE)
    assert program_mocks.one(STACK_REFERENCE).inputs["name"] == "organization/bakery/staging"
    assert program_mocks.one(PROMOTED_IMAGE).name == "image"
    # Exactly the AMI staging tested reaches the launch template and the cutover.
    assert program_mocks.one(LAUNCH_TEMPLATE).inputs["imageId"] == STAGING_AMI
    assert program_mocks.one(BLUE_GREEN).inputs["image_id"] == STAGING_AMI
    assert not program_mocks.of(AMI_COPY)
    assert not program_mocks.of(INSTANCE_REFRESH)
    group = program_mocks.one(GROUP).inputs
    assert group["healthCheckType"] == "ELB"
    assert group["targetGroupArns"] == stack_yaml("prod")["bakery:fleet.target_group_arns"]
    assert exports["image_id"] == STAGING_AMI
    assert exports["snapshot_ids"] == STAGING_SNAPSHOTS
    assert exports["promoted_from"] == "organization/bakery/staging"
    assert exports["source_image_id"] == STAGING_AMI


def _prod(**changes: Any) -> dict[str, Any]:
    config = stack_yaml("prod")
    for key, value in changes.items():
        full = f"bakery:{key}" if ":" not in key else key
        if value is None:
            config.pop(full, None)
        else:
            config[full] = value
    return config


def test_program_promotion_to_another_region_copies_and_launches_the_copy(
    program_mocks: ProgramMocks,
) -> None:
    config = _prod(**{"aws:region": "eu-west-1", "promote.source_region": "us-east-1"})
    config["bakery:promote.kms_key_id"] = "arn:aws:kms:eu-west-1:111122223333:key/abcd-1234"
    exports = run_program("prod", config, program_mocks)

    copy = program_mocks.one(AMI_COPY).inputs
    assert copy["sourceAmiId"] == STAGING_AMI
    assert copy["sourceAmiRegion"] == "us-east-1"
    assert copy["encrypted"] is True
    assert copy["kmsKeyId"].endswith("key/abcd-1234")
    assert copy["tags"]["bakery:promoted-from"] == "organization/bakery/staging"
    assert copy["name"] == f"bakery-prod-image-{STAGING_AMI}"
    assert program_mocks.one(LAUNCH_TEMPLATE).inputs["imageId"] == COPIED_AMI
    assert exports["image_id"] == COPIED_AMI
    assert exports["source_image_id"] == STAGING_AMI
    assert exports["snapshot_ids"] == ["snap-0ccccccccccccccc1"]


def test_program_promotion_shares_the_image_with_each_account(
    program_mocks: ProgramMocks,
) -> None:
    config = _prod(**{"promote.share_with_accounts": ["444455556666", "012345678901"]})
    run_program("prod", config, program_mocks)

    shares = program_mocks.of(LAUNCH_PERMISSION)
    assert sorted(s.inputs["accountId"] for s in shares) == ["012345678901", "444455556666"]
    assert {s.inputs["imageId"] for s in shares} == {STAGING_AMI}


def test_program_bake_only_with_sharing_shares_the_baked_image(
    program_mocks: ProgramMocks,
) -> None:
    config = stack_yaml("local")
    config["bakery:promote.share_with_accounts"] = ["444455556666"]
    run_program("local", config, program_mocks)

    assert program_mocks.one(LAUNCH_PERMISSION).inputs["imageId"] == BAKED_AMI
    assert not program_mocks.of(STACK_REFERENCE)


def test_program_promotion_from_a_stack_in_another_region_fails_naming_the_key(
    program_mocks: ProgramMocks,
) -> None:
    program_mocks.stacks["organization/bakery/staging"]["region"] = "us-west-2"

    # Every output that waited on the image fails too; keep asyncio from logging each.
    asyncio_log = logging.getLogger("asyncio")
    level, asyncio_log.level = asyncio_log.level, logging.CRITICAL
    try:
        with pytest.raises(InvalidInputError, match=r"promote\.source_region to us-west-2"):
            run_program("prod", stack_yaml("prod"), program_mocks)
        runtime_settings.SETTINGS.rpc_manager.clear()
        runtime_settings.SETTINGS.outputs.clear()
        runtime_settings.ROOT.set(None)
        gc.collect()
    finally:
        asyncio_log.setLevel(level)


@pytest.mark.parametrize(
    ("stack", "changes", "key"),
    [
        ("dev", {"bake.instance_id": None}, "bakery:bake.instance_id"),
        ("dev", {"fleet.min_size": 5, "fleet.max_size": 3}, "bakery:fleet.min_size"),
        ("staging", {"fleet.rollout": "canary"}, "bakery:fleet.rollout"),
        ("prod", {"bake.instance_id": "i-0123456789abcdef0"}, "bakery:bake.instance_id"),
        ("prod", {"bake.instance_id": "i-0123456789abcdef0"}, "bakery:promote.from_stack"),
        ("local", {"fleet.min_size": 2}, "bakery:fleet.min_size"),
        ("dev", {"mode": "canary"}, "bakery:mode"),
    ],
)
def test_program_invalid_config_fails_preview_naming_the_key(
    stack: str, changes: dict[str, Any], key: str, program_mocks: ProgramMocks
) -> None:
    config = stack_yaml(stack)
    for name, value in changes.items():
        if value is None:
            config.pop(f"bakery:{name}")
        else:
            config[f"bakery:{name}"] = value

    with pytest.raises(pulumi.RunError, match=key.replace(".", r"\.")) as raised:
        run_program(stack, config, program_mocks)

    assert "invalid stack config" in str(raised.value)
    assert not program_mocks.of(BAKED_IMAGE)
    assert not program_mocks.of(LAUNCH_TEMPLATE)


def test_program_nested_config_form_works_like_flat_keys(program_mocks: ProgramMocks) -> None:
    flat = stack_yaml("local")
    nested = {k: v for k, v in flat.items() if not k.startswith("bakery:bake.")}
    nested["bakery:bake"] = {
        k.removeprefix("bakery:bake."): v for k, v in flat.items() if k.startswith("bakery:bake.")
    }

    exports = run_program("local", nested, program_mocks)

    baked = program_mocks.one(BAKED_IMAGE).inputs
    assert baked["instance_id"] == flat["bakery:bake.instance_id"]
    assert baked["tags"] == {"env": "local"}
    assert exports["image_id"] == BAKED_AMI


def test_program_secret_user_data_reaches_the_launch_template_as_a_secret(
    program_mocks: ProgramMocks,
) -> None:
    config = stack_yaml("dev")
    config["bakery:fleet.user_data"] = "#!/bin/sh\necho token=s3cr3t\n"

    run_program("dev", config, program_mocks, secret_keys=["bakery:fleet.user_data"])

    template = program_mocks.one(LAUNCH_TEMPLATE)
    assert "userData" in program_mocks.secret_inputs[(LAUNCH_TEMPLATE, template.name)]


def test_program_plain_user_data_is_not_made_secret(program_mocks: ProgramMocks) -> None:
    config = stack_yaml("dev")
    config["bakery:fleet.user_data"] = "#!/bin/sh\necho hello\n"

    run_program("dev", config, program_mocks)

    template = program_mocks.one(LAUNCH_TEMPLATE)
    assert "userData" not in program_mocks.secret_inputs[(LAUNCH_TEMPLATE, template.name)]
