"""LogStack: Elasticsearch and Kibana on the ECK operator, with TLS, least-privilege users, metrics and daily
snapshots to S3 that are restored on a schedule (S2-04, S2-05).

Owns, in one namespace:
- the HTTP certificate of Elasticsearch from a cert-manager CA of its own (`ca_issuer`, a ClusterIssuer whose
  key stays in cert-manager's namespace), so clients in other namespaces (the log shipper) verify it with a
  Certificate from the same issuer;
- file-realm users with generated passwords and one role each (components/elastic_users.py): the shipper
  writes the log data streams, the snapshot jobs manage snapshots and retention, the exporter reads metrics;
- `Elasticsearch/elasticsearch` (nodes spread over zones, heap half the memory, volumes on the given class,
  restricted pod security, the snapshot repository's web-identity token for IRSA) and `Kibana/kibana` (no TLS of
  its own: the Gateway terminates it; login required), their specs in components/elastic_pods.py;
- the Prometheus exporter (cluster health, disk, snapshots) with its ServiceMonitor
  (components/elasticsearch_exporter.py);
- the snapshot setup Job and the daily restore check (components/log_snapshots.py).

It publishes what its clients and NetworkPolicies need: hosts, ports, the pods' selectors, the shipper's
credentials and the CA issuer.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

import versions
from components import kube, quantity
from components.elastic_pods import (
    HTTP_PORT,
    KIBANA_PORT,
    NODE_SET,
    TRANSPORT_PORT,
    NodeSet,
    SnapshotIdentity,
    elasticsearch_spec,
    http_service,
    http_tls_secret,
    kibana_spec,
)
from components.elastic_users import OPERATOR, SHIPPER, USERS, roles_yaml
from components.elasticsearch_exporter import EXPORTER, EXPORTER_PORT, ElasticsearchExporter, declare_exporter
from components.log_snapshots import (
    RESTORE_CHECK,
    SnapshotJobs,
    Snapshots,
    declare_snapshot_jobs,
    job_selectors,
    setup_config,
)

ELASTICSEARCH = "elasticsearch"
"""Name of the Elasticsearch resource and its ServiceAccount (the snapshot role's IRSA subject)."""
KIBANA = "kibana"


@dataclass(frozen=True)
class LogStackArgs:
    """Sizes, retention, images and where snapshots go."""

    namespace: str
    """Namespace of the stack (in its in-cluster DNS names)."""
    snapshots: Snapshots
    """The S3 repository and its schedule."""
    ca_issuer_namespace: str
    """cert-manager's cluster resource namespace (where the CA ClusterIssuer keeps its key)."""
    kibana_public_url: str
    """`https://` URL at which the Gateway serves Kibana."""
    namespace_ref: pulumi.Input[str] | None = None
    """The Namespace's name output, so everything waits for it; defaults to `namespace`."""
    nodes: int = 3
    """Elasticsearch nodes (all master-eligible data nodes); 1 or at least 3."""
    memory: str = "4Gi"
    """Memory of each node (request = limit); the JVM heap is half of it."""
    cpu: str = "2"
    """CPU limit of each node (half of it is requested)."""
    storage_size: str = "100Gi"
    """Data volume of each node."""
    storage_class: str | None = None
    """StorageClass of the data volumes; None uses the cluster default."""
    retention_days: int = 30
    """Days a log index is kept before the retention policy deletes it."""
    kibana_replicas: int = 1
    """Kibana instances."""
    elasticsearch_image: pulumi.Input[str] = versions.ELASTICSEARCH_IMAGE
    kibana_image: pulumi.Input[str] = versions.KIBANA_IMAGE
    version: str = versions.ELASTICSEARCH_IMAGE.rsplit(":", 1)[1]
    """The Elastic Stack release ECK runs (the images' tag)."""
    exporter_image: pulumi.Input[str] = versions.ELASTICSEARCH_EXPORTER_IMAGE
    scripts_image: pulumi.Input[str] = versions.PYTHON_IMAGE
    """Python 3 image running the snapshot scripts."""
    part_of: str | None = None
    """Value of `app.kubernetes.io/part-of`."""
    protect: bool = False
    """Protect the Elasticsearch cluster (its volumes hold the logs) from deletion."""

    def __post_init__(self) -> None:
        if self.nodes < 1 or self.nodes == 2:
            raise ValueError(f"nodes must be 1 or at least 3 (a quorum survives one loss), got {self.nodes}")
        if quantity.parse(self.memory) < quantity.parse("2Gi"):
            raise ValueError(f"memory must be at least 2Gi (1 GiB of heap), got {self.memory}")
        if self.retention_days < 1:
            raise ValueError(f"log retention must be at least 1 day, got {self.retention_days}")

    @property
    def heap_mib(self) -> int:
        """Half the memory, in MiB: the rest is off-heap memory and the file system cache Lucene relies on."""
        return int(quantity.parse(self.memory) / 2 / Decimal(2**20))

    @property
    def replicas(self) -> int:
        """Replica shards per index: one where another node can hold it."""
        return 1 if self.nodes > 1 else 0


class LogStack(pulumi.ComponentResource):
    """Elasticsearch, Kibana, their users, exporter and verified snapshots."""

    namespace: str
    """The stack's namespace."""
    elasticsearch_name: str
    """Name of the Elasticsearch resource (Service `<name>-es-http`, pods `<name>-es-default-<n>`)."""
    elasticsearch_pods: tuple[str, ...]
    """Names of the Elasticsearch pods ECK runs (`<name>-es-default-<n>`)."""
    elasticsearch_host: str
    """In-cluster DNS name of Elasticsearch's HTTPS Service."""
    http_port: int
    transport_port: int
    elasticsearch_selector: dict[str, str]
    """Selects the Elasticsearch pods (ECK labels them with the cluster name), for NetworkPolicies."""
    kibana_service: str
    """Kibana's Service (`<name>-kb-http`, plain HTTP inside the cluster)."""
    kibana_port: int
    kibana_selector: dict[str, str]
    exporter_selector: dict[str, str]
    exporter_port: int
    job_selectors: dict[str, dict[str, str]]
    """The snapshot setup Job's and the restore check's pods, by name."""
    restore_check_name: str
    """The restore check's CronJob, for its alerts."""
    ca_issuer: str
    """ClusterIssuer of the CA that signed Elasticsearch's certificate: a Certificate from it carries `ca.crt`."""
    shipper_username: str
    shipper_password: pulumi.Output[str]
    """Secret Output; the shipper keeps it in a Secret of its own namespace."""
    elasticsearch: k8s.apiextensions.CustomResource
    kibana: k8s.apiextensions.CustomResource
    setup_job: k8s.batch.v1.Job
    restore_check: k8s.batch.v1.CronJob

    def __init__(self, name: str, args: LogStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-platform:log_stack:LogStack", name, None, opts)
        child = kube.child_options(self, opts)
        self._args = args
        self._namespace = args.namespace_ref if args.namespace_ref is not None else args.namespace
        self._labels = {"app.kubernetes.io/part-of": args.part_of} if args.part_of else {}
        self.namespace = args.namespace
        self.elasticsearch_name = ELASTICSEARCH
        self.elasticsearch_pods = tuple(f"{ELASTICSEARCH}-es-{NODE_SET}-{n}" for n in range(args.nodes))
        self.elasticsearch_host = kube.service_dns_name(http_service(ELASTICSEARCH), args.namespace)
        self.http_port, self.transport_port = HTTP_PORT, TRANSPORT_PORT
        self.elasticsearch_selector = {"elasticsearch.k8s.elastic.co/cluster-name": ELASTICSEARCH}
        self.kibana_service, self.kibana_port = f"{KIBANA}-kb-http", KIBANA_PORT
        self.kibana_selector = {"kibana.k8s.elastic.co/name": KIBANA}
        self.exporter_selector, self.exporter_port = kube.selector_labels(EXPORTER), EXPORTER_PORT
        self.job_selectors = job_selectors()
        self.restore_check_name = RESTORE_CHECK
        self.ca_issuer = f"{args.namespace}-ca"

        tls = self._certificates(name, args, child)
        passwords = self._users(name, child)
        self.shipper_username, self.shipper_password = SHIPPER.name, passwords[SHIPPER.name]
        self.elasticsearch = self._elasticsearch(
            name, args, pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[tls]))
        )
        after_es = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.elasticsearch]))
        self.kibana = k8s.apiextensions.CustomResource(
            f"{name}-kibana",
            api_version="kibana.k8s.elastic.co/v1",
            kind="Kibana",
            metadata=kube.metadata(KIBANA, self._namespace, self._labels),
            spec=kibana_spec(
                ELASTICSEARCH,
                args.version,
                args.kibana_image,
                args.kibana_replicas,
                args.kibana_public_url,
                self._labels,
            ),
            opts=after_es,
        )
        declare_exporter(
            name,
            ElasticsearchExporter(
                self._namespace,
                f"https://{self.elasticsearch_host}:{HTTP_PORT}",
                ELASTICSEARCH,
                args.exporter_image,
                args.part_of,
            ),
            after_es,
        )
        config = pulumi.Output.from_input(args.snapshots.bucket).apply(
            lambda bucket: setup_config(args.snapshots, bucket, args.retention_days, args.replicas)
        )
        jobs = SnapshotJobs(
            ELASTICSEARCH, f"https://{self.elasticsearch_host}:{HTTP_PORT}", args.scripts_image, args.part_of
        )
        self.setup_job, self.restore_check = declare_snapshot_jobs(
            name, jobs, args.snapshots, config, self._namespace, after_es
        )
        self.register_outputs(
            {
                "elasticsearchHost": self.elasticsearch_host,
                "kibanaService": self.kibana_service,
                "caIssuer": self.ca_issuer,
            }
        )

    # --- TLS and users -------------------------------------------------------------------------------

    def _certificates(self, name: str, args: LogStackArgs, opts: pulumi.ResourceOptions) -> pulumi.Resource:
        """A self-signed CA (its key stays in cert-manager's namespace) and Elasticsearch's HTTP certificate."""
        self_signed = kube.cert_manager_object(
            f"{name}-selfsigned-issuer", "ClusterIssuer", f"{args.namespace}-selfsigned", None, {"selfSigned": {}}, opts
        )
        ca = kube.cert_manager_object(
            f"{name}-ca-certificate",
            "Certificate",
            self.ca_issuer,
            args.ca_issuer_namespace,
            {
                "isCA": True,
                "commonName": f"ai-platform {args.namespace} CA",
                "secretName": self.ca_issuer,
                "duration": "43800h",
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": kube.cluster_issuer_ref(f"{args.namespace}-selfsigned"),
            },
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self_signed])),
        )
        ca_issuer = kube.cert_manager_object(
            f"{name}-ca-issuer",
            "ClusterIssuer",
            self.ca_issuer,
            None,
            {"ca": {"secretName": self.ca_issuer}},
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[ca])),
        )
        service = http_service(ELASTICSEARCH)
        return kube.cert_manager_object(
            f"{name}-http-certificate",
            "Certificate",
            f"{ELASTICSEARCH}-http",
            self._namespace,
            {
                "secretName": http_tls_secret(ELASTICSEARCH),
                "dnsNames": [
                    service,
                    f"{service}.{args.namespace}",
                    f"{service}.{args.namespace}.svc",
                    self.elasticsearch_host,
                ],
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "issuerRef": kube.cluster_issuer_ref(self.ca_issuer),
            },
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[ca_issuer])),
        )

    def _users(self, name: str, opts: pulumi.ResourceOptions) -> dict[str, pulumi.Output[str]]:
        """File-realm users (basic-auth Secrets with their role) and the roles they hold."""
        k8s.core.v1.Secret(
            f"{name}-roles",
            metadata=kube.metadata(f"{ELASTICSEARCH}-roles", self._namespace, self._labels),
            type="Opaque",
            string_data={"roles.yml": roles_yaml()},
            opts=opts,
        )
        passwords = {}
        for user in USERS:
            password = random.RandomPassword(f"{name}-{user.name}-password", length=32, special=False, opts=opts)
            passwords[user.name] = pulumi.Output.secret(password.result)
            k8s.core.v1.Secret(
                f"{name}-{user.name}-user",
                metadata=kube.metadata(user.secret_name, self._namespace, self._labels),
                type="kubernetes.io/basic-auth",
                string_data={"username": user.name, "password": passwords[user.name], "roles": user.role},
                opts=opts,
            )
        return passwords

    # --- Elasticsearch -------------------------------------------------------------------------------

    def _elasticsearch(
        self, name: str, args: LogStackArgs, opts: pulumi.ResourceOptions
    ) -> k8s.apiextensions.CustomResource:
        account = k8s.core.v1.ServiceAccount(
            f"{name}-elasticsearch-sa",
            metadata=kube.metadata(ELASTICSEARCH, self._namespace, self._labels),
            automount_service_account_token=False,
            opts=opts,
        )
        nodes = NodeSet(
            count=args.nodes,
            memory=args.memory,
            cpu_request=quantity.cpu(quantity.parse(args.cpu) / 2),
            cpu_limit=args.cpu,
            heap_mib=args.heap_mib,
            storage_size=args.storage_size,
            storage_class=args.storage_class,
            service_account=account.metadata.name,
        )
        snapshots = SnapshotIdentity(args.snapshots.writer_role_arn, args.snapshots.region)
        return k8s.apiextensions.CustomResource(
            f"{name}-elasticsearch",
            api_version="elasticsearch.k8s.elastic.co/v1",
            kind="Elasticsearch",
            metadata=kube.metadata(ELASTICSEARCH, self._namespace, self._labels),
            spec=elasticsearch_spec(
                ELASTICSEARCH, args.version, args.elasticsearch_image, nodes, snapshots, USERS, OPERATOR, self._labels
            ),
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect)
            ),
        )
