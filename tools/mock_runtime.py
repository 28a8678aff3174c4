"""Run the real program (`__main__.py`) under Pulumi's mock runtime and record what it registers.

The render tool, the benchmark and the whole-program tests all go through `run_program`, so the
program that `pulumi up` runs is the program that is checked offline. Nothing here is imported
by the program itself.
"""

from __future__ import annotations

import hashlib
import os
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from tools import stack_config

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "ai-platform"
ACCOUNT_ID = "123456789012"

# What the cluster team's stack exports (ARCHITECTURE: `ai-platform:cluster.stack`).
CLUSTER_STACK_OUTPUTS = {
    "kubeconfig": "apiVersion: v1\nkind: Config\nclusters: []\n",
    "oidcProviderArn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE",
    "oidcIssuerUrl": "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE",
}


@dataclass
class Registration:
    """One resource registration as the engine would receive it."""

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    protect: bool
    retain_on_delete: bool
    dependencies: list[str]
    provider: str = ""
    """Provider reference (`<provider urn>::<id>`), empty for the default provider."""
    replace_on_changes: list[str] = field(default_factory=list)
    """Input paths whose change makes the engine replace the resource."""
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProgramRun:
    """Everything a mock run of the program produced."""

    stack: str
    registrations: list[Registration]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    invokes: list[tuple[str, dict[str, Any], str]]
    """(token, args, provider reference) of every invoke, in order."""

    def by_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str, name: str) -> Registration:
        found = [r for r in self.registrations if r.type == type_ and r.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} registrations of {type_} {name!r}")
        return found[0]

    def by_urn(self) -> dict[str, Registration]:
        return {r.urn: r for r in self.registrations}


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class PlatformMocks(pulumi.runtime.Mocks):
    """Gives computed outputs realistic values (ARNs, digests, generated secrets)."""

    def __init__(self, region: str = "eu-west-1") -> None:
        self.region = region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        typ, name = args.typ, args.name
        if typ == "pulumi:pulumi:StackReference":
            return f"{name}-id", {"name": inputs.get("name", name), "outputs": dict(CLUSTER_STACK_OUTPUTS)}
        if typ.startswith("random:"):
            return f"{name}-id", {**inputs, "result": f"generated-{name}"}
        if typ.startswith("aws:"):
            return self._aws(typ, name, inputs)
        if typ.startswith("docker:"):
            return f"{name}-id", {**inputs, "repoDigest": f"{inputs.get('name', name)}@{digest(name)}"}
        return f"{name}-id", inputs

    def _aws(self, typ: str, name: str, inputs: dict) -> tuple[str, dict]:
        service = typ.split(":")[1].split("/")[0]
        physical = inputs.get("bucket") or inputs.get("name") or f"{name}-mock"
        # ARNs as AWS forms them: consumers and the outputs contract rely on their shape.
        if service == "s3":
            arn = f"arn:aws:s3:::{physical}"
        elif typ == "aws:iam/role:Role":
            arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{physical}"
        elif typ == "aws:kms/key:Key":
            physical = f"{name}-key-id"
            arn = f"arn:aws:kms:{self.region}:{ACCOUNT_ID}:key/{physical}"
        else:
            arn = f"arn:aws:{service}:{'' if service == 'iam' else self.region}:{ACCOUNT_ID}:{physical}"
        state = {**inputs, "arn": arn, "id": physical}
        if typ == "aws:kms/key:Key":
            state["keyId"] = physical
        if typ == "aws:s3/bucket:Bucket":
            state["bucket"] = physical
            state["bucketDomainName"] = f"{physical}.s3.amazonaws.com"
        return physical, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        token, a = args.token, args.args
        if token == "docker:index/getRegistryImage:getRegistryImage":
            return {"name": a["name"], "sha256Digest": digest(a["name"]), "id": a["name"]}
        if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            host = f"{a.get('registryId', ACCOUNT_ID)}.dkr.ecr.{self.region}.amazonaws.com"
            return {"proxyEndpoint": f"https://{host}", "userName": "AWS", "password": "ecr-token", "id": host}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/mock", "userId": "mock"}
        if token in ("aws:index/getRegion:getRegion", "aws:index/region:Region"):
            return {"name": self.region, "region": self.region, "id": self.region}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        return {}


class RecordingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, also keeping the resource options `Mocks` never sees."""

    def __init__(self, mocks_: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks_)
        self.registrations: list[Registration] = []
        self.invokes: list[tuple[str, dict[str, Any], str]] = []

    def Invoke(self, request):  # noqa: N802 - gRPC method name
        self.invokes.append((request.tok, rpc.deserialize_properties(request.args), request.provider))
        return super().Invoke(request)

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self._record(request, response.urn, request.object, custom=request.custom)
        return response

    def ReadResource(self, request):  # noqa: N802 - gRPC method name (StackReference reads)
        response = super().ReadResource(request)
        self._record(request, response.urn, request.properties, custom=True)
        return response

    def _record(self, request, urn: str, properties, custom: bool) -> None:
        registered = self.resources.get(urn)
        self.registrations.append(
            Registration(
                type=request.type,
                name=request.name,
                urn=urn,
                parent=request.parent,
                custom=custom,
                inputs=rpc.deserialize_properties(properties),
                # Read requests carry no protect/retainOnDelete: they default to False.
                protect=bool(getattr(request, "protect", False)),
                retain_on_delete=bool(getattr(request, "retainOnDelete", False)),
                dependencies=list(request.dependencies),
                provider=request.provider,
                replace_on_changes=list(getattr(request, "replaceOnChanges", [])),
                state=registered.state if registered else {},
            )
        )


def load_stack_config(stack: str) -> dict[str, Any]:
    """`Pulumi.<stack>.yaml`'s config as the CLI reads it: fully qualified key -> value, secrets as `Secure`."""
    return stack_config.load_stack(ROOT / f"Pulumi.{stack}.yaml")


def load_project() -> dict[str, Any]:
    """`Pulumi.yaml`, refused (ConfigError) where the CLI would refuse to load it."""
    return stack_config.load_project(ROOT / "Pulumi.yaml")


def run_program(
    stack: str,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    fill_missing_secrets: bool = True,
    values: dict[str, Any] | None = None,
    project: dict[str, Any] | None = None,
) -> ProgramRun:
    """Run `__main__.py` for STACK under mocks, with the config the Pulumi CLI would pass it.

    PROJECT is `Pulumi.yaml` (default: the committed one, validated), VALUES the stack file's config
    (default: `Pulumi.<stack>.yaml`); `overrides` replace some of them
    as an edit of the stack file would (fully qualified keys; None removes a key); `secrets` add secret
    values. With `fill_missing_secrets`, every secret the stack needs but does not hold gets a placeholder,
    as a CI render without the stack's encryption key does. Raises `stack_config.ConfigError` where the CLI
    would refuse the stack and the program's `SettingsError` where the program would.
    """
    import settings as platform_settings  # the program's own module, imported after sys.path is set

    values = dict(load_stack_config(stack) if values is None else values)
    for key, value in (overrides or {}).items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    for key, value in (secrets or {}).items():
        values[key] = stack_config.Secure(value)
    if fill_missing_secrets:
        for key in platform_settings.required_secret_keys(values):
            values.setdefault(key, stack_config.Secure())
    project = load_project() if project is None else stack_config.checked_project(project)
    config = stack_config.merge(project, stack, values)
    monitor = start_mock_runtime(stack, config.values, set(config.secret_keys))

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")))
        outputs, secret_outputs = _resolve_stack_outputs()
    finally:
        os.chdir(cwd)
    return ProgramRun(stack, monitor.registrations, outputs, secret_outputs, monitor.invokes)


def start_mock_runtime(stack: str, values: dict[str, str], secret_keys: set[str]) -> RecordingMonitor:
    """A fresh mock runtime for STACK with the given config texts (also used by unit tests)."""
    mocks_ = PlatformMocks(values.get("aws:region", "eu-west-1"))
    monitor = RecordingMonitor(mocks_)
    pulumi.runtime.settings.reset_options(project=PROJECT, stack=stack)
    pulumi.runtime.set_all_config(dict(values), sorted(secret_keys))
    pulumi.runtime.set_mocks(mocks_, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    return monitor


def _resolve_stack_outputs() -> tuple[dict[str, Any], set[str]]:
    root = pulumi.runtime.settings.get_root_resource()
    exported = dict(getattr(root, "outputs", {}) or {})
    values: dict[str, Any] = {}
    secret: set[str] = set()

    async def resolve() -> None:
        for key, value in exported.items():
            output = pulumi.Output.from_input(value)
            values[key] = await output.future()
            if await output.is_secret():
                secret.add(key)

    _sync_await(resolve())
    return values, secret
