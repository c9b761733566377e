"""Bakery's CrossGuard policy pack: ``pulumi preview --policy-pack policy``.

The rules live in rules.py; this file only wires each into a mandatory
resource policy. The stack's ``bakery-policy:*`` config reaches the pack through
the language host (PULUMI_CONFIG), so ``pulumi.Config`` reads it as a program would.
"""

from __future__ import annotations

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from rules import NAMESPACE, RULES, Rule, Stack  # type: ignore[import-not-found]


def _policy(name: str, description: str, rule: Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        stack = Stack.from_config(pulumi.Config(NAMESPACE).get)
        message = rule(args.resource_type, args.props, stack)
        if message is not None:
            report_violation(message, args.urn)

    return ResourceValidationPolicy(name=name, description=description, validate=validate)


PolicyPack(
    name="bakery",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[_policy(name, description, rule) for name, (description, rule) in RULES.items()],
)
