"""AppSecret: one Kubernetes Secret from configured secrets and generated values.

Values the program can generate (JWT secrets, admin tokens) come from pulumi-random, so they are
stored encrypted in state and never typed by a person; the rest arrive as Pulumi secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import kube


@dataclass(frozen=True)
class AppSecretArgs:
    """Where the Secret lives and what it holds."""

    namespace: pulumi.Input[str]
    """Namespace of the Secret."""
    secret_name: str
    """Kubernetes name of the Secret (apps reference it with `secretKeyRef`)."""
    values: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Key -> value supplied by the caller (wrapped as secret)."""
    generated: Mapping[str, int] = field(default_factory=dict)
    """Key -> length of a random value generated once and kept in state."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels on the Secret."""


class AppSecret(pulumi.ComponentResource):
    """A Secret whose every value is a Pulumi secret."""

    secret_name: str
    """Kubernetes name of the Secret."""
    values: dict[str, pulumi.Output[str]]
    """Key -> secret Output, for callers that must hand a value on (never exported in plain text)."""

    def __init__(self, name: str, args: AppSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:app_secret:AppSecret", name, None, opts)
        child = kube.child_options(self, opts)
        self.secret_name = args.secret_name
        self.values = {key: pulumi.Output.secret(value) for key, value in args.values.items()}
        for key, length in args.generated.items():
            password = random.RandomPassword(f"{name}-{key}", length=length, special=False, opts=child)
            self.values[key] = pulumi.Output.secret(password.result)
        k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=kube.metadata(args.secret_name, args.namespace, args.labels),
            type="Opaque",
            string_data=dict(sorted(self.values.items())),
            opts=child,
        )
        self.register_outputs({"secretName": args.secret_name})
