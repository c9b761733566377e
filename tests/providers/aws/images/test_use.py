"""The in-use guard against moto: each kind of use, and what does not count."""

from __future__ import annotations

from typing import Any

from providers.aws.images.use import UsePolicy, image_uses
from tests.conftest import REGION, plain_image


def _images(ec2: Any, *image_ids: str) -> list[dict[str, Any]]:
    return list(ec2.describe_images(ImageIds=list(image_ids))["Images"])


def test_image_uses_stopped_instance_counts_terminated_does_not(ec2, autoscaling) -> None:
    stopped, gone = plain_image(ec2, "img-a"), plain_image(ec2, "img-b")
    one = ec2.run_instances(ImageId=stopped, MinCount=1, MaxCount=1)["Instances"][0]
    two = ec2.run_instances(ImageId=gone, MinCount=1, MaxCount=1)["Instances"][0]
    ec2.stop_instances(InstanceIds=[one["InstanceId"]])
    ec2.terminate_instances(InstanceIds=[two["InstanceId"]])

    uses = image_uses(ec2, autoscaling, _images(ec2, stopped, gone))

    assert uses[stopped] == [f"instance {one['InstanceId']} (stopped)"]
    assert uses[gone] == []


def test_image_uses_launch_configuration_of_a_group(ec2, autoscaling) -> None:
    image = plain_image(ec2)
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="web-1", ImageId=image, InstanceType="t3.micro"
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="web",
        LaunchConfigurationName="web-1",
        MinSize=0,
        MaxSize=1,
        AvailabilityZones=[f"{REGION}a"],
    )

    uses = image_uses(ec2, autoscaling, _images(ec2, image))

    assert uses[image] == ["group web through launch configuration web-1"]


def test_image_uses_mixed_instances_policy_template_version(ec2, autoscaling) -> None:
    image, other = plain_image(ec2, "img-a"), plain_image(ec2, "img-b")
    template = ec2.create_launch_template(
        LaunchTemplateName="mixed", LaunchTemplateData={"ImageId": image}
    )["LaunchTemplate"]
    ec2.create_launch_template_version(
        LaunchTemplateId=template["LaunchTemplateId"], LaunchTemplateData={"ImageId": other}
    )
    ec2.modify_launch_template(LaunchTemplateId=template["LaunchTemplateId"], DefaultVersion="2")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="mixed",
        MixedInstancesPolicy={
            "LaunchTemplate": {
                "LaunchTemplateSpecification": {
                    "LaunchTemplateId": template["LaunchTemplateId"],
                    "Version": "1",
                },
                "Overrides": [{"InstanceType": "t3.micro"}],
            }
        },
        MinSize=0,
        MaxSize=1,
        AvailabilityZones=[f"{REGION}a"],
    )

    uses = image_uses(ec2, autoscaling, _images(ec2, image, other))

    lt = template["LaunchTemplateId"]
    assert uses[image] == [f"group mixed through {lt} version 1"]
    assert f"{lt} version 2 (default)" in uses[other]


def test_image_uses_shared_unless_prune_shared(ec2, autoscaling) -> None:
    image = plain_image(ec2)
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"Group": "all"}]})

    assert image_uses(ec2, autoscaling, _images(ec2, image))[image] == [
        "shared with everyone (public)"
    ]
    pruning = image_uses(ec2, autoscaling, _images(ec2, image), policy=UsePolicy(prune_shared=True))
    assert pruning[image] == []


def test_image_uses_unused_image_has_no_reasons_and_no_attribute_reads_when_not_asked(
    ec2, autoscaling
) -> None:
    from tests.recording import CallRecorder

    image = plain_image(ec2)
    calls = CallRecorder().attach(ec2)

    uses = image_uses(ec2, autoscaling, _images(ec2, image), policy=UsePolicy(prune_shared=True))

    assert uses == {image: []}
    assert calls.of("DescribeImageAttribute") == []


def test_image_uses_finds_the_default_version_of_every_template_past_one_page(
    ec2, autoscaling
) -> None:
    image = plain_image(ec2)
    other = plain_image(ec2, "other")
    for n in range(20):
        ec2.create_launch_template(
            LaunchTemplateName=f"lt-{n}", LaunchTemplateData={"ImageId": other}
        )
    last = ec2.create_launch_template(
        LaunchTemplateName="last", LaunchTemplateData={"ImageId": image}
    )["LaunchTemplate"]

    uses = image_uses(ec2, autoscaling, _images(ec2, image))

    assert f"{last['LaunchTemplateId']} version 1 (default)" in uses[image]
