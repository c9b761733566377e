"""The golden instance seeded into a local AWS (moto): root + two data volumes.

Used by the tests, the benchmarks (bench/) and, through the thin command
``python -m scripts.seed_golden_instance``, by scripts/local-up.sh against the moto
server of server.py. moto loses Iops/Throughput and refuses io2 in RunInstances
mappings, so the data volumes are made with CreateVolume and attached
(../shared/NOTES.md).
"""

from __future__ import annotations

from typing import Any

# Any id works in moto; this one mimics an Amazon Linux image id.
BASE_IMAGE_ID = "ami-0abcdef1234567890"


def seed_golden_instance(ec2: Any, kms: Any, *, name: str = "golden") -> str:
    """Run an instance with an encrypted (KMS) volume and a gp3 volume with iops/throughput.

    Returns:
        The instance id.
    """
    key_id = kms.create_key(Description="bakery golden data key")["KeyMetadata"]["Arn"]
    instance = ec2.run_instances(
        ImageId=BASE_IMAGE_ID,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        BlockDeviceMappings=[
            {"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8, "VolumeType": "gp3"}}
        ],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
    )["Instances"][0]
    instance_id: str = instance["InstanceId"]
    zone = instance["Placement"]["AvailabilityZone"]
    encrypted = ec2.create_volume(
        AvailabilityZone=zone, Size=20, VolumeType="gp2", Encrypted=True, KmsKeyId=key_id
    )
    fast = ec2.create_volume(
        AvailabilityZone=zone, Size=50, VolumeType="gp3", Iops=6000, Throughput=500
    )
    ec2.attach_volume(InstanceId=instance_id, VolumeId=encrypted["VolumeId"], Device="/dev/sdf")
    ec2.attach_volume(InstanceId=instance_id, VolumeId=fast["VolumeId"], Device="/dev/sdg")
    return instance_id


SSM_PROFILE = "bakery-golden-ssm"


def manage_with_ssm(ec2: Any, iam: Any, instance_id: str, profile: str = SSM_PROFILE) -> str:
    """Give the instance an instance profile (role and profile made if new): the local
    Systems Manager (tests/moto_ext/ssm_commands.py) then lists it as a managed node.

    Returns:
        The profile's name, for ``verify.instance_profile``.
    """
    try:
        iam.get_instance_profile(InstanceProfileName=profile)
    except iam.exceptions.NoSuchEntityException:
        iam.create_role(RoleName=profile, AssumeRolePolicyDocument="{}")
        iam.create_instance_profile(InstanceProfileName=profile)
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=profile)
    ec2.associate_iam_instance_profile(IamInstanceProfile={"Name": profile}, InstanceId=instance_id)
    return profile
