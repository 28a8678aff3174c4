"""Run the policy pack offline over a render: `python policy/offline.py RENDER_DIR --config FILE` (X-16).

Feeds every resource of `RENDER_DIR/resources.json` (written by `python -m tools.render`) through the pack's own
analyzer, the code path `pulumi preview --policy-pack` drives over gRPC: `Configure` with the policy config file,
`Analyze` per resource (inputs and `protect`), `AnalyzeStack` over all of them. Prints one line per violation and
exits 1 when a mandatory policy is violated. Runs in the pack's virtualenv (`.venvs/policy` or `policy/venv`).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as proto
from pulumi_policy.policy import _PolicyAnalyzerServicer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from policies import ENFORCEMENT, POLICIES

LEVELS = {"advisory": proto.ADVISORY, "mandatory": proto.MANDATORY, "disabled": proto.DISABLED}


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    urn: str
    message: str


def analyzer(config: dict[str, Any]) -> _PolicyAnalyzerServicer:
    """The pack's analyzer, configured as the CLI does from a `--policy-pack-config` file."""
    servicer = _PolicyAnalyzerServicer("ai-platform", "0.1.0", POLICIES, ENFORCEMENT)
    names = {policy.name for policy in POLICIES}
    unknown = sorted(set(config) - names - {"all"})
    if unknown:
        raise ValueError(f"policy config names unknown policies {unknown}; the pack has {sorted(names)}")
    request = proto.ConfigureAnalyzerRequest()
    for policy in POLICIES:
        entry = config.get(policy.name, {})
        entry = {"enforcementLevel": entry} if isinstance(entry, str) else dict(entry)
        level = entry.pop("enforcementLevel", None) or (policy.enforcement_level or ENFORCEMENT).value
        request.policyConfig[policy.name].enforcementLevel = LEVELS[level]
        request.policyConfig[policy.name].properties.update(entry)
    servicer.Configure(request, None)
    return servicer


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(value, struct_pb2.Struct())


def _options(resource: dict[str, Any]) -> proto.AnalyzerResourceOptions:
    return proto.AnalyzerResourceOptions(protect=bool(resource.get("protect")), parent=resource.get("parent") or "")


def analyze(resources: list[dict[str, Any]], config: dict[str, Any]) -> list[Violation]:
    """Every policy diagnostic for RESOURCES (entries of a render's resources.json)."""
    servicer = analyzer(config)
    diagnostics = []
    for resource in resources:
        request = proto.AnalyzeRequest(
            type=resource["type"],
            properties=_struct(resource.get("inputs") or {}),
            urn=resource["urn"],
            name=resource["name"],
            options=_options(resource),
        )
        diagnostics += [(d, resource["urn"]) for d in servicer.Analyze(request, None).diagnostics]
    stack = proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(
                type=r["type"],
                properties=_struct(r.get("inputs") or {}),
                urn=r["urn"],
                name=r["name"],
                options=_options(r),
                parent=r.get("parent") or "",
                dependencies=r.get("dependsOn") or [],
            )
            for r in resources
        ]
    )
    diagnostics += [(d, d.urn) for d in servicer.AnalyzeStack(stack, None).diagnostics]
    return [
        Violation(d.policyName, proto.EnforcementLevel.Name(d.enforcementLevel).lower(), urn, d.message)
        for d, urn in diagnostics
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("render", type=Path, help="a render directory (python -m tools.render STACK --out DIR)")
    parser.add_argument("--config", type=Path, help="policy config, as for --policy-pack-config")
    args = parser.parse_args(argv)
    config = json.loads(args.config.read_text()) if args.config else {}
    violations = analyze(json.loads((args.render / "resources.json").read_text()), config)
    for v in violations:
        print(f"[{v.level}] {v.policy}: {v.urn}\n    {v.message.replace(chr(10), chr(10) + '    ')}")
    mandatory = [v for v in violations if v.level == "mandatory"]
    print(f"{len(violations)} violations, {len(mandatory)} mandatory")
    return 1 if mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
