"""LogShipper: Fluent Bit on every node, shipping every container's lines with the pod's fields (S2-04).

No Fluent Bit binary installs offline (no Debian or PyPI package ships it), so its configuration's parsed
structure is asserted: inputs, parsers, filters, output, buffering, retry.
"""

from __future__ import annotations

import yaml
from pulumi.runtime import rpc

from components.fluent_bit import FIELDS
from components.log_shipper import LogShipper, LogShipperArgs
from components.log_snapshots import LOG_FIELDS
from tests.support.runtime import Synth, one, synth

PASSWORD = "pw-never-in-a-configmap"
ARGS = LogShipperArgs(
    namespace="log-shipping",
    elasticsearch_host="elasticsearch-es-http.logging.svc.cluster.local",
    data_stream="logs-platform-default",
    username="log-shipper",
    password=PASSWORD,
    ca_issuer="logging-ca",
    part_of="ai-platform",
)


def _shipper() -> Synth[LogShipper]:
    return synth(lambda: LogShipper("log-shipper", ARGS))


def _config(built: Synth[LogShipper]) -> dict:
    """The configuration as the DaemonSet reads it (the ConfigMap's file, parsed)."""
    return yaml.safe_load(built.manifests[("ConfigMap", "fluent-bit-config")]["data"]["fluent-bit.yaml"])


def test_it_reads_every_container_log_with_the_cri_parser_and_a_position_db():
    (tail,) = _config(_shipper())["pipeline"]["inputs"]
    assert tail["name"] == "tail" and tail["path"] == "/var/log/containers/*.log"
    assert tail["multiline.parser"] == "cri"
    assert tail["db"].startswith("/var/lib/fluent-bit/") and tail["storage.type"] == "filesystem"


def test_it_adds_namespace_app_colour_and_track_as_fields():
    filters = _config(_shipper())["pipeline"]["filters"]
    assert [f["name"] for f in filters] == ["kubernetes", "nest", "nest", "modify"]
    assert filters[0]["labels"] == "on" and filters[0]["merge_log"] == "on"
    renames = dict(rule.split(" ") for rule in filters[3]["rename"])
    assert renames["kubernetes_namespace_name"] == "namespace"
    assert renames["label_app"] == "app" and renames["label_colour"] == "colour" and renames["label_track"] == "track"
    assert set(renames.values()) == set(FIELDS.values()) == set(LOG_FIELDS)  # keywords in the log index


def test_the_output_verifies_tls_buffers_on_disk_and_retries_forever():
    config = _config(_shipper())
    (output,) = config["pipeline"]["outputs"]
    assert output["name"] == "es" and output["host"] == ARGS.elasticsearch_host and output["port"] == 9200
    assert output["index"] == "logs-platform-default"
    assert output["write_operation"] == "create" and output["suppress_type_name"] == "on"
    assert output["tls"] == "on" and output["tls.verify"] == "on" and output["tls.ca_file"].endswith("/ca.crt")
    assert output["http_passwd"] == "${ES_PASSWORD}"  # from the Secret, never in the ConfigMap
    assert output["retry_limit"] == "no_limits" and output["storage.total_limit_size"] == "2G"
    service = config["service"]
    assert service["storage.path"].startswith("/var/lib/fluent-bit/") and service["health_check"] == "on"


def test_the_password_stays_in_its_secret_and_the_ca_comes_from_the_stacks_issuer():
    built = _shipper()
    assert PASSWORD not in built.manifests[("ConfigMap", "fluent-bit-config")]["data"]["fluent-bit.yaml"]
    data = built.manifests[("Secret", "log-shipper-credentials")]["stringData"]
    assert rpc.is_rpc_secret(data) and data["value"]["password"] == PASSWORD
    trust = built.manifests[("Certificate", "elasticsearch-trust")]["spec"]
    assert trust["issuerRef"]["name"] == "logging-ca" and trust["secretName"] == "elasticsearch-trust"


def test_the_daemonset_reads_the_hosts_logs_read_only_and_nothing_more():
    """Host log access only: /var/log read-only, its own state directory, no privilege or capability."""
    built = _shipper()
    pod = built.manifests[("DaemonSet", "fluent-bit")]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v} == {
        "varlog": "/var/log",
        "state": "/var/lib/ai-platform-fluent-bit",
    }
    assert {m["mountPath"]: m.get("readOnly", False) for m in container["volumeMounts"]}["/var/log"] is True
    context = container["securityContext"]
    assert context["privileged"] is False and context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]} and context["readOnlyRootFilesystem"] is True
    assert pod["tolerations"] == [{"operator": "Exists"}], "every node's logs, tainted nodes included"
    assert not {"hostNetwork", "hostPID", "hostIPC"} & pod.keys()


def test_it_may_only_read_pods_and_namespaces():
    built = _shipper()
    role = built.manifests[("ClusterRole", "ai-platform-fluent-bit")]
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]}
    ]
    binding = built.manifests[("ClusterRoleBinding", "ai-platform-fluent-bit")]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "fluent-bit", "namespace": "log-shipping"}]
    monitor = built.manifests[("PodMonitor", "fluent-bit")]["spec"]
    assert monitor["selector"]["matchLabels"] == built.component.selector
    assert built.component.metrics_port == 2020


def test_the_daemonset_waits_for_what_its_pods_use_by_name():
    """On a first deploy the pods start only once their credentials, cert-manager's trust Secret and their
    reads of pods can exist; the binding waits for its role."""
    built = _shipper()
    daemonset = one(built, "kubernetes:apps/v1:DaemonSet")
    credentials = one(built, "kubernetes:core/v1:Secret", "log-shipper-credentials")
    trust = one(built, "kubernetes:cert-manager.io/v1:Certificate", "log-shipper-trust")
    binding = one(built, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
    role = one(built, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
    assert {credentials.urn, trust.urn, binding.urn} <= set(daemonset.dependencies)
    assert role.urn in binding.dependencies
