"""The real Pulumi engine bakes against stock moto (no extension), as against LocalStack.

Stock moto refuses CreateImage's snapshot tag specification (an HTTP 500); the bake
retries without it, says so once, and tags the snapshots with CreateTags.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from providers.aws import tags
from tests.e2e.conftest import Aws, stack_config
from tests.e2e.pulumi_cli import MotoServer, Stack, Workspace

pytestmark = pytest.mark.e2e


@pytest.fixture
def stock_aws() -> Iterator[Aws]:
    with MotoServer(stock=True) as server:
        yield Aws(server.url)


def test_up_against_stock_moto_bakes_and_tags_the_snapshots(
    workspace: Workspace, stock_aws: Aws
) -> None:
    stack = Stack(workspace).init(stack_config(stock_aws))

    result = stack.up("--skip-preview").check()

    said = result.output.count("cannot tag snapshots at CreateImage")
    assert said >= 1, result.output
    images = stock_aws.images()
    assert len(images) == 1
    image_id = images[0]["ImageId"]
    assert str(stack.outputs()["image_id"]) == image_id
    bake_id = tags.to_dict(images[0]["Tags"])[tags.BAKE_ID]
    snapshots = stock_aws.ec2.describe_snapshots(
        SnapshotIds=sorted(stock_aws.image_snapshot_ids(images[0]))
    )
    for snapshot in snapshots["Snapshots"]:
        assert tags.to_dict(snapshot.get("Tags"))[tags.BAKE_ID] == bake_id
    stock_aws.assert_instance_running_and_free()
