"""The in-use guard: who still needs an image, checked in its region before any prune.

An image is in use (and retention keeps it) when any of these holds:

* an instance that is pending, running, stopping or stopped was launched from it
  (DescribeInstances, filter ``image-id``; a stopped instance needs the image to be
  replaced, and an Auto Scaling group's instances are found here too);
* an Auto Scaling group names it through its launch configuration, or through the
  launch template version it names (also inside a mixed instances policy);
* the default or the latest version of any launch template names it (a group or a
  template version created later would launch it);
* a promoting stack holds it: a tag ``bakery:held-by:<org>/<project>/<stack>`` on the
  image (set and removed by ``providers/aws/images/hold.py``);
* it is shared with other accounts, organizations or OUs, or public (their use cannot
  be seen from this account), unless ``prune_shared``;
* it was launched within ``keep_launched_within_days`` (DescribeImageAttribute
  ``lastLaunchedTime``; AWS reports a launch with up to 24 hours' delay, so a small
  window can miss a launch of the last day: EC2 API reference, ImageAttribute
  LastLaunchedTime).

A launch template whose image is ``resolve:ssm:...`` cannot be resolved here and does
not count (the parameter's current value is not this lineage's id unless a user put it
there). Every Describe that can page is paginated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from providers.aws import tags

# Instance states that still hold on to their image (terminated ones do not).
LIVE_STATES = ("pending", "running", "stopping", "stopped")
# DescribeInstances takes up to 200 values per filter; DescribeLaunchConfigurations 50 names.
_IDS_PER_FILTER = 200
_NAMES_PER_CALL = 50
_TEMPLATE_GONE = (
    "InvalidLaunchTemplateId.NotFound",
    "InvalidLaunchTemplateName.NotFoundException",
    "InvalidLaunchTemplateId.VersionNotFound",
    "InvalidLaunchTemplateId.Malformed",
)


@dataclass(frozen=True)
class UsePolicy:
    """What counts as use beyond what is always checked."""

    prune_shared: bool = False
    """Shared images count as unused (their users' use cannot be seen from here)."""
    keep_launched_within_days: float | None = None
    """Keep an image launched from within this many days (lastLaunchedTime)."""


NO_POLICY = UsePolicy()


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _instances(ec2: Any, image_ids: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(image id, "instance i-... (state)") for every live instance launched from them."""
    paginator = ec2.get_paginator("describe_instances")
    for chunk in _chunks(image_ids, _IDS_PER_FILTER):
        filters = [
            {"Name": "image-id", "Values": chunk},
            {"Name": "instance-state-name", "Values": list(LIVE_STATES)},
        ]
        for page in paginator.paginate(Filters=filters):
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    state = instance.get("State", {}).get("Name", "")
                    if state in LIVE_STATES:
                        yield instance["ImageId"], f"instance {instance['InstanceId']} ({state})"


def _template_versions(
    ec2: Any, versions: Iterable[str], *, template_id: str = "", template_name: str = ""
) -> list[dict[str, Any]]:
    """The named versions of one launch template ([] when it is gone)."""
    ref = {"LaunchTemplateId": template_id} if template_id else {}
    if not template_id:
        ref = {"LaunchTemplateName": template_name}
    try:
        found: list[dict[str, Any]] = []
        paginator = ec2.get_paginator("describe_launch_template_versions")
        for page in paginator.paginate(**ref, Versions=sorted(set(versions))):
            found.extend(page["LaunchTemplateVersions"])
        return found
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _TEMPLATE_GONE:
            return []
        raise


def _image_of(version: Mapping[str, Any]) -> str:
    return str(version.get("LaunchTemplateData", {}).get("ImageId") or "")


def _templates(ec2: Any) -> Iterator[tuple[str, str]]:
    """(image id, "lt-... version N (default/latest)") for every template's default and latest.

    One account-wide query: DescribeLaunchTemplateVersions with ``$Default`` and
    ``$Latest`` and no template id or name describes those versions of every launch
    template (EC2 API reference, DescribeLaunchTemplateVersions, Versions).
    """
    paginator = ec2.get_paginator("describe_launch_template_versions")
    for page in paginator.paginate(Versions=["$Default", "$Latest"]):
        for version in page["LaunchTemplateVersions"]:
            role = "default" if version.get("DefaultVersion") else "latest"
            yield (
                _image_of(version),
                f"{version['LaunchTemplateId']} version {version.get('VersionNumber')} ({role})",
            )


def _group_template_specs(group: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    if group.get("LaunchTemplate"):
        yield group["LaunchTemplate"]
    mixed = group.get("MixedInstancesPolicy", {}).get("LaunchTemplate", {})
    if mixed.get("LaunchTemplateSpecification"):
        yield mixed["LaunchTemplateSpecification"]
    for override in mixed.get("Overrides", []) or []:
        if override.get("LaunchTemplateSpecification"):
            yield override["LaunchTemplateSpecification"]


def _groups(ec2: Any, autoscaling: Any) -> Iterator[tuple[str, str]]:
    """(image id, why) for every image a group launches (configuration or template version)."""
    configs: dict[str, list[str]] = {}
    for page in autoscaling.get_paginator("describe_auto_scaling_groups").paginate():
        for group in page["AutoScalingGroups"]:
            name = group["AutoScalingGroupName"]
            if group.get("LaunchConfigurationName"):
                configs.setdefault(group["LaunchConfigurationName"], []).append(name)
            for spec in _group_template_specs(group):
                version = str(spec.get("Version") or "$Default")
                for found in _template_versions(
                    ec2,
                    (version,),
                    template_id=spec.get("LaunchTemplateId", ""),
                    template_name=spec.get("LaunchTemplateName", ""),
                ):
                    yield (
                        _image_of(found),
                        f"group {name} through {found['LaunchTemplateId']} version "
                        f"{found.get('VersionNumber')}",
                    )
    paginator = autoscaling.get_paginator("describe_launch_configurations")
    for chunk in _chunks(sorted(configs), _NAMES_PER_CALL):
        for page in paginator.paginate(LaunchConfigurationNames=chunk):
            for config in page["LaunchConfigurations"]:
                lc = config["LaunchConfigurationName"]
                for group_name in configs.get(lc, []):
                    yield config["ImageId"], f"group {group_name} through launch configuration {lc}"


def holds(image: Mapping[str, Any]) -> list[str]:
    """The stacks holding the image (``bakery:held-by:<stack>`` tags)."""
    return sorted(
        key[len(tags.HELD_BY) :]
        for key in tags.to_dict(image.get("Tags"))
        if key.startswith(tags.HELD_BY)
    )


def _shared_with(ec2: Any, image: Mapping[str, Any]) -> list[str]:
    if image.get("Public"):
        return ["everyone (public)"]
    try:
        found = ec2.describe_image_attribute(
            ImageId=image["ImageId"], Attribute="launchPermission"
        ).get("LaunchPermissions", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code", "").startswith("InvalidAMIID"):
            return []
        raise
    return sorted(
        p.get("UserId") or p.get("OrganizationArn") or p.get("OrganizationalUnitArn") or "all"
        for p in found
    )


def _last_launched(ec2: Any, image_id: str) -> datetime | None:
    try:
        value = (
            ec2.describe_image_attribute(ImageId=image_id, Attribute="lastLaunchedTime")
            .get("LastLaunchedTime", {})
            .get("Value")
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code", "").startswith("InvalidAMIID"):
            return None
        raise
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def image_uses(
    ec2: Any,
    autoscaling: Any,
    images: Sequence[Mapping[str, Any]],
    *,
    policy: UsePolicy = NO_POLICY,
    now: datetime | None = None,
) -> dict[str, list[str]]:
    """Why each image is still needed, in the region of ``ec2``/``autoscaling``.

    AWS calls: DescribeInstances, DescribeLaunchTemplates, DescribeLaunchTemplateVersions,
    DescribeAutoScalingGroups, DescribeLaunchConfigurations, DescribeImageAttribute
    (launchPermission unless ``prune_shared``; lastLaunchedTime when
    ``keep_launched_within_days`` is set). All read-only.

    Returns:
        Image id -> reasons (``instance i-... (running)``, ``lt-... version 4 (default)``,
        ``group web through lt-... version 4``, ``held by org/project/prod``, ...);
        an image with no reasons is unused.
    """
    uses: dict[str, list[str]] = {i["ImageId"]: [] for i in images}
    if not uses:
        return uses
    ids = sorted(uses)

    def add(found: Iterable[tuple[str, str]]) -> None:
        for image_id, why in found:
            if image_id in uses and why not in uses[image_id]:
                uses[image_id].append(why)

    add(_instances(ec2, ids))
    add(_groups(ec2, autoscaling))
    add(_templates(ec2))
    moment = now or datetime.now(UTC)
    for image in images:
        image_id = image["ImageId"]
        uses[image_id] += [f"held by {stack}" for stack in holds(image)]
        if not policy.prune_shared:
            shared = _shared_with(ec2, image)
            if shared:
                uses[image_id].append(f"shared with {', '.join(shared)}")
        if policy.keep_launched_within_days is not None:
            launched = _last_launched(ec2, image_id)
            window = timedelta(days=float(policy.keep_launched_within_days))
            if launched is not None and moment - launched <= window:
                uses[image_id].append(
                    f"launched {tags.stamp(launched)} (within keep_launched_within_days "
                    f"{policy.keep_launched_within_days:g})"
                )
    return uses
