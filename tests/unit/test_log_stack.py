"""LogStack: Elasticsearch and Kibana on ECK with TLS, least-privilege users, metrics and verified snapshots
(S2-04, S2-05, X-15, X-16)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml
from pulumi.runtime import rpc

from components.elastic_pods import OPERATOR_USER_DIR
from components.elastic_users import OPERATOR, USERS
from components.log_snapshots import Snapshots
from components.log_stack import LogStack, LogStackArgs
from tests.support.crd_schemas import validate_custom_resource
from tests.support.runtime import Synth, synth
from tools.render import clean

ROLE_ARN = "arn:aws:iam::123456789012:role/ai-platform-prod-logging-snapshots"
SNAPSHOTS = Snapshots("acme-backups", "managed/logging", "eu-west-1", ROLE_ARN)
ARGS = LogStackArgs(
    namespace="logging",
    snapshots=SNAPSHOTS,
    ca_issuer_namespace="cert-manager",
    kibana_public_url="https://kibana.example.com",
    nodes=3,
    memory="4Gi",
    storage_size="100Gi",
    storage_class="gp3",
    part_of="ai-platform",
    protect=True,
)


def _stack(args: LogStackArgs = ARGS) -> Synth[LogStack]:
    return synth(lambda: LogStack("logs", args))


def _secret_data(built: Synth[LogStack], name: str) -> dict:
    data = built.manifests[("Secret", name)]["stringData"]
    assert rpc.is_rpc_secret(data), f"Secret {name}: stringData must be a Pulumi secret"
    return data["value"]


def _node_set(built: Synth[LogStack]) -> dict:
    (node_set,) = built.manifests[("Elasticsearch", "elasticsearch")]["spec"]["nodeSets"]
    return node_set


@pytest.mark.parametrize(
    ("nodes", "memory", "heap", "zones", "replicas"),
    [(3, "4Gi", "-Xms2048m -Xmx2048m", True, 1), (1, "2Gi", "-Xms1024m -Xmx1024m", False, 0)],
)
def test_nodes_memory_heap_volumes_and_zones(nodes, memory, heap, zones, replicas):
    """S2-04: the manual's 4 Gi per node, half of it heap; several nodes spread over zones with a replica each."""
    built = _stack(replace(ARGS, nodes=nodes, memory=memory))
    node_set = _node_set(built)
    assert node_set["count"] == nodes
    assert node_set["resources"]["requests"]["memory"] == node_set["resources"]["limits"]["memory"] == memory
    assert node_set["resources"]["requests"]["cpu"] == "1000m" and node_set["resources"]["limits"]["cpu"] == "2"
    (container,) = node_set["podTemplate"]["spec"]["containers"]
    assert {e["name"]: e.get("value") for e in container["env"]}["ES_JAVA_OPTS"] == heap
    (claim,) = node_set["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
    assert claim["spec"]["storageClassName"] == "gp3"
    assert ("zoneAwareness" in node_set) is zones
    config = yaml.safe_load(
        built.manifests[("ConfigMap", "elasticsearch-snapshot-scripts")]["data"]["setup-config.json"]
    )
    assert config["index_templates"]["platform-logs"]["template"]["settings"]["index.number_of_replicas"] == replicas


def test_the_elastic_resources_match_the_eck_crds(crd_schemas):
    """ECK 3.5's own CRDs (from the pinned chart) accept the Elasticsearch and Kibana the component declares."""
    built = _stack()
    for kind, name in (("Elasticsearch", "elasticsearch"), ("Kibana", "kibana")):
        assert validate_custom_resource(clean(built.manifests[(kind, name)]), crd_schemas["prod"]) == []


def test_the_eck_schemas_refuse_a_broken_elasticsearch(crd_schemas):
    """The CRD check is real: a node set without a name and a misspelt field are refused."""
    broken = clean(_stack().manifests[("Elasticsearch", "elasticsearch")])
    broken["spec"]["nodeSets"][0].pop("name")
    broken["spec"]["volumeClaimDeletePolicy"] = "Never"
    errors = validate_custom_resource(broken, crd_schemas["prod"])
    assert any("'name' is a required property" in e for e in errors), errors
    assert any("spec.volumeClaimDeletePolicy" in e for e in errors), errors


def test_snapshots_use_the_nodes_own_irsa_role_and_the_bucket_prefix():
    """S2-05, X-12: the S3 repository reads a web-identity token (no static key) of the nodes' ServiceAccount."""
    built = _stack()
    spec = _node_set(built)["podTemplate"]["spec"]
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    assert env["AWS_ROLE_ARN"] == ROLE_ARN and env["AWS_REGION"] == "eu-west-1"
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"].startswith("/usr/share/elasticsearch/config/repository-s3/")
    (token,) = spec["volumes"][0]["projected"]["sources"]
    assert token["serviceAccountToken"]["audience"] == "sts.amazonaws.com"
    assert spec["serviceAccountName"] == "elasticsearch" and spec["automountServiceAccountToken"] is False
    config = yaml.safe_load(
        built.manifests[("ConfigMap", "elasticsearch-snapshot-scripts")]["data"]["setup-config.json"]
    )
    assert config["repository"]["body"] == {
        "type": "s3",
        "settings": {"bucket": "acme-backups", "base_path": "managed/logging"},
    }
    assert config["slm_policies"]["daily-snapshots"]["retention"]["expire_after"] == "30d"
    assert config["ilm_policies"]["platform-logs"]["policy"]["phases"]["delete"]["min_age"] == "30d"


def test_a_changed_configuration_is_a_new_setup_job_and_the_restore_check_runs_daily():
    """Jobs are immutable: the setup Job is named after its content, so a change runs it again."""
    jobs = [
        name
        for built in (_stack(), _stack(replace(ARGS, snapshots=replace(SNAPSHOTS, retention_days=14))))
        for kind, name in built.objects
        if kind == "Job"
    ]
    assert len(set(jobs)) == 2 and all(name.startswith("elasticsearch-snapshot-setup-") for name in jobs)
    check = _stack().manifests[("CronJob", "elasticsearch-restore-check")]
    assert check["spec"]["schedule"] == "0 5 * * *" and check["spec"]["concurrencyPolicy"] == "Forbid"


def test_users_have_one_role_each_and_kibana_needs_a_login():
    """X-16: the shipper writes the log data streams only; Kibana has no anonymous access; TLS at the Gateway."""
    built = _stack()
    roles = yaml.safe_load(_secret_data(built, "elasticsearch-roles")["roles.yml"])
    assert roles["log_writer"] == {
        "cluster": ["monitor"],
        "indices": [{"names": ["logs-platform-*"], "privileges": ["create_doc", "auto_configure"]}],
    }
    for user in USERS:
        assert built.manifests[("Secret", user.secret_name)]["type"] == "kubernetes.io/basic-auth"
        assert _secret_data(built, user.secret_name)["roles"] == user.role
    elasticsearch = built.manifests[("Elasticsearch", "elasticsearch")]["spec"]
    assert elasticsearch["auth"]["fileRealm"] == [{"secretName": user.secret_name} for user in USERS]
    assert elasticsearch["http"]["tls"]["certificate"]["secretName"] == "elasticsearch-http-tls"
    kibana = built.manifests[("Kibana", "kibana")]["spec"]
    assert kibana["config"]["xpack.security.authc.providers"] == {"basic": {"basic1": {"order": 0}}}
    assert kibana["config"]["server.publicBaseUrl"] == "https://kibana.example.com"
    assert kibana["http"]["tls"]["selfSignedCertificate"]["disabled"] is True


def test_the_elasticsearch_container_has_the_operator_users_password_read_only():
    """X-16: on-call's calls run inside a node as `log-operator`; only its password is there, and only for ECK's
    `elasticsearch` container (ECK merges the podTemplate's container by name and adds the volume to its own)."""
    built = _stack()
    spec = _node_set(built)["podTemplate"]["spec"]
    (container,) = spec["containers"]
    assert container["name"] == "elasticsearch"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts[OPERATOR_USER_DIR]["readOnly"] is True
    volume = next(v for v in spec["volumes"] if v["name"] == mounts[OPERATOR_USER_DIR]["name"])
    assert volume["secret"] == {
        "secretName": OPERATOR.secret_name,
        "defaultMode": 0o440,
        "items": [{"key": "password", "path": "password"}],
    }
    assert spec["securityContext"]["fsGroup"] == spec["securityContext"]["runAsUser"]  # the file's group reads it
    assert {"secretName": OPERATOR.secret_name} in built.manifests[("Elasticsearch", "elasticsearch")]["spec"]["auth"][
        "fileRealm"
    ]
    roles = yaml.safe_load(_secret_data(built, "elasticsearch-roles")["roles.yml"])
    assert roles[OPERATOR.role] == dict(OPERATOR.privileges)
    assert not any(c.get("volumeMounts") for c in spec["initContainers"])


def test_elasticsearchs_certificate_comes_from_a_ca_of_its_own():
    built = _stack()
    certificate = built.manifests[("Certificate", "elasticsearch-http")]["spec"]
    assert certificate["issuerRef"]["name"] == "logging-ca" == built.component.ca_issuer
    assert "elasticsearch-es-http.logging.svc.cluster.local" in certificate["dnsNames"]
    ca = built.manifests[("Certificate", "logging-ca")]
    assert ca["metadata"]["namespace"] == "cert-manager" and ca["spec"]["isCA"] is True
    assert built.manifests[("ClusterIssuer", "logging-ca")]["spec"] == {"ca": {"secretName": "logging-ca"}}


def test_the_cluster_is_protected_with_the_data_and_publishes_its_pods():
    built = _stack()
    cluster = next(r for r in built.registrations if r.inputs.get("kind") == "Elasticsearch")
    assert cluster.protect is True
    stack = built.component
    assert stack.elasticsearch_selector == {"elasticsearch.k8s.elastic.co/cluster-name": "elasticsearch"}
    assert stack.kibana_selector == {"kibana.k8s.elastic.co/name": "kibana"}
    assert (stack.http_port, stack.transport_port, stack.kibana_port, stack.exporter_port) == (9200, 9300, 5601, 9114)
    assert set(stack.job_selectors) == {"elasticsearch-snapshot-setup", "elasticsearch-restore-check"}
    exporter = built.manifests[("Deployment", "elasticsearch-exporter")]
    assert exporter["spec"]["template"]["metadata"]["labels"].items() >= stack.exporter_selector.items()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"nodes": 2}, "1 or at least 3"),
        ({"memory": "1Gi"}, "at least 2Gi"),
        ({"retention_days": 0}, "at least 1 day"),
    ],
)
def test_bad_sizes_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        replace(ARGS, **change)


def test_a_bad_snapshot_prefix_is_refused():
    with pytest.raises(ValueError, match="no leading or trailing"):
        replace(SNAPSHOTS, base_path="managed/logging/")
