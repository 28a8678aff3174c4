"""Run the real program (`__main__.py`) under Pulumi's mock runtime and record what it registers.

The render tool, the benchmark and the whole-program tests all go through `run_program`, so the
program that `pulumi up` runs is the program that is checked offline. Nothing here is imported
by the program itself.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import hashlib
import logging
import os
import runpy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pulumi
from pulumi.runtime import mocks, rpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from tools import stack_config

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "ai-platform"
ACCOUNT_ID = "123456789012"

# What the cluster team's stack exports (ARCHITECTURE: `ai-platform:cluster.stack`).
CLUSTER_STACK_OUTPUTS = {
    "kubeconfig": "apiVersion: v1\nkind: Config\nclusters: []\n",
    "oidcProviderArn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE",
    "oidcIssuerUrl": "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE",
    "clusterName": "eks-cluster",
}


GATEWAY_HOSTNAME = "k8s-publicga-public-0123456789-0123456789abcdef.elb.eu-west-1.amazonaws.com"


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
    state: dict[str, Any] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    """Old URNs this resource answers to (from `aliases`, its own or its parents')."""
    ignore_changes: list[str] = field(default_factory=list)
    """Input paths whose changes the engine ignores (`ignore_changes`)."""
    replace_on_changes: list[str] = field(default_factory=list)
    """Input paths whose changes force a replacement (`replace_on_changes`)."""
    delete_before_replace: bool = False


@dataclass
class ProgramRun:
    """Everything a mock run of the program produced."""

    stack: str
    registrations: list[Registration]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    invokes: list[tuple[str, dict[str, Any], str]]
    """(token, args, provider reference) of every invoke, in order."""
    warnings: list[str] = field(default_factory=list)
    """The warnings the program logged (`pulumi.log.warn`), in order: what `pulumi up` shows as diagnostics."""

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
        if typ == "kubernetes:gateway.networking.k8s.io/v1:Gateway":
            # What Envoy Gateway reports once the cloud load balancer in front of its proxies exists.
            address = {"type": "Hostname", "value": GATEWAY_HOSTNAME}
            return f"{name}-id", {**inputs, "status": {"addresses": [address]}}
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

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        return self._invoke(args.token, args.args), []  # no check failures

    def _invoke(self, token: str, a: dict) -> dict:
        if token == "docker:index/getRegistryImage:getRegistryImage":
            return {"name": a["name"], "sha256Digest": digest(a["name"]), "id": a["name"]}
        if token == "aws:ecr/getImage:getImage":
            host = f"{a['registryId']}.dkr.ecr.{a.get('region', self.region)}.amazonaws.com"
            reference = f"{host}/{a['repositoryName']}:{a['imageTag']}"
            return {**a, "imageDigest": digest(reference), "id": reference}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/mock", "userId": "mock"}
        if token in ("aws:index/getRegion:getRegion", "aws:index/region:Region"):
            return {"name": self.region, "region": self.region, "id": self.region}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        return {}


class RecordingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, also keeping the resource options `Mocks` never sees, with URNs and aliases as
    the engine computes them."""

    def __init__(self, mocks_: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks_)
        self.registrations: list[Registration] = []
        self.invokes: list[tuple[str, dict[str, Any], str]] = []
        self.warnings: list[str] = []
        """The program's warnings (the engine's log: `EngineLog`)."""
        self._aliases: dict[str, list[str]] = {}
        """URN -> the URNs it answers to (its own aliases and those inherited from its parents)."""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN: the parent's whole type chain, `$`, the type (the SDK's mock keeps only the
        parent's own type); children of the stack itself carry no parent type."""
        chain = parent.split("::")[2] if parent and not _is_stack(parent) else ""
        qualified_type = f"{chain}${type_}" if chain else type_
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), qualified_type, name])

    def _alias_urns(self, request) -> list[str]:
        """Every old URN the resource answers to, derived from its alias specs as the engine's step generator
        does: a spec naming a parent that itself moved also answers under that parent's old URNs; and the
        resource answers under each old URN of its parent (a `<parent>-x` child name follows a renamed parent).
        The engine uses only the parent's alias that matched the state; offline every alias is a candidate."""
        own, names = [], [(request.type, request.name)]
        for alias in request.aliases:
            if alias.urn:
                own.append(alias.urn)
                continue
            spec = alias.spec
            type_, name = spec.type or request.type, spec.name or request.name
            if spec.noParent:
                parents = [""]
            elif spec.parentUrn:
                parents = [spec.parentUrn, *self._aliases.get(spec.parentUrn, [])]
            else:
                parents = [request.parent]
                names.append((type_, name))
            own += [self.make_urn(parent, type_, name) for parent in parents]
        parent_name = request.parent.rsplit("::", 1)[-1] if request.parent else ""
        inherited = [
            self.make_urn(parent_alias, type_, _renamed_with_parent(name, parent_name, parent_alias))
            for parent_alias in self._aliases.get(request.parent, [])
            for type_, name in names
        ]
        return sorted(set(own + inherited))

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
        # Read requests carry no aliases.
        self._aliases[urn] = self._alias_urns(request) if hasattr(request, "aliases") else []
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
                state=registered.state if registered else {},
                aliases=self._aliases[urn],
                ignore_changes=list(getattr(request, "ignoreChanges", [])),
                replace_on_changes=list(getattr(request, "replaceOnChanges", [])),
                delete_before_replace=bool(getattr(request, "deleteBeforeReplace", False)),
            )
        )


class EngineLog(logging.Logger):
    """Where the mock engine logs: every record reaches the root logger's handlers (stderr when there are none),
    as with the SDK's default logger, and the warnings are also kept in WARNINGS, for the run's record. It is a
    logger of its own, outside `logging.getLogger`'s registry: configure the root logger, not "pulumi.engine"."""

    def __init__(self, warnings: list[str]) -> None:
        super().__init__("pulumi.engine")
        self.parent = logging.getLogger()
        self.warnings = warnings

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.warnings.append(str(msg))
        kwargs.setdefault("stacklevel", 2)  # the record names the engine's call, as its other records do
        super().warning(msg, *args, **kwargs)


def _renamed_with_parent(name: str, parent_name: str, parent_alias: str) -> str:
    """A child named `<parent>-x` was `<old parent name>-x` under its parent's old URN."""
    if parent_name and name.startswith(parent_name):
        return parent_alias.rsplit("::", 1)[-1] + name[len(parent_name) :]
    return name


def _is_stack(urn: str) -> bool:
    return urn.split("::")[2] == "pulumi:pulumi:Stack"


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
    values = stack_values(stack, overrides, secrets, fill_missing_secrets, values)
    project = load_project() if project is None else stack_config.checked_project(project)
    config = stack_config.merge(project, stack, values)
    monitor = start_mock_runtime(stack, config.values, set(config.secret_keys))

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        run_to_completion(_run_main)
        outputs, secret_outputs = resolve_stack_outputs()
    finally:
        os.chdir(cwd)
    return ProgramRun(stack, monitor.registrations, outputs, secret_outputs, monitor.invokes, monitor.warnings)


def stack_values(
    stack: str,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    fill_missing_secrets: bool = True,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The stack file's config as `run_program` hands it to the CLI's rules (its arguments of the same names)."""
    import settings as platform_settings  # the program's own modules, imported after sys.path is set
    from services import CATALOG

    values = dict(load_stack_config(stack) if values is None else values)
    for key, value in (overrides or {}).items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    for key, value in (secrets or {}).items():
        values[key] = stack_config.Secure(value)
    if fill_missing_secrets:
        for key in platform_settings.required_secret_keys(CATALOG, values):
            values.setdefault(key, stack_config.Secure())
    return values


_ran_before = False
"""Whether this process has run a program already (`run_to_completion`)."""


def run_to_completion(program: Callable[[], None]) -> None:
    """Run PROGRAM under the mock runtime started last until every registration it caused has completed.

    The cyclic garbage collector stays out of the way: a run allocates millions of objects (Outputs, tasks,
    property maps) that live until it ends, and every collection during the run walked them all (and the SDK's
    hundreds of thousands of type objects) only to find almost nothing: a third of a render. So collection
    pauses during the run (and in a process that ends after its run, for good: `one_shot`). Before the run,
    everything alive is frozen, out of the collector's reach: the SDK's modules and what earlier runs left for
    their callers are never walked again (what of it turns into cyclic garbage later, such as what a test held
    when it started a run, is never freed). A later run in the same process (the tests) first collects what was
    left since the last freeze, which walks the previous run's objects only: a refused config no longer pays a
    walk of everything the process holds.
    """
    global _ran_before
    if _ran_before:  # not gc.get_freeze_count(): it counts the frozen objects one by one
        gc.collect()
    _ran_before = True
    gc.freeze()
    collecting = gc.isenabled()
    gc.disable()
    try:
        _in_own_thread(lambda: _sync_await(run_pulumi_func(program)))
    finally:
        if collecting:
            gc.enable()


def _in_own_thread(run: Callable[[], None]) -> None:
    """RUN on a thread of its own, at the bottom of a short call stack as under the language host: the SDK walks
    the whole call stack for every resource it registers (its source position), and a caller as deep as a test
    worker made each registration dearer. The thread shares the caller's event loop and runs in a copy of the
    caller's context (the SDK keeps its settings, config and root resource in context variables); what RUN raises
    is raised again on the caller's thread. A run started from inside the running loop (an `apply`, another run)
    stays on the caller's thread, which already pumps that loop."""
    loop, context = _ensure_event_loop(), contextvars.copy_context()
    if loop.is_running():
        run()
        return
    failure: list[BaseException] = []

    def target() -> None:
        asyncio.set_event_loop(loop)
        try:
            context.run(run)
        except BaseException as error:
            failure.append(error)

    # A daemon: an interrupt reaches the caller, waiting here, and ends the process without waiting for the program.
    thread = threading.Thread(target=target, name="pulumi-program", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure.pop()  # not left in FAILURE: the traceback refers to this frame


def one_shot(main: Callable[[], T]) -> T:
    """MAIN's result, in a process that ends after one run of the program (`python -m tools.render`):
    the collector stays off throughout, and what MAIN leaves is frozen, so that the interpreter's final
    collection at exit does not walk the run's objects either (a fifth of a render, to free memory the exit
    frees anyway)."""
    gc.disable()
    result = main()
    gc.freeze()
    return result


def _run_main() -> None:
    runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")


def start_mock_runtime(
    stack: str,
    values: dict[str, str],
    secret_keys: set[str],
    monitor_type: Callable[[pulumi.runtime.Mocks], RecordingMonitor] = RecordingMonitor,
) -> RecordingMonitor:
    """A fresh mock runtime for STACK with the given config texts (also used by unit tests, which pass a
    MONITOR_TYPE that completes registrations in a shuffled order)."""
    mocks_ = PlatformMocks(values.get("aws:region", "eu-west-1"))
    monitor = monitor_type(mocks_)
    pulumi.runtime.settings.reset_options(project=PROJECT, stack=stack)
    pulumi.runtime.set_all_config(dict(values), sorted(secret_keys))
    pulumi.runtime.set_mocks(
        mocks_, project=PROJECT, stack=stack, preview=False, logger=EngineLog(monitor.warnings), monitor=monitor
    )
    return monitor


def resolve_stack_outputs() -> tuple[dict[str, Any], set[str]]:
    """What the program run last under mocks exported, resolved, and which of those exports are secret."""
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
