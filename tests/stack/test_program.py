"""Whole program per stack: every app of the five services, named and sized as the manuals say."""

from __future__ import annotations

import pytest

from services import CATALOG
from tests.support.program import container, deployment_names, env_of
from tests.support.runtime import STACKS, program_run

MODES = ("enforce", "audit", "warn")


def deployments(stack):
    return {r.inputs["metadata"]["name"]: r.inputs for r in program_run(stack).by_type("kubernetes:apps/v1:Deployment")}


def service_monitors(stack):
    return {
        r.inputs["metadata"]["name"]: r.inputs
        for r in program_run(stack).by_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
    }


def hpas(stack):
    return {
        r.inputs["metadata"]["name"]: r.inputs
        for r in program_run(stack).by_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_app_of_every_service_is_deployed_in_its_namespace(stack):
    found = {(d["metadata"]["namespace"], name) for name, d in deployments(stack).items()}
    expected = {
        (app.namespace, name) for spec in CATALOG.values() for app in spec.apps for name in deployment_names(app.name)
    }
    # Besides the apps, the only Deployment is the log stack's metrics exporter.
    assert found == expected | {("logging", "elasticsearch-exporter")}
    namespaces = {r.inputs["metadata"]["name"] for r in program_run(stack).by_type("kubernetes:core/v1:Namespace")}
    assert namespaces == {  # S0-01, S1-01, S2-01, S3-01, S4-01
        "ai-benchmark",
        "agent-skeptic-bench",
        "docc2context",
        "cad-ml-platform",
        "platform-v2-stable",
        "platform-v1-exp",
        "platform-v3-quarantine",
        "public-gateway",  # X-15: the Gateway, its certificates and platform-owned routes
        # Add-ons and the monitoring stack.
        "cert-manager",
        "cnpg-system",
        "envoy-gateway-system",
        "monitoring",
        "node-exporter",  # the one workload with host access, apart from the monitoring stack
        # S2-04: the log stack, its shipper (host log access) and the ECK operator.
        "logging",
        "log-shipping",
        "elastic-system",
    }


def test_ai_benchmark_web_limits_and_worker(stack="prod"):
    """S0-01, S0-02, S0-03, S0-08 (the API is blue-green, S0-09: both colours run the manual's sizes)."""
    api = deployments(stack)["ai-benchmark-api-blue"]
    assert container(api)["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    }
    assert container(api)["ports"][0]["containerPort"] == 8000
    assert hpas(stack)["ai-benchmark-api"]["spec"]["minReplicas"] == 3  # follows the active colour
    assert env_of(api)["DATABASE_POOL_SIZE"] == "20" and env_of(api)["DATABASE_MAX_OVERFLOW"] == "10"
    assert env_of(api)["OPENAI_API_KEY"]["secretKeyRef"]["name"] == "ai-benchmark-secrets"  # S0-10
    worker = deployments(stack)["ai-benchmark-worker"]
    assert worker["spec"]["replicas"] == 2
    # The worker serves no HTTP: its probes run in the container (a fresh heartbeat file, the Redis queue
    # answering) and nothing scrapes it.
    probes = {kind: container(worker)[f"{kind}Probe"] for kind in ("liveness", "readiness", "startup")}
    assert all("exec" in probe and "httpGet" not in probe for probe in probes.values())
    assert "$HEARTBEAT_FILE" in probes["liveness"]["exec"]["command"][-1]
    assert env_of(worker)["HEARTBEAT_FILE"].startswith("/tmp/")  # the container's writable scratch
    assert "REDIS_URL" in probes["readiness"]["exec"]["command"][-1]
    assert "ai-benchmark-worker" not in service_monitors(stack)


def test_agent_skeptic_bench_matches_its_manual(stack="prod"):
    """S1-01..S1-05."""
    deployment = deployments(stack)["agent-skeptic-bench"]
    c = container(deployment)
    assert hpas(stack)["agent-skeptic-bench"]["spec"]["minReplicas"] == 3
    assert c["resources"] == {
        "requests": {"cpu": "1000m", "memory": "2Gi"},
        "limits": {"cpu": "2000m", "memory": "4Gi"},
    }
    assert (c["livenessProbe"]["httpGet"]["path"], c["livenessProbe"]["initialDelaySeconds"]) == ("/health", 30)
    assert c["livenessProbe"]["periodSeconds"] == 10
    assert (c["readinessProbe"]["httpGet"]["path"], c["readinessProbe"]["initialDelaySeconds"]) == ("/ready", 5)
    env = env_of(deployment)
    assert env["REDIS_URL"] == {"secretKeyRef": {"name": "redis-secret", "key": "url", "optional": False}}
    for name in ("DATABASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_AI_API_KEY", "JWT_SECRET"):
        assert "secretKeyRef" in env[name], name
    assert {k: env[k] for k in ("NODE_ENV", "LOG_LEVEL", "PORT", "METRICS_PORT", "TRUST_PROXY")} == {
        "NODE_ENV": "production",
        "LOG_LEVEL": "info",
        "PORT": "8000",
        "METRICS_PORT": "9090",
        "TRUST_PROXY": "true",
    }
    # S1-03: the origins browsers may call it from, per stack; by default its own public origin.
    assert env["CORS_ORIGINS"] == "https://agent-skeptic-bench.ai.example.com"
    # The manual's code serves /metrics from the app on PORT (X-02).
    assert service_monitors(stack)["agent-skeptic-bench"]["spec"]["endpoints"][0]["port"] == "http"
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert mounts["/app/config"]["readOnly"] is True
    assert "/app/logs" in mounts
    # S1-05 results outlive the pods: one persistent volume every replica mounts (manual 001: 50-200 GB).
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    results = volumes[mounts["/app/results"]["name"]]
    assert results["persistentVolumeClaim"] == {"claimName": "agent-skeptic-bench-results"}
    claim = program_run(stack).one("kubernetes:core/v1:PersistentVolumeClaim", "agent-skeptic-bench-results-claim")
    assert claim.inputs["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim.inputs["spec"]["resources"]["requests"]["storage"] == "200Gi"
    assert claim.inputs["spec"]["storageClassName"] == "efs-sc"
    assert claim.protect and claim.retain_on_delete
    config_map = program_run(stack).one("kubernetes:core/v1:ConfigMap", "agent-skeptic-bench-config").inputs
    assert "ssl: require" in config_map["data"]["production.yaml"]


def test_docc2context_sizes_and_scratch_space(stack="prod"):
    """S2-01, S2-02, S2-08."""
    deployment = deployments(stack)["docc2context-api"]
    c = container(deployment)
    assert c["resources"]["limits"] == {"cpu": "2", "memory": "2Gi"}
    assert c["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    # S2-02: 50 Gi of workspace per pod as /tmp (the manual's daily `df -h /tmp`), on a volume of its own that is
    # created and deleted with the pod: not on the node's root disk (EKS: 20 GiB).
    mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/tmp")
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    claim = volume["ephemeral"]["volumeClaimTemplate"]["spec"]
    assert claim == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Gi"}}}
    # On the node's disk only its log files (the log follower ships them, S2-04) and the follower's own scratch.
    on_node = {
        v["name"]: v["emptyDir"]["sizeLimit"]
        for v in deployment["spec"]["template"]["spec"]["volumes"]
        if "emptyDir" in v
    }
    logs = next(m["name"] for m in c["volumeMounts"] if m["mountPath"] == "/app/logs")
    assert on_node == {logs: "5Gi", "follower-tmp": "1Mi"}
    # Its quota admits a scratch claim for every pod at the HPA's maximum, during a rolling update too.
    quota = program_run(stack).one("kubernetes:core/v1:ResourceQuota", "docc2context-quota").inputs["spec"]["hard"]
    peak = hpas(stack)["docc2context-api"]["spec"]["maxReplicas"] + 1
    assert int(quota["persistentvolumeclaims"]) >= peak + 1  # and Redis' claim
    assert int(quota["requests.storage"].removesuffix("Gi")) >= peak * 50 + 10
    hpa = hpas(stack)["docc2context-api"]["spec"]
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["metrics"]}
    assert targets == {"cpu": 75, "memory": 80}
    assert hpa["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 600


def test_cad_ml_platform_tuning_and_admin_token(stack="prod"):
    """S3-01, S3-07, S3-08, S3-09."""
    deployment = deployments(stack)["cad-ml-platform"]
    env = env_of(deployment)
    assert {env[k] for k in ("MAX_WORKERS", "THREAD_POOL_SIZE", "CONNECTION_POOL_SIZE")} == {"4", "10", "20"}
    assert env["ADMIN_TOKEN"]["secretKeyRef"] == {
        "name": "cad-ml-platform-admin",
        "key": "admin-token",
        "optional": False,
    }
    assert container(deployment)["name"] == "cad-ml-platform"
    assert hpas(stack)["cad-ml-platform"]["spec"]["maxReplicas"] >= 6
    random = [r.name for r in program_run(stack).by_type("random:index/randomPassword:RandomPassword")]
    assert any("admin-token" in name for name in random)


def test_platform_tiers(stack="prod"):
    """S4-02, S4-03, S4-06, S4-08."""
    all_deployments = deployments(stack)
    assert container(all_deployments["platform-v2-api-blue"])["name"] == "api"
    # Blue-green (S4-10): the manual's HPA name scales the active colour (prod runs blue), its `-preview` the idle.
    hpa = hpas(stack)["platform-v2-hpa"]
    assert hpa["metadata"]["namespace"] == "platform-v2-stable"
    assert hpa["spec"]["maxReplicas"] == 15
    assert hpa["spec"]["scaleTargetRef"]["name"] == "platform-v2-api-blue"
    assert hpas(stack)["platform-v2-hpa-preview"]["spec"]["scaleTargetRef"]["name"] == "platform-v2-api-green"
    # S4-08: V1 requires spot nodes and tolerates their taint.
    v1 = all_deployments["platform-v1-api"]["spec"]["template"]["spec"]
    assert v1["nodeSelector"] == {"eks.amazonaws.com/capacityType": "SPOT"}
    assert v1["tolerations"] == [
        {"key": "eks.amazonaws.com/capacityType", "operator": "Equal", "value": "SPOT", "effect": "NoSchedule"}
    ]
    assert "tolerations" not in all_deployments["platform-v3-api"]["spec"]["template"]["spec"]
    assert container(all_deployments["platform-v3-api"])["resources"]["limits"]["cpu"] == "200m"
    for name in ("platform-v2-api-blue", "platform-v2-api-green", "platform-v1-api", "platform-v3-api"):
        assert container(all_deployments[name])["livenessProbe"]["httpGet"]["path"] == "/health/live"
    secrets = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"])
        for r in program_run(stack).by_type("kubernetes:core/v1:Secret")
    }
    assert {("platform-v2-stable", "platform-secrets"), ("platform-v1-exp", "platform-secrets")} <= secrets
    # Manual 004: a secondary AI provider beside the primary one, in the same Secret.
    for name in ("platform-v2-api-blue", "platform-v1-api"):
        keys = {k: v["secretKeyRef"] for k, v in env_of(all_deployments[name]).items() if k.endswith("AI_API_KEY")}
        assert keys == {
            "PRIMARY_AI_API_KEY": {"name": "platform-secrets", "key": "primary_ai_api_key", "optional": False},
            "SECONDARY_AI_API_KEY": {"name": "platform-secrets", "key": "secondary_ai_api_key", "optional": False},
        }
    # V1 promotes experiments to V2 and quarantines them in V3 through their Services.
    v1_env = env_of(all_deployments["platform-v1-api"])
    assert v1_env["PLATFORM_V2_URL"] == "http://platform-v2-api.platform-v2-stable.svc.cluster.local:8000"
    assert v1_env["PLATFORM_V3_URL"] == "http://platform-v3-api.platform-v3-quarantine.svc.cluster.local:8000"


def test_staging_is_prod_at_a_smaller_size():
    """X-01: every feature, fewer replicas."""
    prod, staging = hpas("prod"), hpas("staging")
    assert set(prod) == set(staging)
    for name in prod:
        assert staging[name]["spec"]["maxReplicas"] <= prod[name]["spec"]["maxReplicas"], name
    assert any(staging[n]["spec"]["maxReplicas"] < prod[n]["spec"]["maxReplicas"] for n in prod)
    assert deployments("staging")["ai-benchmark-worker"]["spec"]["replicas"] == 1


@pytest.mark.parametrize("stack", STACKS)
def test_hpa_managed_deployments_leave_replicas_to_the_hpa(stack):
    """X-04."""
    all_deployments = deployments(stack)
    for hpa in hpas(stack).values():
        assert "replicas" not in all_deployments[hpa["spec"]["scaleTargetRef"]["name"]]["spec"]


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_name_each_service_namespace_and_app_url(stack):
    outputs = program_run(stack).outputs
    assert outputs["environment"] == stack
    for name, spec in CATALOG.items():
        service = outputs["services"][name]
        assert service["namespaces"] == list(spec.namespaces)
        for app in spec.apps:
            assert service["apps"][app.name]["url"] == f"http://{app.name}.{app.namespace}.svc.cluster.local:{app.port}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespace_is_restricted_with_quota_and_default_deny(stack):
    run = program_run(stack)
    tenants = [r for r in run.registrations if r.type == "ai-platform:tenant_namespace:TenantNamespace"]
    # the seven service namespaces, the public Gateway's and the log stack's two
    assert len(tenants) == 10
    levels = {}
    for namespace in run.by_type("kubernetes:core/v1:Namespace"):
        labels = namespace.inputs["metadata"]["labels"]
        levels[namespace.inputs["metadata"]["name"]] = {m: labels[f"pod-security.kubernetes.io/{m}"] for m in MODES}
    for tenant in tenants:
        if tenant.name != "log-shipping":
            assert levels[tenant.name] == dict.fromkeys(MODES, "restricted"), tenant.name
    # Only the namespaces of the workloads that read the host relax enforcement (node-exporter; the log shipper
    # reading the nodes' /var/log); they still audit and warn.
    relaxed = {name for name, level in levels.items() if level["enforce"] != "restricted"}
    assert relaxed == {"node-exporter", "log-shipping"}
    assert levels["log-shipping"]["enforce"] == "privileged"
    assert all(levels[name]["audit"] == levels[name]["warn"] == "restricted" for name in relaxed)
    per_namespace = {}
    for policy in run.by_type("kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        per_namespace.setdefault(policy.inputs["metadata"]["namespace"], set()).add(policy.inputs["metadata"]["name"])
    assert all(
        {"default-deny-ingress", "default-deny-egress", "allow-dns-egress"} <= names for names in per_namespace.values()
    )
    assert per_namespace.keys() == levels.keys()  # every namespace, the add-ons' too (X-07)
    # The shipper's pod count follows the nodes: its namespace has no quota.
    assert len(run.by_type("kubernetes:core/v1:ResourceQuota")) == 9


def test_kubernetes_provider_comes_from_the_cluster_stack():
    run = program_run("prod")
    reference = run.one("pulumi:pulumi:StackReference", "cluster")
    assert reference.inputs["name"] == "acme/eks-cluster/prod"
    provider = run.one("pulumi:providers:kubernetes", "kubernetes")
    assert reference.urn in provider.dependencies  # its kubeconfig is the cluster stack's output
    kubernetes_objects = [r for r in run.registrations if r.custom and r.type.startswith("kubernetes:")]
    assert kubernetes_objects
    assert all(r.provider.startswith(provider.urn + "::") for r in kubernetes_objects)


CRD_OWNERS = {  # API group -> the release that installs its CRDs
    "monitoring.coreos.com": "monitoring-release",
    "postgresql.cnpg.io": "addons-cloudnative-pg",
    "barmancloud.cnpg.io": "addons-plugin-barman-cloud",
    "gateway.networking.k8s.io": "addons-envoy-gateway",
    "gateway.envoyproxy.io": "addons-envoy-gateway",
    "cert-manager.io": "addons-cert-manager",
}


@pytest.mark.parametrize("stack", STACKS)
def test_custom_resources_wait_for_the_release_that_defines_their_crd(stack):
    """On a fresh cluster no custom resource may be applied before its operator's CRDs exist."""
    run = program_run(stack)
    releases = {r.name: r.urn for r in run.by_type("kubernetes:helm.sh/v3:Release")}
    checked = 0
    for registration in run.registrations:
        package, _, rest = registration.type.partition(":")
        group = rest.rpartition(":")[0].rpartition("/")[0] if package == "kubernetes" else ""
        if group in CRD_OWNERS:
            assert releases[CRD_OWNERS[group]] in registration.dependencies, f"{registration.type} {registration.name}"
            checked += 1
    assert checked > 30
    # The add-on charts ship ServiceMonitors/PodMonitors of their own.
    for name, urn in releases.items():
        if name != "monitoring-release":
            assert releases["monitoring-release"] in run.by_urn()[urn].dependencies, name
