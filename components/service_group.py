"""ServiceGroup: one node of the resource tree per service, so previews and the stack read service by service.

It declares nothing itself; everything of the service (namespaces, Secrets, stores, apps, policies, alerts)
is its child. Resources that were declared at the top of the stack before the group existed alias their old
place (`moved_here`), so introducing the group changes no deployed resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class ServiceGroupArgs:
    """What the group stands for."""

    namespaces: Sequence[str]
    """The service's namespaces (published as the group's output)."""


class ServiceGroup(pulumi.ComponentResource):
    """The parent of everything one service declares."""

    def __init__(self, name: str, args: ServiceGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:service_group:ServiceGroup", name, None, opts)
        self.register_outputs({"namespaces": list(args.namespaces)})

    def child_options(self, opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
        """OPTS for a component placed in the group that used to sit at the top of the stack: its old URN (and
        those of its children) stay valid through an alias."""
        return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(parent=self, aliases=[MOVED_FROM_STACK]))


MOVED_FROM_STACK = pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)
"""Where the service's components were declared before the groups existed: directly under the stack."""
