"""Independent read-only AWS calls made at once, so a check waits about one round trip
for them instead of one per call.

The engine runs ``check`` for one resource at a time (docs/bake.md, "Many bakes"), and a
bake's check makes about seven reads: against AWS each is a round trip (tens to
hundreds of ms), so in sequence they delay every later resource's check. botocore's
clients are thread-safe once built ("Multithreading or multiprocessing with clients" in
the boto3 guide; the clients here are botocore's); building them is not, which
``clients.make_client`` serialises with its lock.

Only reads go through here: nothing in AWS changes, so running them side by side cannot
change what they find.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def read_all(*reads: Callable[[], Any]) -> list[Any]:
    """Run ``reads`` at once and return their results in the order given.

    Every read runs to its end; then the first one (in the order given) that raised has
    its exception re-raised, so which error a check reports does not depend on timing.
    """
    if len(reads) <= 1:
        return [read() for read in reads]
    with ThreadPoolExecutor(max_workers=len(reads), thread_name_prefix="bakery-read") as pool:
        futures = [pool.submit(read) for read in reads]
    return [future.result() for future in futures]
