"""Write the pull-request comment for a Pulumi preview of Bakery, in Markdown.

The command over preview/ (``read_preview``, ``render``): arguments, the document (stdin
or its own preview), the lineage read from AWS, printing.

    pulumi preview --json --show-sames | python scripts/pr_preview.py > comment.md
    pulumi destroy --preview-only --json | python scripts/pr_preview.py > comment.md
    python scripts/pr_preview.py --stack dev [--cwd DIR] > comment.md

``--show-sames`` lets the comment give the size of a fleet whose group does not
change (``--diff`` changes nothing in the JSON). With ``--stack`` it runs
``pulumi preview --json --show-sames`` itself (extra arguments after
``--`` go to pulumi). Images that a run retires or deregisters but the Pulumi state
no longer holds (earlier re-bakes retired them) are read from AWS by their
``bakery:lineage`` tag with the standard AWS credential chain (read-only:
DescribeImages, and the Describe calls that tell whether an image is in use);
without credentials the comment says so. ``--no-aws`` skips AWS.

The preview runs through the CLI as a subprocess, not the Automation API: the
Automation API's ``Stack.preview`` returns engine events and a text summary, not the
``--json`` document that ``pulumi preview --json | pr_preview.py`` reads, and one
input shape keeps one parser.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: python scripts/pr_preview.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from preview.markdown import render
from preview.report import read_preview
from providers.aws.errors import LineageUnreadableError
from providers.aws.images.lineage import LineageImage, lineage_images


def aws_lineage(inputs: Mapping[str, Any]) -> list[LineageImage]:
    """The BakedImage's lineage read from AWS, or ``LineageUnreadableError`` saying why not."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from providers.aws.clients import make_client
    from providers.lifecycle import use_policy

    if boto3.session.Session().get_credentials() is None:
        raise LineageUnreadableError("no AWS credentials in this environment")
    region, endpoint_url = inputs.get("region"), inputs.get("endpoint_url")
    lineage = str(inputs.get("lineage") or inputs.get("__lineage") or "")
    try:
        return lineage_images(
            # "check": the short timeouts of a preview (a dead endpoint fails fast).
            make_client("ec2", region=region, endpoint_url=endpoint_url, purpose="check"),
            make_client("autoscaling", region=region, endpoint_url=endpoint_url, purpose="check"),
            lineage,
            policy=use_policy(inputs),
        )
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        raise LineageUnreadableError(f"reading the lineage failed: {code}") from exc
    except BotoCoreError as exc:
        raise LineageUnreadableError(f"AWS unreachable: {exc}") from exc


def run_preview(stack: str, cwd: str | None, extra: list[str]) -> dict[str, Any]:
    """``pulumi preview --json --show-sames`` of ``stack`` (the CLI's errors go to stderr)."""
    args = ["pulumi", "preview", "--json", "--show-sames", "--non-interactive", "--stack", stack]
    args += extra
    done = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, text=True, check=False)
    if not done.stdout.strip():
        raise SystemExit(f"pr_preview: `{' '.join(args)}` exited {done.returncode} with no JSON")
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack", help="run `pulumi preview --json` of this stack")
    parser.add_argument("--cwd", help="the Pulumi project directory (with --stack)")
    parser.add_argument("--no-aws", action="store_true", help="do not read images from AWS")
    parser.add_argument("pulumi_args", nargs="*", help="after --: more `pulumi preview` args")
    args = parser.parse_args(argv)
    if args.stack:
        document = run_preview(args.stack, args.cwd, args.pulumi_args)
    else:
        document = json.load(sys.stdin)
    report = read_preview(document, None if args.no_aws else aws_lineage)
    sys.stdout.write(render(report))
    # A failed preview (config errors) still gets its comment, and fails the job.
    errors = [d for d in document.get("diagnostics") or [] if d.get("severity") == "error"]
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
