"""An image's life after its bake, and its snapshots.

- ``amis``: create (CreateImage), find, describe, wait for, tag and deregister AMIs.
- ``snapshots``: a bake's EBS snapshots: find by tag, delete, retry refused deletes.
- ``use``: the in-use guard (instances, groups, launch templates, holds, sharing,
  recent launches) checked before any image is deregistered.
- ``hold``: a promoting stack's mark on the image it runs.
- ``retention``: retire, then prune what nobody uses (``release_image``).
- ``lineage``: a lineage's images as a preview sees them (``release_plan``).
- ``lifecycle``: deprecation, deregistration protection, sharing, regional copies.

AWS calls: ec2 CreateImage, DescribeImages, DescribeImageAttribute, CreateTags,
DeleteTags, DeregisterImage, DescribeSnapshots, DeleteSnapshot,
ModifyImageAttribute, ModifySnapshotAttribute, EnableImageDeprecation,
DisableImageDeprecation, Enable/DisableImageDeregistrationProtection, CopyImage,
DescribeInstances, DescribeLaunchTemplates, DescribeLaunchTemplateVersions;
autoscaling DescribeAutoScalingGroups, DescribeLaunchConfigurations.

Depends on no other job folder.
"""
