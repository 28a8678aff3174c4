"""What a stack asks of the cluster and of AWS, and what that costs a month (X-01: staging lean, prod sized as
the manuals say).

From a render (`python -m tools.render`) and its Helm releases templated (`tools.charts`):

- the CPU and memory that everything running steadily requests: the program's Deployments (the HPA's minimum
  when one scales them), StatefulSets and DaemonSets (once per node); the pods that controllers create from
  the program's custom resources (CloudNativePG instances, an Envoy proxy per Gateway, Prometheus and
  Alertmanager with their config reloaders, ECK's Elasticsearch nodes and Kibana); the charts' own workloads;
- the volumes: claim templates times replicas (the size of a resized claim where the program patches it),
  claims of their own, the database instances' volumes;
- scheduled and hook jobs apart: they run minutes a day, on whatever room the nodes have;
- the backup bucket's estimated content;
- a monthly estimate from the price table `tools/prices.yaml` (nodes, EBS gp3, S3).

    python -m tools.footprint                    # both stacks, rendered and templated now
"""

from __future__ import annotations

import argparse
import copy
import math
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from components import quantity
from settings import STACKS
from tools import markdown
from tools.mock_runtime import ROOT

PRICES = ROOT / "tools" / "prices.yaml"
GIB = Decimal(2**30)

# The Envoy proxy that Envoy Gateway runs for each Gateway, with no EnvoyProxy resource to size it: one replica,
# the envoy container and the shutdown manager at the controller's defaults (envoyproxy/gateway
# api/v1alpha1/shared_types.go: DefaultDeploymentCPUResourceRequests ...).
ENVOY_PROXY_REQUESTS = [{"cpu": "100m", "memory": "512Mi"}, {"cpu": "10m", "memory": "32Mi"}]
_RELOADER_FLAG = re.compile(r"^--config-reloader-(cpu|memory)-request=(.+)$")


@dataclass(frozen=True)
class Workload:
    """Pods of one kind: how many, what each requests, and the volumes they claim (all replicas together)."""

    owner: str
    """`program`, or the Helm release whose chart creates it."""
    kind: str
    namespace: str
    name: str
    replicas: int
    cpu: Decimal
    """Cores requested by one pod."""
    memory: Decimal
    """Bytes requested by one pod."""
    storage: Decimal = Decimal(0)
    """Bytes of the volumes claimed by all replicas."""
    per_node: bool = False
    """A DaemonSet: one pod on every node."""
    scheduled: bool = False
    """A Job, CronJob or Helm hook: runs now and then, not steadily."""


@dataclass(frozen=True)
class Footprint:
    stack: str
    workloads: list[Workload]
    backup_bytes: Decimal
    """Estimated content of the backup bucket (and of its replica, when one exists)."""

    def steady(self) -> list[Workload]:
        return [w for w in self.workloads if not w.scheduled]

    def cpu(self, nodes: int = 0) -> Decimal:
        """Cores requested by the steady workloads (DaemonSets counted on NODES nodes)."""
        return sum((w.cpu * (nodes if w.per_node else w.replicas) for w in self.steady()), Decimal(0))

    def memory(self, nodes: int = 0) -> Decimal:
        return sum((w.memory * (nodes if w.per_node else w.replicas) for w in self.steady()), Decimal(0))

    def storage(self) -> Decimal:
        return sum((w.storage for w in self.workloads), Decimal(0))

    def jobs(self) -> tuple[Decimal, Decimal]:
        """CPU and memory of every scheduled job at once (their worst case)."""
        jobs = [w for w in self.workloads if w.scheduled]
        return sum((w.cpu for w in jobs), Decimal(0)), sum((w.memory for w in jobs), Decimal(0))


# --- reading a render ----------------------------------------------------------------------------------


def footprint(stack: str, render: Path, chart_objects: Iterable[tuple[str, dict[str, Any]]]) -> Footprint:
    """The footprint of STACK from its RENDER and its charts' objects ((release, object) pairs)."""
    program = [("program", made) for doc in _documents(render / "manifests") for made in _eck_controllers(doc)]
    docs = program + list(chart_objects)
    patches = {_key(doc): doc for doc in _documents(render / "patches")}
    return Footprint(stack, list(_workloads(docs, patches)), _backup_bytes(render, [d for _, d in docs]))


def _documents(folder: Path) -> list[dict[str, Any]]:
    return [yaml.load(path.read_text(), Loader=yaml.CSafeLoader) for path in sorted(folder.rglob("*.yaml"))]


def _eck_controllers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """DOC, or for ECK's Elasticsearch and Kibana what ECK runs them with: a StatefulSet `<name>-es-<nodeSet>`
    per nodeSet with its claims, a Deployment `<name>-kb`; `resources` is the main container's."""
    kind, spec, meta = doc["kind"], doc.get("spec") or {}, doc["metadata"]
    if kind not in ("Elasticsearch", "Kibana") or not doc["apiVersion"].startswith(f"{kind.lower()}.k8s.elastic.co/"):
        return [doc]
    sets = spec["nodeSets"] if kind == "Elasticsearch" else [spec]
    made = []
    for each in sets:
        pod = copy.deepcopy((each.get("podTemplate") or {}).get("spec") or {})
        others = [c for c in pod.get("containers", []) if c.get("name") != kind.lower()]
        pod["containers"] = [{"resources": each.get("resources") or {}}, *others]
        name = f"{meta['name']}-es-{each['name']}" if kind == "Elasticsearch" else f"{meta['name']}-kb"
        workload = {"replicas": int(each.get("count", 1)), "template": {"spec": pod}}
        made.append(
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet" if kind == "Elasticsearch" else "Deployment",
                "metadata": {"name": name, "namespace": meta["namespace"]},
                "spec": {**workload, "volumeClaimTemplates": each.get("volumeClaimTemplates") or []},
            }
        )
    return made


def _key(doc: dict[str, Any]) -> tuple[str, str, str]:
    meta = doc["metadata"]
    return doc["kind"], meta.get("namespace", ""), meta["name"]


def _workloads(
    docs: list[tuple[str, dict[str, Any]]], patches: dict[tuple[str, str, str], dict[str, Any]]
) -> Iterator[Workload]:
    hpa_minimum = {
        (doc["metadata"]["namespace"], doc["spec"]["scaleTargetRef"]["name"]): doc["spec"].get("minReplicas", 1)
        for _, doc in docs
        if doc["kind"] == "HorizontalPodAutoscaler"
    }
    reloader = {"resources": {"requests": _config_reloader([doc for _, doc in docs])}}
    for owner, doc in docs:
        shape = _shape(doc, hpa_minimum, reloader, patches)
        if shape is not None:
            kind, namespace, name = _key(doc)
            replicas, pod, more = shape
            yield Workload(owner, more.pop("kind", kind), namespace, name, replicas, *pod_requests(pod), **more)


def _shape(
    doc: dict[str, Any],
    hpa_minimum: dict[tuple[str, str], int],
    reloader: dict[str, Any],
    patches: dict[tuple[str, str, str], dict[str, Any]],
) -> tuple[int, dict[str, Any], dict[str, Any]] | None:
    """How many pods DOC runs, the spec of one, and the other Workload fields; None when it runs none."""
    kind, namespace, name = _key(doc)
    spec, api = doc.get("spec") or {}, doc["apiVersion"]
    if kind == "Deployment":
        replicas = hpa_minimum.get((namespace, name), spec.get("replicas", 1))
        pod = spec["template"]["spec"]
        return replicas, pod, {"scheduled": _is_hook(doc), "storage": replicas * _ephemeral(pod)}
    if kind == "StatefulSet":
        replicas = spec.get("replicas", 1)
        return replicas, spec["template"]["spec"], {"storage": _claims(doc, replicas, patches)}
    if kind == "DaemonSet":
        return 1, spec["template"]["spec"], {"per_node": True}
    if kind == "Job":
        return spec.get("parallelism", 1), spec["template"]["spec"], {"scheduled": True}
    if kind == "CronJob":
        return 1, spec["jobTemplate"]["spec"]["template"]["spec"], {"scheduled": True}
    if kind == "PersistentVolumeClaim":
        return 0, {}, {"storage": _size(spec)}
    if kind == "Cluster" and api.startswith("postgresql.cnpg.io/"):
        instances = spec.get("instances", 1)
        volumes = sum(quantity.parse(spec[v]["size"]) for v in ("storage", "walStorage") if v in spec)
        return instances, {"containers": [spec]}, {"storage": instances * volumes}
    if kind == "Pooler" and api.startswith("postgresql.cnpg.io/"):
        return spec.get("instances", 1), spec["template"]["spec"], {}
    if kind in ("Prometheus", "Alertmanager") and api.startswith("monitoring.coreos.com/"):
        replicas = spec.get("replicas", 1) * spec.get("shards", 1)
        claim = ((spec.get("storage") or {}).get("volumeClaimTemplate") or {}).get("spec")
        storage = replicas * _size(claim) if claim else Decimal(0)
        # The Thanos sidecar that uploads Prometheus' blocks (S3-11) runs in each pod.
        return replicas, {"containers": [spec, reloader, spec.get("thanos") or {}]}, {"storage": storage}
    if kind == "Gateway" and api.startswith("gateway.networking.k8s.io/"):
        containers = [{"resources": {"requests": requests}} for requests in ENVOY_PROXY_REQUESTS]
        return 1, {"containers": containers}, {"kind": "Envoy proxy"}
    return None


def pod_requests(pod: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """CPU and memory a pod requests as the scheduler counts them: its containers (and sidecar init containers)
    together, or the largest init container with the sidecars started before it, whichever is more."""
    sidecars = [c for c in pod.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    total = [_requests([*pod.get("containers", []), *sidecars], resource) for resource in ("cpu", "memory")]
    running: list[dict[str, Any]] = []
    for init in pod.get("initContainers") or []:
        if init.get("restartPolicy") == "Always":
            running.append(init)
            continue
        for index, resource in enumerate(("cpu", "memory")):
            total[index] = max(total[index], _requests([*running, init], resource))
    return total[0], total[1]


def _requests(containers: Iterable[dict[str, Any]], resource: str) -> Decimal:
    return sum(
        (quantity.parse(str(value)) for c in containers if (value := _request(c, resource)) is not None), Decimal(0)
    )


def _request(container: dict[str, Any], resource: str) -> Any:
    resources = container.get("resources") or {}
    # Kubernetes defaults a missing request to the limit.
    return (resources.get("requests") or {}).get(resource, (resources.get("limits") or {}).get(resource))


def _ephemeral(pod: dict[str, Any]) -> Decimal:
    """Bytes of the generic ephemeral volumes one pod claims (created and deleted with it)."""
    return sum(
        (_size(v["ephemeral"]["volumeClaimTemplate"]["spec"]) for v in pod.get("volumes") or [] if "ephemeral" in v),
        Decimal(0),
    )


def _size(claim: dict[str, Any]) -> Decimal:
    return quantity.parse(claim["resources"]["requests"]["storage"])


def _claims(statefulset: dict[str, Any], replicas: int, patches: dict[tuple[str, str, str], dict[str, Any]]) -> Decimal:
    """Bytes of a StatefulSet's claims: each template once per replica, at the size a patch gives a claim."""
    _, namespace, name = _key(statefulset)
    total = Decimal(0)
    for template in statefulset["spec"].get("volumeClaimTemplates") or []:
        for ordinal in range(replicas):
            claim = f"{template['metadata']['name']}-{name}-{ordinal}"
            patched = patches.get(("PersistentVolumeClaim", namespace, claim))
            total += _size((patched or template)["spec"])
    return total


def _is_hook(doc: dict[str, Any]) -> bool:
    return "helm.sh/hook" in (doc["metadata"].get("annotations") or {})


def _config_reloader(docs: list[dict[str, Any]]) -> dict[str, str]:
    """What the Prometheus operator gives each Prometheus and Alertmanager pod's config-reloader sidecar (its
    `--config-reloader-*-request` flags)."""
    found: dict[str, str] = {}
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            for arg in container.get("args") or []:
                if match := _RELOADER_FLAG.match(arg):
                    found[match[1]] = match[2]
    return found


def _backup_bytes(render: Path, docs: list[dict[str, Any]]) -> Decimal:
    """The backup bucket's content at steady state: per database, a base backup and a dump a day, each a full
    copy of its data, kept for the store's retention, plus its write-ahead log (counted as one more copy); the
    same again in the replica bucket when the bucket replicates. Data fills `database_fill` of the volumes."""
    fill = Decimal(str(prices()["database_fill"]))
    stores = {
        (d["metadata"]["namespace"], d["metadata"]["name"]): d["spec"]
        for d in docs
        if d["kind"] == "ObjectStore" and d["apiVersion"].startswith("barmancloud.cnpg.io/")
    }
    total = Decimal(0)
    for doc in docs:
        if doc["kind"] != "Cluster" or not doc["apiVersion"].startswith("postgresql.cnpg.io/"):
            continue
        spec, namespace = doc["spec"], doc["metadata"]["namespace"]
        for plugin in spec.get("plugins") or []:
            store = stores.get((namespace, (plugin.get("parameters") or {}).get("barmanObjectName")))
            if store:
                days = int(store.get("retentionPolicy", "30d").rstrip("d"))
                total += fill * quantity.parse(spec["storage"]["size"]) * (2 * days + 1)
    replicated = "aws:s3/bucketReplicationConfig:BucketReplicationConfig" in (render / "resources.json").read_text()
    return total * (2 if replicated else 1)


# --- prices --------------------------------------------------------------------------------------------


def prices() -> dict[str, Any]:
    return yaml.safe_load(PRICES.read_text())


@dataclass(frozen=True)
class Cost:
    nodes: int
    compute: Decimal
    volumes: Decimal
    backups: Decimal

    @property
    def total(self) -> Decimal:
        return self.compute + self.volumes + self.backups


def monthly_cost(found: Footprint, table: dict[str, Any] | None = None) -> Cost:
    """Nodes of the priced type that fit the steady requests (with every DaemonSet on each), their hours, the
    volumes on gp3 and the backups on S3 Standard."""
    table = table or prices()
    node, hours = table["node"], Decimal(table["hours_per_month"])
    cpu, memory = Decimal(str(node["allocatable_cpu"])), Decimal(str(node["allocatable_memory_gib"])) * GIB
    per_node = [w for w in found.steady() if w.per_node]
    daemon_cpu = sum((w.cpu for w in per_node), Decimal(0))
    daemon_memory = sum((w.memory for w in per_node), Decimal(0))
    nodes = max(1, math.ceil(max(found.cpu() / (cpu - daemon_cpu), found.memory() / (memory - daemon_memory))))
    return Cost(
        nodes,
        nodes * hours * Decimal(str(node["per_hour"])),
        found.storage() / GIB * Decimal(str(table["ebs_gp3_per_gb_month"])),
        found.backup_bytes / GIB * Decimal(str(table["s3_standard_per_gb_month"])),
    )


# --- the table -----------------------------------------------------------------------------------------


def table(footprints: list[Footprint]) -> str:
    """Markdown: per stack, requested CPU, memory and storage, the share of prod's, nodes and monthly cost."""
    costs = {f.stack: monthly_cost(f) for f in footprints}
    reference = next((f for f in footprints if f.stack == "prod"), footprints[-1])
    ref_nodes = costs[reference.stack].nodes
    currency = prices()["currency"]
    header = (
        "stack",
        "CPU requested (cores)",
        "memory requested (GiB)",
        "volumes (GiB)",
        "of prod: CPU / memory",
        "jobs when all run (cores / GiB)",
        "backups (GiB)",
        f"nodes ({prices()['node']['type']})",
        f"nodes / volumes / backups ({currency}/month)",
        f"total ({currency}/month)",
    )
    rows = []
    for found in footprints:
        cost = costs[found.stack]
        cpu, memory = found.cpu(cost.nodes), found.memory(cost.nodes)
        share_cpu = cpu / reference.cpu(ref_nodes)
        share_memory = memory / reference.memory(ref_nodes)
        job_cpu, job_memory = found.jobs()
        rows.append(
            (
                found.stack,
                f"{cpu:.2f}",
                f"{memory / GIB:.1f}",
                f"{found.storage() / GIB:.0f}",
                f"{share_cpu:.0%} / {share_memory:.0%}",
                f"{job_cpu:.2f} / {job_memory / GIB:.1f}",
                f"{found.backup_bytes / GIB:.0f}",
                str(cost.nodes),
                f"{cost.compute:.0f} / {cost.volumes:.0f} / {cost.backups:.0f}",
                f"{cost.total:.0f}",
            )
        )
    return markdown.table(header, rows)


def by_owner(found: Footprint, nodes: int) -> str:
    """Markdown: the steady requests of one stack per owner (the program, each chart)."""
    owners: dict[str, list[Decimal]] = {}
    for w in found.steady():
        count = nodes if w.per_node else w.replicas
        row = owners.setdefault(w.owner, [Decimal(0)] * 3)
        row[0] += w.cpu * count
        row[1] += w.memory * count
        row[2] += w.storage
    header = (f"{found.stack}: owner", "CPU (cores)", "memory (GiB)", "volumes (GiB)")
    return markdown.table(
        header, ((o, f"{c:.2f}", f"{m / GIB:.1f}", f"{s / GIB:.0f}") for o, (c, m, s) in sorted(owners.items()))
    )


def stack_footprint(stack: str, folder: Path) -> Footprint:
    """Render STACK into FOLDER, template its charts and measure it (helm and the chart archives needed)."""
    from tools.charts import template_render
    from tools.mock_runtime import run_program
    from tools.render import write_render

    write_render(run_program(stack), folder)
    return footprint(stack, folder, template_render(folder).all())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owners", action="store_true", help="also the requests per owner (program, each chart)")
    args = parser.parse_args(argv)
    from tools.charts import ChartsUnavailableError

    try:
        with tempfile.TemporaryDirectory(prefix="footprint-") as tmp:
            found = [stack_footprint(stack, Path(tmp) / stack) for stack in STACKS]
    except ChartsUnavailableError as error:
        print(error, file=sys.stderr)
        return 2
    print(table(found), end="")
    if args.owners:
        for each in found:
            print()
            print(by_owner(each, monthly_cost(each).nodes), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
