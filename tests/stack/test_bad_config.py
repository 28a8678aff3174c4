"""Bad config is refused before any resource is registered: exit 2, the key named, nothing rendered."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from settings import SettingsError
from tests.support.runtime import ROOT
from tools.mock_runtime import run_program
from tools.stack_config import ConfigError

SERVICES = "ai-platform:services"


def _app(service: str, app: str, **fields) -> dict[str, Any]:
    return {SERVICES: {service: {"apps": {app: fields}}}}


# case -> (config overrides, what the error must say: the key path first)
CASES = {
    "replicas below one": (
        _app("ai-benchmark", "ai-benchmark-worker", replicas=0),
        "ai-platform:services.ai-benchmark.apps.ai-benchmark-worker.replicas: Input should be greater than or equal",
    ),
    "minReplicas above maxReplicas": (
        _app("platform", "platform-v2-api", minReplicas=20),
        "ai-platform:services.platform.apps.platform-v2-api.minReplicas: must be <= maxReplicas (15), got 20",
    ),
    "unknown service": ({SERVICES: {"chatbot": {}}}, "ai-platform:services.chatbot: unknown service; allowed are"),
    "unknown app": (
        _app("platform", "platform-v4-api", replicas=1),
        "ai-platform:services.platform.apps.platform-v4-api: unknown app; allowed are platform-v2-api",
    ),
    "misspelt key": (
        _app("docc2context", "docc2context-api", replica=2),
        "ai-platform:services.docc2context.apps.docc2context-api.replica: unknown key; allowed keys are",
    ),
    "wrong type": (
        _app("ai-benchmark", "ai-benchmark-worker", replicas="three"),
        "ai-platform:services.ai-benchmark.apps.ai-benchmark-worker.replicas: Input should be a valid integer",
    ),
    "domain that is not a DNS name": (
        {"ai-platform:domain": "not a domain!"},
        "ai-platform:domain: must be a DNS name",
    ),
    "quantity that is not a quantity": (
        _app("cad-ml-platform", "cad-ml-platform", resources={"limits": {"memory": "4 gigs"}}),
        "ai-platform:services.cad-ml-platform.apps.cad-ml-platform.resources.limits.memory: must be a Kubernetes",
    ),
    "image that is not an image reference": (
        _app("agent-skeptic-bench", "agent-skeptic-bench", image="Not An Image::"),
        "ai-platform:services.agent-skeptic-bench.apps.agent-skeptic-bench.image: must be an image reference",
    ),
    "image without tag or digest": (
        _app("agent-skeptic-bench", "agent-skeptic-bench", image="registry.example.com/skeptic"),
        "ai-platform:services.agent-skeptic-bench.apps.agent-skeptic-bench.image: must name a tag or a digest",
    ),
    "environment that does not match the stack": (
        {"ai-platform:environment": "staging"},
        "ai-platform:environment: must match the stack 'prod', got 'staging'",
    ),
    "two ways into the cluster": (
        {"ai-platform:cluster": {"context": "eks", "stack": "acme/eks-cluster/prod"}},
        "ai-platform:cluster: set exactly one of kubeconfig (secret), context or stack",
    ),
    "a kubeconfig context without the IRSA provider": (
        {"ai-platform:cluster": {"context": "eks-prod"}},
        "ai-platform:cluster: with context, also set oidcProviderArn and oidcIssuerUrl",
    ),
    "unknown top-level key": ({"ai-platform:domian": "ai.example.com"}, "ai-platform:domian: unknown key"),
    "requests above limits": (
        _app("docc2context", "docc2context-api", resources={"requests": {"cpu": "4"}}),
        "ai-platform:services.docc2context.apps.docc2context-api.resources.requests.cpu: must be <= the limit 2, got 4",
    ),
    "replicas on an autoscaled app": (
        _app("cad-ml-platform", "cad-ml-platform", replicas=3),
        "ai-platform:services.cad-ml-platform.apps.cad-ml-platform.replicas: this app is autoscaled",
    ),
    "unknown delivery strategy": (
        _app("ai-benchmark", "ai-benchmark-api", delivery={"strategy": "shadow"}),
        "ai-platform:services.ai-benchmark.apps.ai-benchmark-api.delivery.strategy: Input should be 'rolling', "
        "'blue-green' or 'canary'",
    ),
    "blue-green without the active colour": (
        _app("ai-benchmark", "ai-benchmark-api", delivery={"strategy": "blue-green"}),
        "ai-platform:services.ai-benchmark.apps.ai-benchmark-api.delivery.active: is required for strategy blue-green",
    ),
    "active colour that is not a colour": (
        _app("platform", "platform-v2-api", delivery={"strategy": "blue-green", "active": "red"}),
        "ai-platform:services.platform.apps.platform-v2-api.delivery.active: Input should be 'blue' or 'green'",
    ),
    "negative idle replicas": (
        _app("platform", "platform-v2-api", delivery={"strategy": "blue-green", "active": "blue", "idleReplicas": -1}),
        "ai-platform:services.platform.apps.platform-v2-api.delivery.idleReplicas: Input should be greater than",
    ),
    "colour image without tag": (
        _app(
            "ai-benchmark",
            "ai-benchmark-api",
            delivery={"strategy": "blue-green", "active": "blue", "images": {"green": "registry.example.com/x"}},
        ),
        "ai-platform:services.ai-benchmark.apps.ai-benchmark-api.delivery.images.green: must name a tag or a digest",
    ),
    "smoke-test path that is not a path": (
        _app(
            "ai-benchmark",
            "ai-benchmark-api",
            delivery={"strategy": "blue-green", "active": "blue", "smokeTest": {"path": "health"}},
        ),
        "ai-platform:services.ai-benchmark.apps.ai-benchmark-api.delivery.smokeTest.path: must be a URL path",
    ),
    "canary weight above 100": (
        _app(
            "cad-ml-platform",
            "cad-ml-platform",
            delivery={"strategy": "canary", "canaryImage": "r/c:2", "weight": 150},
        ),
        "ai-platform:services.cad-ml-platform.apps.cad-ml-platform.delivery.weight: Input should be less than or equal",
    ),
    "canary with traffic but no replicas": (
        _app(
            "cad-ml-platform",
            "cad-ml-platform",
            delivery={"strategy": "canary", "canaryImage": "r/c:2", "weight": 10, "canaryReplicas": 0},
        ),
        "ai-platform:services.cad-ml-platform.apps.cad-ml-platform.delivery.canaryReplicas: must be >= 1 while weight",
    ),
    "canary of an app that is not public": (
        _app(
            "ai-benchmark",
            "ai-benchmark-worker",
            delivery={"strategy": "canary", "canaryImage": "r/w:2", "weight": 5},
        ),
        "ai-platform:services.ai-benchmark.apps.ai-benchmark-worker.delivery.strategy: canary splits public traffic",
    ),
    "a key of another strategy": (
        _app("ai-benchmark", "ai-benchmark-api", delivery={"strategy": "blue-green", "active": "blue", "weight": 10}),
        "ai-platform:services.ai-benchmark.apps.ai-benchmark-api.delivery.weight: only applies to strategy canary, "
        "not blue-green",
    ),
    # YAML 1.2: `yes` is a string, and the CLI itself refuses it for a boolean key.
    "pinImages that is not a boolean": (
        {"ai-platform:pinImages": "yes"},
        "Stack 'prod' with configuration key 'pinImages' must be of type 'boolean'",
    ),
    "TLS issuer without an e-mail": (
        {"ai-platform:tls": {"clusterIssuer": {"name": "letsencrypt"}}},
        "ai-platform:tls.clusterIssuer.acmeEmail: is required",
    ),
    "gateway namespace that is not a name": (
        {"ai-platform:gateway": {"namespace": "Public Gateway"}},
        "ai-platform:gateway.namespace: must be a lower-case DNS label",
    ),
    "a secret set as an env var": (
        _app("cad-ml-platform", "cad-ml-platform", env={"ADMIN_TOKEN": "hunter2"}),
        "ai-platform:services.cad-ml-platform.apps.cad-ml-platform.env: ADMIN_TOKEN come from Secrets",
    ),
    "object lock shorter than the backup window": (
        {"ai-platform:backup": {"bucketName": "acme-backups", "objectLock": {"mode": "COMPLIANCE", "days": 7}}},
        "ai-platform:backup.objectLock.days: must be at least 30 (the backup window",
    ),
    "backup replica in the bucket's own region": (
        {"ai-platform:backup": {"bucketName": "acme-backups", "replication": {"region": "eu-west-1"}}},
        "ai-platform:backup.replication.region: must be another region than aws:region (eu-west-1)",
    ),
    "backup replica whose derived bucket name is too long": (
        {"ai-platform:backup": {"bucketName": "b" * 60, "replication": {"region": "eu-central-1"}}},
        "ai-platform:backup.bucketName: the replica bucket",
    ),
}


# The render CLI's contract, proven end to end on a few cases; the rest run in-process.
CLI_CASES = ("domain that is not a DNS name", "misspelt key", "two ways into the cluster")


def render(tmp_path, overrides: dict[str, Any]) -> tuple[subprocess.CompletedProcess, object]:
    """`python -m tools.render prod` with each override given as `pulumi config set` would take it: text with
    `--set`, structure with `--json`."""
    out = tmp_path / "out"
    args = [sys.executable, "-m", "tools.render", "prod", "--out", str(out)]
    for key, value in overrides.items():
        args += ["--set", f"{key}={value}"] if isinstance(value, str) else ["--json", f"{key}={json.dumps(value)}"]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120), out


@pytest.mark.parametrize("case", CLI_CASES)
def test_the_render_exits_2_with_the_key_named_and_writes_nothing(tmp_path, case):
    overrides, expected = CASES[case]
    result, out = render(tmp_path, overrides)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists(), "nothing may be rendered from bad config"


@pytest.mark.parametrize("case", sorted(set(CASES) - set(CLI_CASES)))
def test_bad_config_is_refused_with_the_key_named(case):
    overrides, expected = CASES[case]
    with pytest.raises((SettingsError, ConfigError)) as caught:
        run_program("prod", overrides=overrides)
    assert expected in str(caught.value)


def test_every_problem_is_reported_at_once(tmp_path):
    overrides = {
        "ai-platform:domain": "x",
        "ai-platform:environment": "staging",
        **_app("platform", "platform-v2-api", minReplicas=20),
    }
    result, _ = render(tmp_path, overrides)
    assert result.returncode == 2
    for key in ("ai-platform:domain", "ai-platform:environment", "platform-v2-api.minReplicas"):
        assert key in result.stderr


def test_missing_secrets_are_listed_with_the_command_that_sets_them():
    with pytest.raises(SettingsError) as caught:
        run_program("prod", fill_missing_secrets=False)
    message = str(caught.value)
    for key in ("openaiApiKey", "anthropicApiKey", "googleAiApiKey", "primaryAiApiKey"):
        assert f"pulumi config set --secret {key} <value>" in message
    assert caught.value.problems == []


def test_a_disabled_service_needs_no_secrets():
    overrides = {SERVICES: {"platform": {"enabled": False}}}
    with pytest.raises(SettingsError) as caught:
        run_program("prod", overrides=overrides, fill_missing_secrets=False)
    assert "primaryAiApiKey" not in str(caught.value)


def test_a_secret_in_plain_text_is_refused():
    with pytest.raises(SettingsError) as caught:
        run_program("prod", overrides={"ai-platform:openaiApiKey": "sk-plain"})
    assert "ai-platform:openaiApiKey: is stored in plain text" in str(caught.value)
