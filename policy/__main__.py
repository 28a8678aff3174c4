"""Entry point the Pulumi CLI runs for `--policy-pack policy` (X-16)."""

from policies import ENFORCEMENT, POLICIES
from pulumi_policy import PolicyPack

PolicyPack(name="ai-platform", policies=POLICIES, enforcement_level=ENFORCEMENT)
