"""What every Bakery dynamic provider shares: the engine's conventions for props.

The engine sends numbers as floats, marks not-yet-known values with a sentinel,
and shows a dynamic host's stderr lines under the resource being worked on; a dynamic
resource given its own provider gets its own host process (``own_provider``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

# The engine's marker for a value not known until apply (pulumi.runtime.rpc.UNKNOWN).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def known(value: Any) -> bool:
    """Set and known now (not None, not the engine's unknown marker)."""
    return value is not None and value != UNKNOWN


def canonical(value: Any) -> Any:
    """Numbers as the engine sends them (floats), in lists and maps too."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Mapping):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [canonical(v) for v in value]
    return value


def same(a: Any, b: Any) -> bool:
    """Equal as the engine sees it: 90 == 90.0, [50, 100] == [50.0, 100.0]."""
    return bool(canonical(a) == canonical(b))


def changed(olds: Mapping[str, Any], news: Mapping[str, Any], keys: Sequence[str]) -> list[str]:
    """The keys whose value differs between old and new props."""
    return [k for k in keys if not same(olds.get(k), news.get(k))]


def progress(line: str) -> None:
    """One progress line for `pulumi up` (the engine shows the host's stderr)."""
    print(f"bakery: {line}", file=sys.stderr, flush=True)


# The package of every Python dynamic resource; its provider plugin is the dynamic host.
PYTHON_PACKAGE = "pulumi-python"


def own_provider(
    resource_name: str, opts: pulumi.ResourceOptions | None, type_name: str = "BakedImage"
) -> pulumi.ResourceOptions:
    """Give the resource (a BakedImage) a provider of its own, unless the user chose one.

    The Python dynamic-provider host serves at most 4 calls at once and every resource of
    one provider shares a host, so 16 bakes on the default provider run in 4 waves. An
    explicit provider per BakedImage gets its own host process: 16 bakes run at once
    (bench/parallel_bakes.py). Moving an existing BakedImage from the default provider to
    its own does not replace it. Pass ``provider=`` (or ``providers=``, or a parent with a
    ``pulumi-python`` provider) to share one host instead.
    """
    opts = opts or pulumi.ResourceOptions()
    token = f"{PYTHON_PACKAGE}:dynamic/bakery:{type_name}"
    inherited = opts.parent.get_provider(token) if opts.parent else None
    if opts.provider is not None or opts.providers or inherited is not None:
        return opts
    own = pulumi.ProviderResource(
        PYTHON_PACKAGE,
        f"{resource_name}-provider",
        opts=pulumi.ResourceOptions(parent=opts.parent),
    )
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(provider=own))
