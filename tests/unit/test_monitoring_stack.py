"""MonitoringStack: retention and storage (S3-10), every rule and monitor selected, control-plane targets off
on EKS, Alertmanager routing by severity with file-based credentials (X-10, X-11, S1-11), Grafana admin
login generated and kept in a Secret (X-12)."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc

from components.alert_routing import AlertReceivers, ReceiverCredentials
from components.app_deployment import Resources
from components.metrics_copy import MetricsCopy
from components.monitoring_stack import MonitoringStack, MonitoringStackArgs
from tests.support.runtime import inputs_of, one, when_registered

DUMMY = {
    "pagerduty": "pd-routing-key-0123456789",
    "slack": "https://hooks.slack.com/services/T000/B000/dummysecret",
    "smtp": "smtp-password-dummy",
    "webhook": "webhook-bearer-token-dummy",
}
RECEIVERS = AlertReceivers(
    slack_channel="#alerts",
    email_to="oncall@example.com",
    email_from="alertmanager@example.com",
    smtp_smarthost="smtp.example.com:587",
    smtp_username="alertmanager",
    webhook_url="https://hooks.example.com/alerts",
    webhook_services=("agent-skeptic-bench",),
)


def _args(**overrides: Any) -> MonitoringStackArgs:
    credentials = ReceiverCredentials(
        pulumi.Output.secret(DUMMY["pagerduty"]),
        pulumi.Output.secret(DUMMY["slack"]),
        pulumi.Output.secret(DUMMY["smtp"]),
        pulumi.Output.secret(DUMMY["webhook"]),
    )
    base: dict[str, Any] = dict(
        receivers=RECEIVERS,
        credentials=credentials,
        storage_class="gp3",
        prometheus_storage_size="64Gi",
        alertmanager_storage_size="2Gi",
        grafana_resources=Resources({"cpu": "100m", "memory": "200Mi"}, {"cpu": "300m", "memory": "400Mi"}),
    )
    base.update(overrides)
    return MonitoringStackArgs(**base)


@pulumi.runtime.test
def test_prometheus_retention_storage_and_selectors(mock_runtime):
    """S3-10: 15 days / 50 GB on a persistent volume; every PrometheusRule/ServiceMonitor/PodMonitor/Probe is used."""
    stack = MonitoringStack("monitoring", _args())

    def check(inputs):
        assert inputs["chart"] == "kube-prometheus-stack"
        assert inputs["version"].startswith("88.")
        assert inputs["repositoryOpts"]["repo"] == "https://prometheus-community.github.io/helm-charts"
        assert inputs["namespace"] == "monitoring"
        spec = inputs["values"]["prometheus"]["prometheusSpec"]
        assert spec["retention"] == "15d"
        assert spec["retentionSize"] == "50GB"
        claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
        assert claim["storageClassName"] == "gp3"
        assert claim["resources"]["requests"]["storage"] == "64Gi"
        for kind in ("rule", "serviceMonitor", "podMonitor", "probe", "scrapeConfig"):
            assert spec[f"{kind}SelectorNilUsesHelmValues"] is False, kind
        for kind in ("rule", "serviceMonitor", "podMonitor", "probe"):
            assert spec[f"{kind}Selector"] == {} and spec[f"{kind}NamespaceSelector"] == {}, kind
        assert spec["resources"]["limits"]["memory"] == "4Gi"

    return inputs_of(mock_runtime, stack.release, check)


@pulumi.runtime.test
def test_control_plane_targets_off_on_managed_clusters(mock_runtime):
    """EKS does not expose controller-manager, scheduler, etcd or kube-proxy metrics: no targets (the chart
    drops their rules with them: tests/conformance/test_charts.py)."""
    stack = MonitoringStack("monitoring", _args())

    def check(inputs):
        values = inputs["values"]
        for target in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
            assert values[target]["enabled"] is False, target

    return inputs_of(mock_runtime, stack.release, check)


@pulumi.runtime.test
def test_alertmanager_reads_credentials_from_the_mounted_secret(mock_runtime):
    """X-11: the receivers Secret is mounted; each receiver reads its credential from a file in it."""
    stack = MonitoringStack("monitoring", _args())
    mount = "/etc/alertmanager/secrets/alertmanager-receivers"

    def check(inputs):
        alertmanager = inputs["values"]["alertmanager"]
        spec = alertmanager["alertmanagerSpec"]
        assert spec["secrets"] == ["alertmanager-receivers"]
        assert spec["storage"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "2Gi"
        receivers = {r["name"]: r for r in alertmanager["config"]["receivers"]}
        assert receivers["pagerduty"]["pagerduty_configs"][0]["routing_key_file"] == f"{mount}/pagerduty-routing-key"
        assert receivers["slack"]["slack_configs"][0]["api_url_file"] == f"{mount}/slack-api-url"
        assert receivers["slack"]["slack_configs"][0]["channel"] == "#alerts"
        assert receivers["email"]["email_configs"][0]["auth_password_file"] == f"{mount}/smtp-password"
        webhook = receivers["webhook"]["webhook_configs"][0]
        assert webhook["url"] == "https://hooks.example.com/alerts"
        assert webhook["http_config"]["authorization"]["credentials_file"] == f"{mount}/webhook-token"
        routes = alertmanager["config"]["route"]["routes"]
        by_receiver = {r["receiver"]: r for r in routes}
        assert by_receiver["pagerduty"]["matchers"] == ['severity="critical"']
        assert by_receiver["slack"]["matchers"] == ['severity="warning"']
        assert by_receiver["email"]["matchers"] == ['severity="info"']
        assert by_receiver["webhook"] == {
            "receiver": "webhook",
            "continue": True,
            "matchers": ['service=~"agent\\-skeptic\\-bench"'],
        }
        # The webhook copy is taken before the severity routes stop the search.
        assert routes.index(by_receiver["webhook"]) < routes.index(by_receiver["pagerduty"])

    return inputs_of(mock_runtime, stack.release, check)


@pulumi.runtime.test
def test_receiver_secret_holds_the_credentials_as_secrets(mock_runtime):
    """X-12: the credentials go only into the receivers Secret, each value a Pulumi secret."""
    stack = MonitoringStack("monitoring", _args())

    def check(_):
        secret = one(mock_runtime, "kubernetes:core/v1:Secret", "monitoring-receivers")
        assert secret.inputs["metadata"]["name"] == "alertmanager-receivers"
        assert secret.inputs["metadata"]["namespace"] == "monitoring"
        data = secret.inputs["stringData"]
        assert rpc.is_rpc_secret(data), "stringData must be a secret"
        assert data["value"] == {
            "pagerduty-routing-key": DUMMY["pagerduty"],
            "slack-api-url": DUMMY["slack"],
            "smtp-password": DUMMY["smtp"],
            "webhook-token": DUMMY["webhook"],
        }
        for registration in mock_runtime.registrations:
            if registration is secret:
                continue
            rendered = json.dumps(registration.inputs)
            for name, value in DUMMY.items():
                assert value not in rendered, f"{name} credential leaks into {registration.type} {registration.name}"

    return when_registered(mock_runtime, [stack.release], check)  # the release waits for every child


@pulumi.runtime.test
def test_grafana_admin_login_is_generated_and_referenced(mock_runtime):
    """Grafana reads its admin login from a generated Secret; the dashboard sidecar watches all namespaces."""
    stack = MonitoringStack("monitoring", _args(grafana_storage_size="5Gi"))
    assert stack.grafana_admin_secret_name == "grafana-admin"

    def check_release(inputs):
        grafana = inputs["values"]["grafana"]
        assert grafana["admin"] == {
            "existingSecret": "grafana-admin",
            "userKey": "admin-user",
            "passwordKey": "admin-password",
        }
        dashboards = grafana["sidecar"]["dashboards"]
        assert dashboards["enabled"] is True
        assert (dashboards["label"], dashboards["labelValue"], dashboards["searchNamespace"]) == (
            "grafana_dashboard",
            "1",
            "ALL",
        )
        assert grafana["persistence"]["size"] == "5Gi" and grafana["persistence"]["storageClassName"] == "gp3"
        assert grafana["resources"]["limits"] == {"cpu": "300m", "memory": "400Mi"}
        assert grafana["containerSecurityContext"]["readOnlyRootFilesystem"] is True
        assert grafana["containerSecurityContext"]["runAsUser"] == 472
        assert "adminPassword" not in json.dumps(grafana)

    def check_secret(_):
        secret = one(mock_runtime, "kubernetes:core/v1:Secret", "monitoring-grafana-admin")
        data = secret.inputs["stringData"]
        assert rpc.is_rpc_secret(data)
        password = "generated-monitoring-grafana-admin-password"  # the mock RandomPassword result
        assert data["value"] == {"admin-user": "admin", "admin-password": password}
        generator = one(mock_runtime, "random:index/randomPassword:RandomPassword", "monitoring-grafana-admin-password")
        assert generator.inputs["length"] == 32
        for registration in mock_runtime.registrations:
            if registration is not secret:
                assert password not in json.dumps(registration.inputs), registration.name

    return pulumi.Output.all(
        inputs_of(mock_runtime, stack.release, check_release),
        when_registered(mock_runtime, [stack.release], check_secret),
    )


@pulumi.runtime.test
def test_namespace_pod_security_and_urls(mock_runtime):
    """The stack's namespace enforces `restricted`; node-exporter, which needs host access, runs in its own
    `privileged` namespace (`restricted` stays in audit and warn); both deny by default."""
    stack = MonitoringStack("monitoring", _args(protect=True, retain_on_delete=True))
    assert stack.prometheus_url == "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090"
    assert stack.alertmanager_url == "http://kube-prometheus-stack-alertmanager.monitoring.svc.cluster.local:9093"
    assert stack.grafana_url == "http://kube-prometheus-stack-grafana.monitoring.svc.cluster.local:80"

    def check(_):
        namespace = one(mock_runtime, "kubernetes:core/v1:Namespace", "monitoring-namespace")
        assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        node_exporter = one(mock_runtime, "kubernetes:core/v1:Namespace", "monitoring-node-exporter-namespace")
        labels = node_exporter.inputs["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
        assert labels["pod-security.kubernetes.io/audit"] == "restricted"
        assert labels["pod-security.kubernetes.io/warn"] == "restricted"
        release = one(mock_runtime, "kubernetes:helm.sh/v3:Release", "monitoring-release")
        assert release.inputs["values"]["prometheus-node-exporter"]["namespaceOverride"] == "node-exporter"
        assert namespace.protect and namespace.retain_on_delete
        assert release.protect and release.retain_on_delete
        assert release.inputs["values"]["fullnameOverride"] == "kube-prometheus-stack"
        assert release.inputs["values"]["grafana"]["fullnameOverride"] == "kube-prometheus-stack-grafana"
        secrets = {r.urn for r in mock_runtime.registrations if r.type == "kubernetes:core/v1:Secret"}
        policies = {
            r.urn for r in mock_runtime.registrations if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
        }
        deny = {
            r.inputs["metadata"]["namespace"]
            for r in mock_runtime.registrations
            if r.name.endswith("default-deny-ingress")
        }
        assert deny == {"monitoring", "node-exporter"}
        assert {namespace.urn, node_exporter.urn, *secrets, *policies} <= set(release.dependencies)

    return when_registered(mock_runtime, [stack.release], check)  # the release waits for every child


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"retention_size": "60GB"}, "does not fit"),
        ({"retention_size": "50 GB"}, "retention_size must look like"),
        ({"retention": "15 days"}, "retention must be"),
        ({"release_name": "a-release-name-longer-than-26"}, "longer than 26"),
        ({"credentials": ReceiverCredentials("k", "u", "p")}, "webhook_token"),
    ],
)
def test_invalid_settings_are_refused(mock_runtime, overrides, message):
    with pytest.raises(ValueError, match=message):
        MonitoringStack("monitoring", _args(**overrides))


def test_receivers_are_checked():
    with pytest.raises(ValueError, match="host:port"):
        AlertReceivers("#a", "a@example.com", "b@example.com", "smtp.example.com", "u")
    with pytest.raises(ValueError, match="https"):
        AlertReceivers("#a", "a@example.com", "b@example.com", "smtp.example.com:587", "u", webhook_url="http://x")


@pulumi.runtime.test
def test_prometheus_copies_its_blocks_off_the_cluster(mock_runtime):
    """S3-11: a Thanos sidecar uploads each block under the copy's prefix with the copy's role; the release waits
    for the object store's Secret."""
    copy = MetricsCopy("backups", "daily/prometheus", "eu-west-1", "arn:aws:kms:eu-west-1:1:key/k", "arn:role/copy")
    stack = MonitoringStack("monitoring", _args(metrics_copy=copy))

    def check(inputs):
        prometheus = inputs["values"]["prometheus"]
        assert prometheus["prometheusSpec"]["thanos"]["objectStorageConfig"] == {
            "existingSecret": {"name": "prometheus-object-store", "key": "objstore.yml"}
        }
        assert set(prometheus["prometheusSpec"]["thanos"]["resources"]) == {"requests", "limits"}
        assert prometheus["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:role/copy"}
        assert prometheus["thanosServiceMonitor"] == {"enabled": True}
        secret = one(mock_runtime, "kubernetes:core/v1:Secret", "monitoring-object-store")
        assert secret.urn in one(mock_runtime, "kubernetes:helm.sh/v3:Release", "monitoring-release").dependencies
        config = yaml.safe_load(secret.inputs["stringData"]["value"]["objstore.yml"])  # Secret data: a secret
        assert config["prefix"] == "daily/prometheus"
        assert config["config"]["sse_config"]["kms_key_id"] == "arn:aws:kms:eu-west-1:1:key/k"

    return inputs_of(mock_runtime, stack.release, check)


@pulumi.runtime.test
def test_without_a_copy_prometheus_has_no_sidecar(mock_runtime):
    stack = MonitoringStack("monitoring", _args())

    def check(inputs):
        assert "thanos" not in inputs["values"]["prometheus"]["prometheusSpec"]
        assert "serviceAccount" not in inputs["values"]["prometheus"]

    return inputs_of(mock_runtime, stack.release, check)
