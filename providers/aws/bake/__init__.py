"""The bake: a golden instance becomes an AMI through EC2's own CreateImage.

- ``baked_image``: the entry points (``find_instance``, ``check_bake``, ``bake_image``,
  ``update_baked_image``) the adapter calls; check reads the instance once
  (``find_instance``) for ``check_bake`` and ``preflight_bake``.
- ``request``: what a bake is asked (``BakeRequest``) and what it made.
- ``steps``: ``BakeRun``, the steps in order (inspect, hold, stop, image, restart,
  release, wait, verify), each asking AWS first whether it is already done.
- ``preflight``: golden-instance hazards found at check with read-only calls;
  ``reachability``: an AWS that cannot be reached or refuses, as one clear problem.
- ``source_instance``: describe, stop, start and restore the instance;
  ``instance_hold``: the stop note (tags) that lets two bakes take turns.
- ``waits``: the bake's waits as data.

AWS calls: ec2 DescribeInstances, DescribeInstanceTypes, DescribeInstanceAttribute,
DescribeSnapshots, DescribeImages, StopInstances, StartInstances, CreateImage,
CreateTags, DeleteTags, DeregisterImage, DeleteSnapshot; autoscaling
DescribeAutoScalingInstances.

Depends on ``images/`` (a bake makes an image: it finds, waits for, tags and, on a
failed verify, deregisters it with the same functions retention uses).
"""
