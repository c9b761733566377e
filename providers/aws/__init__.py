"""Plain-Python AWS workflows (boto3 only, no Pulumi): the functional core of Bakery.

One folder per job, over a few shared modules:

- ``rules/``: the pure rules (no boto3 client, no AWS call): input validation, the
  bake plan, the fleet's shape and rollout rules. Config, components and adapters
  judge values with these, so a value is judged the same way everywhere.
- ``bake/``: golden instance -> AMI (inspect, pre-flight, hold, stop, image,
  restart, wait, verify).
- ``images/``: an AMI's life after its bake (find, in-use guard, holds, retention,
  lineage, deprecation, protection, sharing, copies) and its snapshots; the lifecycle
  is planned by ``rules/lifecycle_plan.py`` and carried out by ``images/lifecycle.py``.
- ``fleet/``: Auto Scaling groups, instance refreshes, blue/green cutover.
- shared: ``errors`` (the exception tree), ``tags`` (tag keys), ``clients`` (the
  one boto3 client factory), ``waits`` (the one polling loop), ``wait_table`` (every
  wait as data), ``callbacks`` (the ``Log`` and ``Now`` types workflows take).

Layering (``tests/test_layers.py`` checks it): nothing here imports Pulumi; the
shared modules import no job folder; ``rules/`` imports only the shared modules;
a job folder imports the shared modules, ``rules/`` and, where its docstring says
why, another job folder.
"""
