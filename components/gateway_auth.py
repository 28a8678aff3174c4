"""GatewayBasicAuth: HTTP basic authentication at the Gateway in front of routes with no login of their own.

An Envoy Gateway `SecurityPolicy` attached to the given HTTPRoutes asks every request for a user and password
before it reaches the backend (X-15, S3-03: Prometheus and Grafana behind authentication). The password is
generated (pulumi-random) and never leaves state in plain text; the Secret `secret_name` holds it for the
operators (`username`, `password`) and, for Envoy, its htpasswd line (`.htpasswd`, `{SHA}` scheme: the one
Envoy's basic-auth filter reads). The Secret lives beside the policy and its routes, as the policy requires.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import kube
from components.kube import GATEWAY_API

ENVOY_GATEWAY_API = "gateway.envoyproxy.io/v1alpha1"
HTPASSWD_KEY = ".htpasswd"
PASSWORD_LENGTH = 40
"""Long and random: the `{SHA}` scheme is unsalted, so the password itself must resist guessing."""


def htpasswd_line(username: str, password: str) -> str:
    """USERNAME's line of an htpasswd file in the `{SHA}` scheme (`htpasswd -s`)."""
    digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()  # the scheme is SHA-1
    return f"{username}:{{SHA}}{digest}\n"


@dataclass(frozen=True)
class GatewayBasicAuthArgs:
    """The routes to protect and the login they share."""

    namespace: pulumi.Input[str]
    """Namespace of the routes, the SecurityPolicy and the Secret."""
    routes: Sequence[str]
    """Names of the HTTPRoutes (in `namespace`) that require the login."""
    secret_name: str
    """Secret holding the login (`username`, `password`) and Envoy's `.htpasswd`."""
    username: str = "ops"
    """The one user of the login."""
    part_of: str | None = None
    """Value of `app.kubernetes.io/part-of`."""

    def __post_init__(self) -> None:
        if not self.routes:
            raise ValueError("GatewayBasicAuth needs at least one route to protect")
        if not self.username or ":" in self.username:
            raise ValueError(f"username must be non-empty and contain no ':', got {self.username!r}")


class GatewayBasicAuth(pulumi.ComponentResource):
    """A generated login and the SecurityPolicy that requires it on the given routes."""

    secret_name: str
    """Secret with keys `username`, `password` and `.htpasswd`."""
    policy_name: str
    """Name of the SecurityPolicy."""
    password: pulumi.Output[str]
    """The generated password (secret Output)."""
    secret: k8s.core.v1.Secret
    policy: k8s.apiextensions.CustomResource

    def __init__(self, name: str, args: GatewayBasicAuthArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:gateway_auth:GatewayBasicAuth", name, None, opts)
        child = kube.child_options(self, opts)
        labels = kube.app_labels(name, args.part_of, component="gateway-auth")
        self.secret_name, self.policy_name = args.secret_name, name
        generated = random.RandomPassword(
            f"{name}-password", length=PASSWORD_LENGTH, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        self.password = pulumi.Output.secret(generated.result)
        # Derived from a secret, so a secret too.
        htpasswd = self.password.apply(lambda password: htpasswd_line(args.username, password))
        self.secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=kube.metadata(args.secret_name, args.namespace, labels),
            type="Opaque",
            string_data={
                "username": args.username,
                "password": self.password,
                HTPASSWD_KEY: htpasswd,
            },
            opts=child,
        )
        self.policy = k8s.apiextensions.CustomResource(
            f"{name}-policy",
            api_version=ENVOY_GATEWAY_API,
            kind="SecurityPolicy",
            metadata=kube.metadata(name, args.namespace, labels),
            spec={
                "targetRefs": [{"group": GATEWAY_API, "kind": "HTTPRoute", "name": route} for route in args.routes],
                "basicAuth": {"users": {"group": "", "kind": "Secret", "name": args.secret_name}},
            },
            # Envoy Gateway refuses requests to the routes until it has read the Secret the policy names.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.secret])),
        )
        self.register_outputs({"secretName": args.secret_name, "policyName": name})
