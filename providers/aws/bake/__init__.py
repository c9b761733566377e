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
- ``commands``: SSM Run Command on the instance for the patch, prepare and restore
  steps (``run_command``, ``patch_instance``), once per bake: the command id is tagged
  on the instance (``bakery:command:<step>``) and a retry adopts it; ``agent_online``
  and ``document_problem`` for check-time pre-flight.
- ``patch_state``: the instance's patch state (DescribeInstancePatchStates) as a
  fingerprint for ``rebake_on: [patch_state]``.
- ``verify``: one test instance of the new image, launched idempotently (ClientToken
  from the bake id), must reach running and pass both status checks (and the caller's
  command) before the image is handed on; always terminated; leftovers of killed runs
  found by tag (``bakery:verify-of``) and terminated; the verdict tagged on the image;
  ``verify_problems`` checks subnet, groups and type at check.
- ``waits``: the bake's waits as data.

AWS calls: ec2 DescribeInstances, DescribeInstanceTypes, DescribeInstanceAttribute,
DescribeSnapshots, DescribeImages, StopInstances, StartInstances, CreateImage,
CreateTags, DeleteTags, DeregisterImage, DeleteSnapshot; autoscaling
DescribeAutoScalingInstances; ssm SendCommand, GetCommandInvocation,
DescribeInstanceInformation, DescribeDocument, DescribeInstancePatchStates; for
verify ec2 RunInstances, DescribeInstanceStatus, TerminateInstances, DescribeSubnets,
DescribeSecurityGroups.

Depends on ``images/`` (a bake makes an image: it finds, waits for, tags and, on a
failed verify, deregisters it with the same functions retention uses).
"""
