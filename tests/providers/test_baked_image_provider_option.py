"""BakedImage gets a provider (hence a dynamic-provider host) of its own unless one is given.

Why: bench/parallel_bakes.py (one host serves 4 calls at once). Under Pulumi mocks the
provider resources and each BakedImage's provider reference are visible as registered.
"""

from __future__ import annotations

import threading
from typing import Any

import pulumi
import pytest

from providers.baked_image import BakedImage, BakedImageArgs

PROVIDER_TYPE = "pulumi:providers:pulumi-python"
BAKED_IMAGE_TYPE = "pulumi-python:dynamic/bakery:BakedImage"


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[tuple[str, str, str | None]] = []
        self.lock = threading.Lock()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        with self.lock:
            self.registered.append((args.typ, args.name, args.provider))
        outs = dict(args.inputs)
        if args.typ == BAKED_IMAGE_TYPE:
            outs.update(image_id="ami-0123456789abcdef0", name=f"{args.name}-0123456789")
            return "ami-0123456789abcdef0", outs
        return f"{args.name}-id", outs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None

    def of(self, typ: str) -> list[tuple[str, str | None]]:
        return [(name, provider) for t, name, provider in self.registered if t == typ]


@pytest.fixture
def mocks() -> _Mocks:
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, project="bakery", stack="test", preview=False)
    return mocks


def _args(instance_id: str = "i-0123456789abcdef0") -> BakedImageArgs:
    return BakedImageArgs(instance_id=instance_id)


def _image_ids(*images: BakedImage) -> Any:
    return pulumi.Output.all(*(image.image_id for image in images))


@pulumi.runtime.test
def test_baked_image_without_provider_gets_one_of_its_own(mocks: _Mocks) -> Any:
    images = [BakedImage(f"bake-{i}", _args()) for i in range(3)]

    def check(_: Any) -> None:
        providers = dict(mocks.of(PROVIDER_TYPE))
        assert sorted(providers) == ["bake-0-provider", "bake-1-provider", "bake-2-provider"]
        for name, reference in mocks.of(BAKED_IMAGE_TYPE):
            assert reference is not None
            assert f"{PROVIDER_TYPE}::{name}-provider::" in reference, reference

    return _image_ids(*images).apply(check)


@pulumi.runtime.test
def test_baked_image_with_explicit_provider_shares_it(mocks: _Mocks) -> Any:
    shared = pulumi.ProviderResource("pulumi-python", "shared")
    opts = pulumi.ResourceOptions(provider=shared)
    images = [BakedImage(f"bake-{i}", _args(), opts) for i in range(2)]

    def check(_: Any) -> None:
        assert [name for name, _ in mocks.of(PROVIDER_TYPE)] == ["shared"]
        references = {reference or "" for _, reference in mocks.of(BAKED_IMAGE_TYPE)}
        assert len(references) == 1 and "::shared::" in references.pop()

    return _image_ids(*images).apply(check)


@pulumi.runtime.test
def test_baked_image_under_parent_with_python_provider_inherits_it(mocks: _Mocks) -> Any:
    shared = pulumi.ProviderResource("pulumi-python", "shared")
    parent = pulumi.ComponentResource(
        "bakery:index:Test", "parent", opts=pulumi.ResourceOptions(providers=[shared])
    )
    image = BakedImage("bake", _args(), pulumi.ResourceOptions(parent=parent))

    def check(_: Any) -> None:
        assert [name for name, _ in mocks.of(PROVIDER_TYPE)] == ["shared"]
        [(_, reference)] = mocks.of(BAKED_IMAGE_TYPE)
        assert reference is not None and "::shared::" in reference

    return _image_ids(image).apply(check)


@pulumi.runtime.test
def test_baked_image_in_component_gets_provider_parented_alike(mocks: _Mocks) -> Any:
    parent = pulumi.ComponentResource("bakery:index:Test", "parent")
    image = BakedImage("bake", _args(), pulumi.ResourceOptions(parent=parent))

    def check(_: Any) -> None:
        [(name, _)] = mocks.of(PROVIDER_TYPE)
        assert name == "bake-provider"
        [(_, reference)] = mocks.of(BAKED_IMAGE_TYPE)
        assert reference is not None
        assert f"bakery:index:Test${PROVIDER_TYPE}::bake-provider::" in reference

    return _image_ids(image).apply(check)
