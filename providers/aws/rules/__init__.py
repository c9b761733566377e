"""The pure rules: every value Bakery is given is judged here, the same way everywhere.

No boto3 client and no AWS call (``validation.known_regions`` reads botocore's bundled
endpoint data, nothing more), so stack config, components and adapters may import
these and nothing else from ``providers.aws`` beside ``errors`` and ``tags``.

- ``validation``: one ``check_*`` per input kind (ids, names, tags, timeouts,
  sharing targets, copy regions), each returning the problems it finds.
- ``bake_plan``: bake id, re-bake decision and generated name from props.
- ``fleet``: the fleet's choices, sizes, health check type and protected keys.
- ``rollout``: refresh preferences, their defaults and checks, rollout estimates.
"""
