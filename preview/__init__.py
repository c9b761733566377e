"""The pull-request preview: what a ``pulumi preview --json`` means for Bakery, as a comment.

- ``report.py``: ``read_preview(document, lineage_lookup)`` turns the CLI's JSON
  document into a ``Report`` (bakes, released images, rollouts, other steps).
- ``markdown.py``: ``render(report)`` writes the Markdown comment a reviewer acts on.

``scripts/pr_preview.py`` is the command over them: it parses arguments, reads the
document (stdin, or its own ``pulumi preview``), reads the lineage from AWS and prints.

Layering (tests/test_layers.py): this package makes no AWS call and runs no process;
it imports no Pulumi SDK, no boto3/botocore, no adapter (``providers/*.py``), no
component, no stack config and nothing from ``scripts/``. Of Bakery it imports only
``providers.aws.errors``, ``providers.aws.tags``, the pure rules
(``providers.aws.rules``) and ``providers.aws.images`` (the lineage's image record and
release plan, and the image plans that say what an update changes); the lineage
lookup that calls AWS is injected by the command.
"""
