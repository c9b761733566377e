"""Drive the real dynamic-provider host (``python -m pulumi.dynamic``) over gRPC.

The same calls, in the same shape, the Pulumi engine makes: the provider is
pickled here and unpickled in another process, so pickling bugs show up.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import proto, rpc
from pulumi.runtime.proto import provider_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


def _props(struct: struct_pb2.Struct) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct))


class ProviderHost:
    """A provider host subprocess and a stub to call it."""

    def __init__(self, provider: Any, env: dict[str, str] | None = None) -> None:
        self.serialized = serialize_provider(provider)
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        port = int(self.process.stdout.readline().decode().strip())
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def close(self) -> str:
        """Stop the host; returns what it wrote on stderr (progress lines)."""
        self.channel.close()
        self.process.terminate()
        _, err = self.process.communicate(timeout=10)
        return err.decode()

    def _with_provider(self, props: dict[str, Any]) -> dict[str, Any]:
        return {**props, "__provider": self.serialized}

    def configure(self, config: dict[str, str]) -> None:
        self.stub.Configure(proto.ConfigureRequest(variables=config, args=_struct(config)))

    def check(self, urn: str, olds: dict[str, Any], news: dict[str, Any]) -> tuple[dict, list]:
        response = self.stub.Check(
            proto.CheckRequest(urn=urn, olds=_struct(olds), news=_struct(self._with_provider(news)))
        )
        return _props(response.inputs), [(f.property, f.reason) for f in response.failures]

    def diff(self, urn: str, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        return self.stub.Diff(
            proto.DiffRequest(
                id=id_, urn=urn, olds=_struct(olds), news=_struct(self._with_provider(news))
            )
        )

    def create(self, urn: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        response = self.stub.Create(
            proto.CreateRequest(urn=urn, properties=_struct(self._with_provider(props)))
        )
        return response.id, _props(response.properties)

    def read(self, urn: str, id_: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        response = self.stub.Read(
            proto.ReadRequest(id=id_, urn=urn, properties=_struct(self._with_provider(props)))
        )
        return response.id, _props(response.properties)

    def update(
        self, urn: str, id_: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> dict[str, Any]:
        response = self.stub.Update(
            proto.UpdateRequest(
                id=id_, urn=urn, olds=_struct(olds), news=_struct(self._with_provider(news))
            )
        )
        return _props(response.properties)

    def delete(self, urn: str, id_: str, props: dict[str, Any]) -> None:
        self.stub.Delete(
            proto.DeleteRequest(id=id_, urn=urn, properties=_struct(self._with_provider(props)))
        )
