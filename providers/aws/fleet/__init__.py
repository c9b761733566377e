"""The fleet: Auto Scaling groups that run an image, and how a new image reaches them.

- ``groups``: describe groups, judge their health (instances, target groups), drain
  and delete them.
- ``instance_refresh`` and ``refresh_status``: the rolling path (start or adopt an
  instance refresh, wait for it to end, say what it did).
- ``cutover``: the blue/green path (which group serves, capacity matching, retiring
  the old groups).

AWS calls: autoscaling DescribeAutoScalingGroups, DescribeScalingActivities,
StartInstanceRefresh, DescribeInstanceRefreshes, SetDesiredCapacity,
UpdateAutoScalingGroup, SetInstanceProtection, CreateOrUpdateTags,
DeleteAutoScalingGroup, DeleteLaunchConfiguration; ec2 DescribeInstances;
elasticloadbalancing DescribeTargetHealth.

Depends on no other job folder (the rollout rules are in ``rules/``).
"""
