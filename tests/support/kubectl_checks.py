"""kubectl commands of the runbook map, parsed into the API requests kubectl makes (a small table per verb) and the
objects they name, and checked against one stack's render (tests/support/stack_view.py).

Inside `kubectl exec`, psql, pg_dump and pg_restore must use a login the instance's OS user maps to (pg_ident) and
the Cluster's database and schemas; `redis-cli` must read its password from a file that a Secret key is mounted as,
and `curl -u "<user>:$(cat <file>)"` too, from the Secret of that Elasticsearch file-realm user; Python must read
environment variables the container has and reach Services that exist.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from components.elastic_users import USERS
from tests.support.stack_view import KUBERNETES_ROLES, Pod, Request, StackView

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
POSTGRES_TOOLS = {"psql", "pg_dump", "pg_restore", "pg_isready"}


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
    # exec and port-forward into a pod named in the call: a rule may be limited to that pod.
    pod = call.args[0] if call.verb in ("exec", "port-forward") and "/" not in call.args[0] else ""
    for request in requests:
        if not view.grants(role, namespace or "", request, pod):
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
        problems += _login_problems(view, namespace, script, path, secret["secretName"])
    return problems


def _login_problems(view: StackView, namespace: str, script: str, path: str, secret: str) -> list[str]:
    """`curl -u "<user>:$(cat PATH)"`: the user must be the Elasticsearch file-realm user SECRET holds."""
    login = re.search(rf'-u "([\w.-]+):\$\(cat {re.escape(path)}\)"', script)
    if login is None:
        return []
    realm = {
        entry["secretName"]
        for (ns, kind, _), doc in view.objects.items()
        if ns == namespace and kind == "Elasticsearch"
        for entry in doc["spec"]["auth"].get("fileRealm", [])
    }
    user = login.group(1)
    if secret not in realm or {u.name: u.secret_name for u in USERS}.get(user) != secret:
        return [f"{user} is not the Elasticsearch file-realm user of Secret {namespace}/{secret}"]
    return []


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
