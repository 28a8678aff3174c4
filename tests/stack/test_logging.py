"""Log aggregation as each stack declares it (S2-04, S2-05, X-15): sizes, heap, zones and retention per stack,
snapshots to the backup bucket with their own writer role, Kibana behind the Gateway, every service's logs and
the files apps write, and the switch that turns it off."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.support.runtime import STACKS, program_run
from tools.mock_runtime import run_program

ES = "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch"
EXPECTED = {
    # nodes, memory (request = limit), heap, volume, storage class, zone-aware, log retention, Kibana instances
    "prod": (3, "4Gi", "-Xms2048m -Xmx2048m", "100Gi", "gp3", True, "30d", 2),
    "staging": (1, "2Gi", "-Xms1024m -Xmx1024m", "20Gi", "gp3", False, "7d", 1),
}
APPS_WITH_LOG_FILES = {"agent-skeptic-bench": "/app/logs", "docc2context-api": "/app/logs"}  # manuals 001, 002


def _node_set(stack: str) -> dict:
    (node_set,) = program_run(stack).one(ES, "logs-elasticsearch").inputs["spec"]["nodeSets"]
    return node_set


def _setup_config(stack: str) -> dict:
    config_map = program_run(stack).one("kubernetes:core/v1:ConfigMap", "logs-snapshot-scripts").inputs
    return json.loads(config_map["data"]["setup-config.json"])


@pytest.mark.parametrize("stack", STACKS)
def test_nodes_memory_heap_storage_and_retention_per_stack(stack):
    nodes, memory, heap, size, storage_class, zones, retention, kibanas = EXPECTED[stack]
    node_set = _node_set(stack)
    assert node_set["count"] == nodes
    assert node_set["resources"]["requests"]["memory"] == node_set["resources"]["limits"]["memory"] == memory
    (container,) = node_set["podTemplate"]["spec"]["containers"]
    assert {e["name"]: e.get("value") for e in container["env"]}["ES_JAVA_OPTS"] == heap
    (claim,) = node_set["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == size
    assert claim["spec"]["storageClassName"] == storage_class
    assert ("zoneAwareness" in node_set) is zones
    config = _setup_config(stack)
    assert config["ilm_policies"]["platform-logs"]["policy"]["phases"]["delete"]["min_age"] == retention
    assert config["slm_policies"]["daily-snapshots"]["retention"]["expire_after"] == "30d"  # S2-05, both stacks
    kibana = program_run(stack).one("kubernetes:kibana.k8s.elastic.co/v1:Kibana", "logs-kibana").inputs["spec"]
    assert kibana["count"] == kibanas


@pytest.mark.parametrize("stack", STACKS)
def test_snapshots_go_to_the_backup_bucket_with_their_own_writer_role(stack):
    """S2-05, X-12: `managed/logging/` of the stack's bucket, through an IRSA role only Elasticsearch assumes."""
    run = program_run(stack)
    role = run.one("aws:iam/role:Role", f"backups-ai-platform-{stack}-logging-snapshots").inputs
    assert '"system:serviceaccount:logging:elasticsearch"' in role["assumeRolePolicy"]
    policy = run.one("aws:iam/rolePolicy:RolePolicy", f"backups-ai-platform-{stack}-logging-snapshots-access").inputs
    assert f"acme-ai-platform-{stack}-backups/managed/logging/*" in policy["policy"]
    assert "s3:DeleteObjectVersion" not in policy["policy"]
    key = run.one("aws:kms/key:Key", "backups-key").inputs["policy"]
    assert f":role/ai-platform-{stack}-logging-snapshots" in key
    (container,) = _node_set(stack)["podTemplate"]["spec"]["containers"]
    assert {e["name"]: e.get("value") for e in container["env"]}["AWS_ROLE_ARN"].endswith(
        f":role/ai-platform-{stack}-logging-snapshots"
    )
    assert _setup_config(stack)["repository"]["body"]["settings"] == {
        "bucket": f"acme-ai-platform-{stack}-backups",
        "base_path": "managed/logging",
    }
    restore_check = run.one("kubernetes:batch/v1:CronJob", "logs-restore-check").inputs
    assert restore_check["spec"]["schedule"] == "0 5 * * *"


@pytest.mark.parametrize("stack", STACKS)
def test_kibana_is_public_over_https_and_needs_a_login(stack):
    """X-15: HTTPS at the Gateway with its own certificate; Kibana's login behind it."""
    run = program_run(stack)
    domain = {"staging": "staging.ai.example.com", "prod": "ai.example.com"}[stack]
    kibana = run.one("kubernetes:kibana.k8s.elastic.co/v1:Kibana", "logs-kibana").inputs["spec"]
    assert kibana["config"]["server.publicBaseUrl"] == f"https://kibana.{domain}"
    assert kibana["config"]["xpack.security.authc.providers"] == {"basic": {"basic1": {"order": 0}}}
    gateway = run.one("kubernetes:gateway.networking.k8s.io/v1:Gateway", "public-gateway").inputs["spec"]
    (listener,) = [x for x in gateway["listeners"] if x.get("hostname") == f"kibana.{domain}"]
    assert listener["protocol"] == "HTTPS" and listener["tls"]["mode"] == "Terminate"
    route = run.one(
        "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", f"public-kibana-{domain.replace('.', '-')}-route"
    )
    (rule,) = route.inputs["spec"]["rules"]
    assert rule["backendRefs"][0] | {"weight": 1} == {
        "group": "",
        "kind": "Service",
        "name": "kibana-kb-http",
        "namespace": "logging",
        "port": 5601,
        "weight": 1,
    }
    assert f"kibana.{domain}" in run.outputs["publicGateway"]["hosts"]


@pytest.mark.parametrize("stack", STACKS)
def test_apps_that_write_log_files_get_the_follower(stack):
    deployments = {
        r.inputs["metadata"]["name"]: r.inputs for r in program_run(stack).by_type("kubernetes:apps/v1:Deployment")
    }
    for name, directory in APPS_WITH_LOG_FILES.items():
        spec = deployments[name]["spec"]["template"]["spec"]
        app, follower = spec["containers"]
        assert follower["name"] == "log-follower" and follower["command"][-1] == directory
        mount = {m["mountPath"]: m for m in follower["volumeMounts"]}[directory]
        assert mount["readOnly"] is True and mount["name"] in {m["name"] for m in app["volumeMounts"]}
    others = [d for name, d in deployments.items() if name not in APPS_WITH_LOG_FILES]
    assert all("log-follower" not in str(d["spec"]["template"]["spec"]["containers"]) for d in others)


def test_the_rendered_shipper_ships_to_the_stacks_elasticsearch_without_its_password():
    run = program_run("prod")
    config_map = run.one("kubernetes:core/v1:ConfigMap", "log-shipper-config").inputs
    rendered = yaml.safe_load(config_map["data"]["fluent-bit.yaml"])
    (output,) = rendered["pipeline"]["outputs"]
    assert (output["host"], output["port"]) == ("elasticsearch-es-http.logging.svc.cluster.local", 9200)
    assert output["http_passwd"] == "${ES_PASSWORD}"
    trust = run.one("kubernetes:cert-manager.io/v1:Certificate", "log-shipper-trust").inputs["spec"]
    assert (
        trust["issuerRef"]["name"]
        == run.one("kubernetes:cert-manager.io/v1:ClusterIssuer", "logs-ca-issuer").inputs["metadata"]["name"]
    )


def test_the_log_stacks_namespace_has_room_for_every_node_and_a_rolling_restart():
    quota = {
        r.inputs["metadata"]["namespace"]: r.inputs["spec"]["hard"]
        for r in program_run("prod").by_type("kubernetes:core/v1:ResourceQuota")
    }["logging"]
    # 3 nodes of 4 Gi, 2 Kibanas of 1 Gi, 1 Gi for the exporter, the jobs and a surge pod.
    assert quota["requests.memory"] == quota["limits.memory"] == f"{(3 * 4 + 2 + 1) * 1024}Mi"
    assert quota["requests.storage"] == f"{3 * 100 * 2 * 1024}Mi"  # every volume may grow to twice its size
    assert quota["persistentvolumeclaims"] == "5"


def test_logging_can_be_switched_off():
    """`logging.enabled: false` (in prod with its acknowledgement): no log stack, no shipper, no sidecar, no ECK
    flows into `logging`, no snapshot role; the apps' Deployments are as they were, the rest stays protected."""
    overrides = {"ai-platform:logging": {"enabled": False}, "ai-platform:acknowledgeDataLoss": ["logging.enabled"]}
    run = run_program("prod", overrides=overrides)
    assert not run.by_type(ES)
    assert not run.by_type("kubernetes:apps/v1:DaemonSet")
    assert not [r for r in run.by_type("kubernetes:apps/v1:Deployment") if "log-follower" in str(r.inputs)]
    assert not [r for r in run.registrations if "logging-snapshots" in r.name]
    assert "kibana.ai.example.com" not in run.outputs["publicGateway"]["hosts"]
    namespaces = {r.inputs["metadata"]["name"] for r in run.by_type("kubernetes:core/v1:Namespace")}
    assert not {"logging", "log-shipping"} & namespaces
    assert any(r.protect for r in run.registrations)
