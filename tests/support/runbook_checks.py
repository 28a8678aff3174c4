"""Checks of the runbook map against one stack's render: does each equivalent name what exists, and may its Role run it?

`problems(entry, stack)` lists what is wrong with one entry's equivalent. kubectl commands are parsed into the API
requests kubectl makes (a small table per verb) and the objects they name; the objects a controller makes at run
time are derived from the objects that ask for them: a Deployment's and a StatefulSet's pods (`redis-0`), a
CloudNativePG Cluster's instances (`<cluster>-1`, container `postgres`) and Services (`<cluster>-rw`, `-ro`, `-r`).
Inside `kubectl exec`, psql, pg_dump and pg_restore must use a login the instance's OS user maps to (pg_ident) and
the Cluster's database and schemas; `redis-cli` must read its password from a file that a Secret key is mounted as;
Python must read environment variables the container has and reach Services that exist. curl and the like must reach
a public host of the stack, or a local port an earlier port-forward of the same entry opened.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel

from services import CATALOG
from settings.schema import AppConfig
from tests.support.manifests import rendered_documents
from tools.mock_runtime import ROOT, load_stack_config
from tools.runbooks import Entry

KINDS = {
    "pod": "Pod", "pods": "Pod", "po": "Pod",
    "deployment": "Deployment", "deployments": "Deployment", "deploy": "Deployment",
    "statefulset": "StatefulSet", "statefulsets": "StatefulSet", "sts": "StatefulSet",
    "svc": "Service", "service": "Service", "services": "Service",
    "hpa": "HorizontalPodAutoscaler", "horizontalpodautoscalers": "HorizontalPodAutoscaler",
    "networkpolicy": "NetworkPolicy", "networkpolicies": "NetworkPolicy", "netpol": "NetworkPolicy",
    "cronjob": "CronJob", "cronjobs": "CronJob", "job": "Job", "jobs": "Job",
    "roles": "Role", "role": "Role", "rolebindings": "RoleBinding", "rolebinding": "RoleBinding",
    "events": "Event", "secrets": "Secret", "cluster": "Cluster", "clusters": "Cluster",
    "nodes": "Node", "node": "Node",
}  # fmt: skip
# Kind -> (API group, resource) for RBAC.
RESOURCES = {
    "Pod": ("", "pods"), "Deployment": ("apps", "deployments"), "StatefulSet": ("apps", "statefulsets"),
    "Service": ("", "services"), "HorizontalPodAutoscaler": ("autoscaling", "horizontalpodautoscalers"),
    "NetworkPolicy": ("networking.k8s.io", "networkpolicies"), "CronJob": ("batch", "cronjobs"),
    "Job": ("batch", "jobs"), "Role": ("rbac.authorization.k8s.io", "roles"),
    "RoleBinding": ("rbac.authorization.k8s.io", "rolebindings"), "Event": ("", "events"),
    "Cluster": ("postgresql.cnpg.io", "clusters"), "Node": ("", "nodes"), "Secret": ("", "secrets"),
}  # fmt: skip
CLUSTER_SCOPED = {"Node"}
VALUE_FLAGS = {
    "-n", "--namespace", "-l", "--selector", "-c", "--container", "-o", "--output", "-p", "--patch", "--from",
    "--sort-by", "--to-revision", "--replicas", "--since", "--tail", "-L", "--limits", "--requests",
}  # fmt: skip
KUBERNETES_ROLES = {
    "operator": "ai-platform-operator",
    "oncall": "ai-platform-oncall",
    "deployer": "ai-platform-deployer",
}
GROUPS = {"operator": "ai-platform-operators", "oncall": "ai-platform-oncall", "deployer": "ai-platform-deployers"}
POSTGRES_TOOLS = {"psql", "pg_dump", "pg_restore", "pg_isready"}
# `pulumi config set` keys this map may use (besides an app's settings under services.<service>.apps.<app>).
TOP_LEVEL_CONFIG = {"imageTag", "primaryAiApiKey"}
Request = tuple[str, str, str]  # (API group, resource, verb)


@dataclass
class Pod:
    labels: dict[str, str]
    containers: dict[str, dict[str, Any]]
    volumes: dict[str, dict[str, Any]]
    cluster: dict[str, Any] | None = None
    """The CloudNativePG Cluster spec, for its instances."""


@dataclass
class StackView:
    """What the checks read from one stack's render."""

    objects: dict[tuple[str, str, str], dict[str, Any]]
    """(namespace, kind, name) -> object; `_cluster` for cluster-scoped ones."""
    pods: dict[tuple[str, str], Pod] = field(default_factory=dict)
    """(namespace, workload kind/name, e.g. `Deployment/x`, `Pod/redis-0`, `Service/db-rw`) -> the pod it reaches."""
    hosts: set[str] = field(default_factory=set)
    domain: str = ""
    bucket: str | None = None

    @classmethod
    def of(cls, root: Path, stack: str) -> StackView:
        objects = {}
        for doc in rendered_documents(root).values():
            meta = doc["metadata"]
            objects[(meta.get("namespace", "_cluster"), doc["kind"], meta["name"])] = doc
        outputs = json.loads((root / "outputs.json").read_text())
        view = cls(objects, hosts=set(outputs["publicGateway"]["hosts"]))
        view.domain = load_stack_config(stack)["ai-platform:domain"]
        view.bucket = (outputs.get("backupBucket") or {}).get("name")
        view._derive_pods()
        return view

    def _derive_pods(self) -> None:
        for (namespace, kind, name), doc in list(self.objects.items()):
            if kind in ("Deployment", "StatefulSet"):
                pod = _pod(doc["spec"]["template"])
                self.pods[(namespace, f"{kind}/{name}")] = pod
                for i in range(doc["spec"].get("replicas", 1) if kind == "StatefulSet" else 0):
                    self.pods[(namespace, f"Pod/{name}-{i}")] = pod
            if kind == "Cluster":
                labels = {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"}
                pod = Pod(
                    labels, {"postgres": {"name": "postgres", "ports": [{"containerPort": 5432}]}}, {}, doc["spec"]
                )
                for i in range(1, doc["spec"]["instances"] + 1):
                    self.pods[(namespace, f"Pod/{name}-{i}")] = pod
                for suffix in ("rw", "ro", "r"):
                    self.pods[(namespace, f"Service/{name}-{suffix}")] = pod
                    service = {"kind": "Service", "metadata": {"name": f"{name}-{suffix}", "namespace": namespace}}
                    self.objects[(namespace, "Service", f"{name}-{suffix}")] = {**service, "spec": _pg_ports()}
        for (namespace, kind, name), doc in self.objects.items():
            if kind == "Service" and "selector" in doc["spec"]:
                selected = [p for p in self.pods_matching(namespace, doc["spec"]["selector"])]
                if selected:
                    self.pods.setdefault((namespace, f"Service/{name}"), selected[0])

    def pods_matching(self, namespace: str, selector: dict[str, str]) -> Iterator[Pod]:
        for (ns, _), pod in self.pods.items():
            if ns == namespace and selector.items() <= pod.labels.items():
                yield pod

    def grants(self, role: str, namespace: str, request: Request) -> bool:
        group, resource, verb = request
        if resource == "nodes":
            roles = [
                self.objects[("_cluster", "ClusterRole", b["roleRef"]["name"])]
                for (_, kind, _), b in self.objects.items()
                if kind == "ClusterRoleBinding"
                and any(s["kind"] == "Group" and s["name"] == GROUPS[role] for s in b["subjects"])
            ]
        else:
            found = self.objects.get((namespace, "Role", KUBERNETES_ROLES[role]))
            roles = [found] if found else []
        return any(
            group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]
            for r in roles
            for rule in r["rules"]
        )


def _pg_ports() -> dict[str, Any]:
    return {"ports": [{"port": 5432}]}


def _pod(template: dict[str, Any]) -> Pod:
    spec = template["spec"]
    return Pod(
        dict(template["metadata"]["labels"]),
        {c["name"]: c for c in spec["containers"]},
        {v["name"]: v for v in spec.get("volumes", [])},
    )


# --- kubectl ---------------------------------------------------------------------------------------


@dataclass
class Kubectl:
    """One kubectl invocation: its verb (with sub-verb), positional arguments, flags and in-pod command."""

    verb: str
    args: list[str]
    flags: dict[str, str]
    inner: list[str]

    @property
    def namespace(self) -> str | None:
        return self.flags.get("-n") or self.flags.get("--namespace")

    @property
    def selector(self) -> dict[str, str] | None:
        value = self.flags.get("-l") or self.flags.get("--selector")
        return dict(part.split("=", 1) for part in value.split(",")) if value else None


def parse_kubectl(tokens: list[str]) -> Kubectl:
    positional, flags, inner = [], {}, []
    i = 1
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            inner = tokens[i + 1 :]
            break
        if token.startswith("-"):
            name, _, value = token.partition("=")
            if name in VALUE_FLAGS and not value:
                value, i = tokens[i + 1], i + 1
            flags[name] = value or "true"
        else:
            positional.append(token)
        i += 1
    two_word = positional[0] in ("rollout", "set", "create", "top")
    verb = " ".join(positional[:2]) if two_word else positional[0]
    return Kubectl(verb, positional[2 if two_word else 1 :], flags, inner)


def segments(command: str) -> list[list[str]]:
    """The simple commands of a shell line: split at |, ||, &&, &, ; and cut at redirections."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars="|&;<>()")
    lexer.whitespace_split = True
    found: list[list[str]] = []
    current: list[str] = []
    skip = False
    for token in lexer:
        if token in ("|", "||", "&&", "&", ";"):
            found.append(current)
            current, skip = [], False
        elif token in ("<", ">", "(", ")", "$"):
            skip = True
        elif not skip:
            current.append(token)
    return [s for s in [*found, current] if s]


def _target(view: StackView, namespace: str, ref: str) -> tuple[list[Request], Pod | None, str]:
    """The requests to find the pod REF (`svc/x`, `deploy/x`, a pod name) names, the pod, a problem."""
    kind_word, _, name = ref.rpartition("/")
    kind = KINDS[kind_word] if kind_word else "Pod"
    group, resource = RESOURCES[kind]
    requests = [(group, resource, "get")] + ([("", "pods", "list")] if kind != "Pod" else [])
    pod = view.pods.get((namespace, f"{kind}/{name}"))
    return requests, pod, "" if pod else f"no {kind} {namespace}/{name} (or no pod behind it)"


def check_kubectl(view: StackView, call: Kubectl, role: str | None, ports: set[int]) -> list[str]:
    """Problems of one kubectl call under ROLE; PORTS collects the local ports its port-forwards open."""
    problems: list[str] = []
    namespace = call.namespace
    if call.verb != "top nodes" and not namespace:
        return [f"`kubectl {call.verb}` names no namespace (-n)"]
    if namespace and ("_cluster", "Namespace", namespace) not in view.objects:
        problems.append(f"no namespace {namespace}")
    requests, more = _requests(view, call)
    problems += more
    if role not in KUBERNETES_ROLES:
        return [*problems, f"kubectl needs a Kubernetes Role, not {role!r}"]
    for request in requests:
        if not view.grants(role, namespace or "", request):
            problems.append(f"{KUBERNETES_ROLES[role]} in {namespace} may not {request[2]} {request[1]}")
    if call.verb == "port-forward":
        ports.add(int(call.args[1].split(":")[0]))
    return problems


def _requests(view: StackView, call: Kubectl) -> tuple[list[Request], list[str]]:
    namespace, verb, args = call.namespace or "", call.verb, call.args
    if verb in ("exec", "port-forward"):
        requests, pod, problem = _target(view, namespace, args[0])
        sub = "pods/exec" if verb == "exec" else "pods/portforward"
        problems = [problem] if problem else []
        if pod is not None:
            problems += _pod_problems(view, namespace, pod, call)
        return [*requests, ("", sub, "create")], problems
    if verb == "logs":
        requests, pod, problem = _target(view, namespace, args[0]) if args else ([("", "pods", "list")], None, "")
        if call.selector and not any(view.pods_matching(namespace, call.selector)):
            problem = f"no pod in {namespace} matches {call.selector}"
        return [*requests, ("", "pods/log", "get")], [problem] if problem else []
    if verb.startswith("top"):
        resource = "nodes" if verb == "top nodes" else "pods"
        return [("metrics.k8s.io", resource, "list")], []
    if verb == "create job":
        source = call.flags["--from"].split("/", 1)[1]
        return [("batch", "cronjobs", "get"), ("batch", "jobs", "create")], _exists(
            view, namespace, "CronJob", source, None
        )
    kind, name = _object_ref(args)
    group, resource = RESOURCES[kind]
    problems = _exists(view, namespace, kind, name, call.selector)
    table: dict[str, list[Request]] = {
        "get": [(group, resource, "get" if name else "list")]
        + ([(group, resource, "watch")] if "-w" in call.flags else []),
        "describe": [(group, resource, "get" if name else "list"), ("", "events", "list")],
        "scale": [(group, resource, "get"), (group, f"{resource}/scale", "patch")],
        "patch": [(group, resource, "get"), (group, resource, "patch")],
        "annotate": [(group, resource, "get"), (group, resource, "patch")],
        "delete": [(group, resource, "delete")],
        "rollout status": [(group, resource, "get"), (group, resource, "watch")],
        "rollout history": [(group, resource, "get"), ("apps", "replicasets", "list")],
        "rollout undo": [(group, resource, "get"), ("apps", "replicasets", "list"), (group, resource, "patch")],
        "rollout restart": [(group, resource, "get"), (group, resource, "patch")],
        "set env": [(group, resource, "get")] + ([] if "--list" in call.flags else [(group, resource, "patch")]),
        "set image": [(group, resource, "get"), (group, resource, "patch")],
        "set resources": [(group, resource, "get"), (group, resource, "patch")],
    }
    if verb not in table:
        return [], [f"the checks do not know `kubectl {verb}`"]
    requests = table[verb] + ([(group, resource, "list")] if call.selector or not name else [])
    return requests, problems


def _object_ref(args: list[str]) -> tuple[str, str | None]:
    first = args[0]
    if "/" in first:
        kind, name = first.split("/", 1)
        return KINDS[kind], name
    return KINDS[first], args[1] if len(args) > 1 and "=" not in args[1] else None


def _exists(view: StackView, namespace: str, kind: str, name: str | None, selector: dict[str, str] | None) -> list[str]:
    if kind in ("Event", "Pod") and not name:
        return [] if not selector or any(view.pods_matching(namespace, selector)) else [f"no pod matches {selector}"]
    scope = "_cluster" if kind in CLUSTER_SCOPED else namespace
    candidates = [
        doc for (ns, k, n), doc in view.objects.items() if ns == scope and k == kind and (not name or n == name)
    ]
    if kind in CLUSTER_SCOPED:
        return []
    if selector:
        candidates = [d for d in candidates if selector.items() <= d["metadata"].get("labels", {}).items()]
    return [] if candidates else [f"no {kind} {name or ''} in {namespace}{f' matching {selector}' if selector else ''}"]


def _pod_problems(view: StackView, namespace: str, pod: Pod, call: Kubectl) -> list[str]:
    container_name = call.flags.get("-c") or call.flags.get("--container") or next(iter(pod.containers))
    container = pod.containers.get(container_name)
    if container is None:
        return [f"no container {container_name} in the pod of {call.args[0]}"]
    if call.verb == "port-forward":
        remote = int(call.args[1].split(":")[-1])
        ports = {p["containerPort"] for p in container.get("ports", [])}
        service = view.objects.get((namespace, "Service", call.args[0].partition("/")[2]))
        if call.args[0].startswith("svc/") and service is not None:
            ports = {p["port"] for p in service["spec"]["ports"]}
        return [] if remote in ports else [f"{call.args[0]} has no port {remote}"]
    inner = call.inner
    if inner[:2] == ["sh", "-c"]:
        return _shell_problems(view, namespace, pod, container, inner[2])
    if inner and inner[0] in POSTGRES_TOOLS:
        return _postgres_problems(pod, inner)
    if inner and inner[0] in ("python", "python3"):
        return _python_problems(view, namespace, container, inner[-1])
    return []


def _postgres_problems(pod: Pod, argv: list[str]) -> list[str]:
    if pod.cluster is None:
        return [f"{argv[0]} runs only in a CloudNativePG instance here"]
    initdb = pod.cluster["bootstrap"]["initdb"]
    logins = {"postgres"} | {line.split()[2] for line in pod.cluster["postgresql"].get("pg_ident", [])}
    values = {argv[i]: argv[i + 1] for i in range(1, len(argv) - 1) if argv[i] in ("-U", "-d", "-n")}
    problems = []
    if argv[0] != "pg_isready" and values.get("-U") not in logins:
        problems.append(f"{argv[0]} -U {values.get('-U')}: the instance's OS user maps only to {sorted(logins)}")
    if argv[0] != "pg_isready" and values.get("-d") != initdb["database"]:
        problems.append(f"{argv[0]} -d {values.get('-d')}: the database is {initdb['database']}")
    schema = values.get("-n")
    if schema and f'"{schema}"' not in "\n".join(initdb.get("postInitApplicationSQL", [])) and schema != "public":
        problems.append(f"{argv[0]} -n {schema}: no such schema")
    return problems


def _shell_problems(view: StackView, namespace: str, pod: Pod, container: dict[str, Any], script: str) -> list[str]:
    """A shell in a container: the files it reads must be mounted Secret keys that exist."""
    problems = []
    for path in re.findall(r"\$\(cat ([^)\s]+)\)", script):
        directory, _, key = path.rpartition("/")
        mount = next((m for m in container.get("volumeMounts", []) if m["mountPath"] == directory), None)
        volume = pod.volumes.get(mount["name"]) if mount else None
        secret = (volume or {}).get("secret")
        if secret is None:
            problems.append(f"{path} is not a mounted Secret key")
            continue
        items = {i["path"]: i["key"] for i in secret.get("items", [])} or {key: key}
        doc = view.objects.get((namespace, "Secret", secret["secretName"]))
        keys = set((doc or {}).get("data", {})) | set((doc or {}).get("stringData", {}))
        if items.get(key) not in keys:
            problems.append(f"Secret {namespace}/{secret['secretName']} has no key for {path}")
    return problems


def _python_problems(view: StackView, namespace: str, container: dict[str, Any], code: str) -> list[str]:
    problems = []
    env = {e["name"] for e in container.get("env", [])}
    problems += [
        f"the container has no {name}" for name in re.findall(r"os\.environ\['(\w+)'\]", code) if name not in env
    ]
    targets = re.findall(r"\('([\w.-]+)', (\d+)\)", code) + re.findall(r"http://([\w.-]+):(\d+)", code)
    for host, port in targets:
        if host == "localhost":
            continue
        name, _, other = host.partition(".")
        service = view.objects.get((other or namespace, "Service", name))
        if service is None or int(port) not in {p["port"] for p in service["spec"]["ports"]}:
            problems.append(f"no Service {other or namespace}/{name} with port {port}")
    return problems


# --- the other commands ----------------------------------------------------------------------------


def problems(view: StackView, entry: Entry) -> list[str]:
    """Everything wrong with ENTRY's equivalent on the stack VIEW shows."""
    found: list[str] = []
    ports: set[int] = set()
    for command in entry.equivalent:
        if command.startswith("#"):
            found += [f"{p} does not exist" for p in re.findall(r"[\w/]+\.py", command) if not (ROOT / p).exists()]
            continue
        for tokens in segments(command.replace("$DOMAIN", view.domain)):
            found += _command_problems(view, entry, tokens, ports)
    return found


def _command_problems(view: StackView, entry: Entry, tokens: list[str], ports: set[int]) -> list[str]:
    while tokens and re.match(r"^[A-Z_]+=", tokens[0]):
        found = _url_problems(view, tokens[0].split("=", 1)[1], ports)
        if found:
            return found
        tokens = tokens[1:]
    program = tokens[0] if tokens else ""
    if program == "watch":
        return [p for inner in segments(tokens[1]) for p in _command_problems(view, entry, inner, ports)]
    if program == "kubectl":
        return check_kubectl(view, parse_kubectl(tokens), entry.role, ports)
    if program == "pulumi":
        return _pulumi_problems(tokens, entry.role)
    if program == "aws":
        return _aws_problems(view, tokens)
    if program in ("curl", "open", "make", "openssl"):
        urls = [t for t in tokens if t.startswith(("http://", "https://"))]
        urls += [f"https://{t}" for t in tokens[tokens.index("-connect") + 1 :][:1]] if "-connect" in tokens else []
        return [p for url in urls for p in _url_problems(view, url, ports)]
    return []


def _url_problems(view: StackView, url: str, ports: set[int]) -> list[str]:
    match = re.match(r"^(https?)://([^/:?]+)(?::(\d+))?", url)
    if not match:
        return []
    scheme, host, port = match.groups()
    if host == "localhost":
        return [] if port and int(port) in ports else [f"{url}: no port-forward opens localhost:{port}"]
    if scheme != "https" or host not in view.hosts:
        return [f"{url}: {host} is not a public host of the stack ({sorted(view.hosts)})"]
    return []


def _pulumi_problems(tokens: list[str], role: str | None) -> list[str]:
    if role != "pulumi":
        return [f"`pulumi` runs through CI (role pulumi), not as {role}"]
    if tokens[1:3] == ["stack", "select"]:
        return [] if tokens[3] in ("staging", "prod") else [f"no stack {tokens[3]}"]
    if tokens[1:3] != ["config", "set"]:
        return [] if tokens[1:] == ["up"] else [f"the checks do not know `{' '.join(tokens)}`"]
    rest = [t for t in tokens[3:] if not t.startswith("--")]
    key = rest[0]
    if "--path" not in tokens:
        return [] if key in TOP_LEVEL_CONFIG else [f"config key {key} is not one this map may set"]
    parts = key.split(".")
    if parts[0] != "services" or parts[1] not in CATALOG:
        return [f"config path {key}: no such service"]
    if parts[2] != "apps" or parts[3] not in {app.name for app in CATALOG[parts[1]].apps}:
        return [f"config path {key}: no such app"]
    return [] if _settable(AppConfig, parts[4:]) else [f"config path {key}: no such app setting"]


def _settable(model: type[BaseModel], path: list[str]) -> bool:
    """Whether PATH (camelCase keys) names a setting of MODEL, or a key inside one of its maps."""
    fields = {info.alias or name: info.annotation for name, info in model.model_fields.items()}
    if path[0] not in fields:
        return False
    inner = next((t for t in get_args(fields[path[0]]) or (fields[path[0]],) if isinstance(t, type)), None)
    if len(path) == 1 or inner is None or not issubclass(inner, BaseModel):
        return True
    return _settable(inner, path[1:])


def _aws_problems(view: StackView, tokens: list[str]) -> list[str]:
    for url in (t for t in tokens if t.startswith("s3://")):
        bucket, _, key = url.removeprefix("s3://").partition("/")
        if bucket != "$BUCKET" or view.bucket is None:
            return [f"{url}: the backup bucket is $BUCKET (this stack has {view.bucket})"]
        parts = key.split("/")
        service = CATALOG.get(parts[1]) if len(parts) > 2 else None
        if parts[0] != "daily" or service is None or service.database is None or parts[2] != "dumps":
            return [f"{url}: dumps are under daily/<service with a database>/dumps/"]
    return []
