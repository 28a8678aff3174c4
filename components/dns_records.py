"""DnsRecords: public host names in a Route 53 zone pointing at the Gateway, so `pulumi up` leaves working URLs.

One record per host name: a CNAME to the Gateway's load balancer when the Gateway reports a host name (AWS
load balancers), an A record when it reports an IP address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.validation import dns_slug


@dataclass(frozen=True)
class DnsRecordsArgs:
    """The zone, the host names and the address they point at."""

    zone_id: str
    """Route 53 hosted zone holding the host names."""
    hostnames: Sequence[str]
    """Fully qualified host names inside the zone."""
    target: pulumi.Input[Mapping[str, str] | None]
    """The Gateway's address as its status reports it: `{type: Hostname | IPAddress, value}`."""
    ttl: int = 300
    """Seconds resolvers may cache the records."""

    def __post_init__(self) -> None:
        if not self.hostnames:
            raise ValueError("at least one host name is needed")
        if not 30 <= self.ttl <= 86400:
            raise ValueError(f"ttl must be between 30 and 86400 seconds, got {self.ttl}")


class DnsRecords(pulumi.ComponentResource):
    """A record per host name pointing at the target address."""

    records: dict[str, aws.route53.Record]
    """Record per host name."""

    def __init__(self, name: str, args: DnsRecordsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:dns_records:DnsRecords", name, None, opts)
        target = pulumi.Output.from_input(args.target).apply(_checked)
        record_type = target.apply(lambda address: "CNAME" if address["type"] == "Hostname" else "A")
        self.records = {
            host: aws.route53.Record(
                f"{name}-{dns_slug(host)}",
                zone_id=args.zone_id,
                name=host,
                type=record_type,
                ttl=args.ttl,
                records=[target.apply(lambda address: address["value"])],
                opts=pulumi.ResourceOptions(parent=self),
            )
            for host in args.hostnames
        }
        self.register_outputs({"hostnames": sorted(self.records)})


def _checked(address: Mapping[str, str] | None) -> Mapping[str, str]:
    if not address or not address.get("value"):
        raise ValueError(
            "the Gateway reports no address yet: its load balancer is not ready, so no record can point at it"
        )
    return address
