"""One stack's render as the runbook checks read it: its objects, the pods controllers make from them, its public
hosts, and what its Roles grant.

The objects a controller makes at run time are derived from the objects that ask for them: a Deployment's and a
StatefulSet's pods (`redis-0`), a CloudNativePG Cluster's instances (`<cluster>-1`, container `postgres`) and its
Services (`<cluster>-rw`, `-ro`, `-r`), a CloudNativePG Pooler's Service (its name, port 5432), and an ECK
Elasticsearch's nodes (`<name>-es-<node set>-<n>`, with the containers and volumes its pod template gives ECK).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.manifests import rendered_documents
from tools.mock_runtime import load_stack_config

KUBERNETES_ROLES = {
    "operator": "ai-platform-operator",
    "oncall": "ai-platform-oncall",
    "deployer": "ai-platform-deployer",
}
Request = tuple[str, str, str]
"""An API request: (API group, resource, verb)."""
GROUPS = {"operator": "ai-platform-operators", "oncall": "ai-platform-oncall", "deployer": "ai-platform-deployers"}


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
    paths: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """Public host -> the (match type, value) paths its HTTPRoutes serve, e.g. `("PathPrefix", "/api")`."""
    login_hosts: set[str] = field(default_factory=set)
    """Public hosts behind the Gateway's login (an Envoy Gateway SecurityPolicy with basic auth on their route)."""
    domain: str = ""
    bucket: str | None = None
    uploads: set[str] = field(default_factory=set)
    """Key prefixes of the backup bucket that a role of the stack writes under (`daily/prometheus/`)."""

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
        view.uploads = _uploads(json.loads((root / "resources.json").read_text()), view.bucket)
        view._derive_pods()
        view._read_routes()
        return view

    def _read_routes(self) -> None:
        guarded = {
            (namespace, ref["name"])
            for (namespace, kind, _), doc in self.objects.items()
            if kind == "SecurityPolicy" and "basicAuth" in doc["spec"]
            for ref in doc["spec"]["targetRefs"]
            if ref["kind"] == "HTTPRoute"
        }
        for (namespace, kind, name), doc in self.objects.items():
            if kind != "HTTPRoute" or not any("backendRefs" in rule for rule in doc["spec"].get("rules", [])):
                continue  # the HTTP -> HTTPS redirect serves nothing
            served = [
                (match["path"]["type"], match["path"]["value"])
                for rule in doc["spec"]["rules"]
                for match in rule.get("matches", [{"path": {"type": "PathPrefix", "value": "/"}}])
            ]
            for host in doc["spec"]["hostnames"]:
                self.paths.setdefault(host, []).extend(served)
                if (namespace, name) in guarded:
                    self.login_hosts.add(host)

    def _derive_pods(self) -> None:
        for (namespace, kind, name), doc in list(self.objects.items()):
            if kind in ("Deployment", "StatefulSet"):
                pod = _pod(doc["spec"]["template"])
                self.pods[(namespace, f"{kind}/{name}")] = pod
                for i in range(doc["spec"].get("replicas", 1) if kind == "StatefulSet" else 0):
                    self.pods[(namespace, f"Pod/{name}-{i}")] = pod
            if kind == "Elasticsearch":
                for node_set in doc["spec"]["nodeSets"]:
                    pod = _pod(node_set["podTemplate"])
                    pod.labels["elasticsearch.k8s.elastic.co/cluster-name"] = name
                    for i in range(node_set["count"]):
                        self.pods[(namespace, f"Pod/{name}-es-{node_set['name']}-{i}")] = pod
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
            if kind == "Pooler":  # CloudNativePG's PgBouncer pods and their Service, named after the Pooler
                pod = Pod(
                    {"cnpg.io/poolerName": name},
                    {"pgbouncer": {"name": "pgbouncer", "ports": [{"containerPort": 5432}]}},
                    {},
                )
                self.pods[(namespace, f"Service/{name}")] = pod
                service = {"kind": "Service", "metadata": {"name": name, "namespace": namespace}}
                self.objects[(namespace, "Service", name)] = {**service, "spec": _pg_ports()}
        for (namespace, kind, name), doc in self.objects.items():
            if kind == "Service" and "selector" in doc["spec"]:
                selected = [p for p in self.pods_matching(namespace, doc["spec"]["selector"])]
                if selected:
                    self.pods.setdefault((namespace, f"Service/{name}"), selected[0])

    def pods_matching(self, namespace: str, selector: dict[str, str]) -> Iterator[Pod]:
        for (ns, _), pod in self.pods.items():
            if ns == namespace and selector.items() <= pod.labels.items():
                yield pod

    def grants(self, role: str, namespace: str, request: Request, name: str = "") -> bool:
        """Whether ROLE may make REQUEST in NAMESPACE on the object NAME ("": a name the call does not know
        in advance, which a rule limited to some names does not grant)."""
        group, resource, verb = request
        if resource == "nodes":
            roles = [
                self.objects[("_cluster", "ClusterRole", b["roleRef"]["name"])]
                for (_, kind, _), b in self.objects.items()
                if kind == "ClusterRoleBinding"
                and any(s["kind"] == "Group" and s["name"] == GROUPS[role] for s in b["subjects"])
            ]
        else:  # the Roles bound to the role's group in the namespace
            roles = [
                self.objects[(namespace, "Role", b["roleRef"]["name"])]
                for (ns, kind, _), b in self.objects.items()
                if ns == namespace
                and kind == "RoleBinding"
                and b["roleRef"]["kind"] == "Role"
                and any(s["kind"] == "Group" and s["name"] == GROUPS[role] for s in b["subjects"])
            ]
        return any(
            group in rule["apiGroups"]
            and resource in rule["resources"]
            and verb in rule["verbs"]
            and name in rule.get("resourceNames", [name])
            for r in roles
            for rule in r["rules"]
        )


def _uploads(resources: list[dict[str, Any]], bucket: str | None) -> set[str]:
    """The prefixes of BUCKET that the stack's IAM role policies allow s3:PutObject under."""
    objects = f"arn:aws:s3:::{bucket}/"
    statements = [
        statement
        for r in resources
        if r["type"] == "aws:iam/rolePolicy:RolePolicy"
        for statement in json.loads(r["inputs"]["policy"])["Statement"]
    ]
    return {
        arn.removeprefix(objects).removesuffix("*")
        for statement in statements
        if "s3:PutObject" in statement["Action"]
        for arn in statement["Resource"]
        if bucket and arn.startswith(objects)
    }


def _pg_ports() -> dict[str, Any]:
    return {"ports": [{"port": 5432}]}


def _pod(template: dict[str, Any]) -> Pod:
    spec = template["spec"]
    return Pod(
        dict(template["metadata"]["labels"]),
        {c["name"]: c for c in spec["containers"]},
        {v["name"]: v for v in spec.get("volumes", [])},
    )
