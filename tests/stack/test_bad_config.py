"""Bad config is refused before any resource is registered: every problem at once, each with its key path as the
stack file writes it, what is allowed and what was given (never a secret); the render exits 2 and writes nothing.

The corpus is organised by family of mistake (issue "bad input and data safety"); each case is the edit an
operator would make, and what the refusal must say.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from settings import SettingsError
from tests.support.runtime import ROOT, refusal
from tools.mock_runtime import load_stack_config
from tools.stack_config import ConfigError, Secure

SERVICES = "ai-platform:services"
MONITORING = "ai-platform:monitoring"
ALERTING = "ai-platform:alerting"
NETWORK = "ai-platform:networkPolicy"
SPOT = "ai-platform:spot"
BACKUP = "ai-platform:backup"
ACK = "ai-platform:acknowledgeDataLoss"
LOGGING = "ai-platform:logging"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ai-platform"
DIGEST = "sha256:" + "0" * 64
TOKEN = "sk-live-0123456789abcdefghijklmnop"
"""A provider key: it must never appear in a message."""


@dataclass(frozen=True)
class Case:
    overrides: dict[str, Any]
    """Edits of the stack file (fully qualified keys; None removes a key)."""
    key: str
    """The key path the problem starts with, as the stack file writes it."""
    allowed: str
    """What the message says is allowed."""
    stack: str = "prod"
    stack_file: str | None = None
    """Whose stack file to start from (default: the stack's own)."""
    secrets: tuple[str, ...] = field(default=(TOKEN,))
    """Texts no message may contain."""


def app(service: str, name: str, **fields: Any) -> dict[str, Any]:
    return {SERVICES: {service: {"apps": {name: fields}}}}


def service(name: str, **fields: Any) -> dict[str, Any]:
    return {SERVICES: {name: fields}}


def key(path: str) -> str:
    """A fully qualified key path (`services.x.enabled` -> `ai-platform:services.x.enabled`)."""
    return path if ":" in path else f"ai-platform:{path}"


def backup(**fields: Any) -> dict[str, Any]:
    return {BACKUP: {"bucketName": "acme-ai-platform-prod-backups", **fields}}


def alerting(**fields: Any) -> dict[str, Any]:
    base = {
        "slackChannel": "#ai-platform-alerts",
        "emailTo": "ops@example.com",
        "emailFrom": "alertmanager@example.com",
        "smtpSmarthost": "smtp.example.com:587",
        "smtpUsername": "alertmanager@example.com",
    }
    return {ALERTING: {**base, **fields}}


def tls(**fields: Any) -> dict[str, Any]:
    return {"ai-platform:tls": {"clusterIssuer": {"acmeEmail": "ops@example.com", **fields}}}


def cluster(**fields: Any) -> dict[str, Any]:
    irsa = {
        "oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/X",
        "oidcIssuerUrl": "https://oidc.eks.eu-west-1.amazonaws.com/id/X",
    }
    return {"ai-platform:cluster": {**irsa, **fields}}


def resources(service_name: str, app_name: str, side: str, **amounts: str) -> dict[str, Any]:
    return app(service_name, app_name, resources={side: amounts})


BG = {"strategy": "blue-green", "active": "blue"}
CANARY = {"strategy": "canary", "canaryImage": f"{IMAGE}/cad-ml-platform:1.4.3", "weight": 10}
WHOLE = "must be a whole number"
BOOLEAN = "must be true or false, unquoted"
TEXT = "must be text: quote it"
CPU = "must be CPU in cores or millicores"
MEMORY = "must be memory in bytes with a suffix"
VOLUME = "must be a volume size like 10Gi"
LONG_LABEL = "a" * 60

TYPES = {
    "a boolean written as no": Case(service("docc2context", enabled="no"), "services.docc2context.enabled", BOOLEAN),
    "a boolean in quotes": Case(service("docc2context", enabled="false"), "services.docc2context.enabled", BOOLEAN),
    "spot written as yes": Case(
        app("platform", "platform-v1-api", spot="yes"), "services.platform.apps.platform-v1-api.spot", "YAML 1.2"
    ),
    "a number in quotes": Case(
        app("ai-benchmark", "ai-benchmark-worker", replicas="3"),
        "services.ai-benchmark.apps.ai-benchmark-worker.replicas",
        "must be a whole number, not text",
    ),
    "a number written as a word": Case(
        app("ai-benchmark", "ai-benchmark-worker", replicas="three"),
        "services.ai-benchmark.apps.ai-benchmark-worker.replicas",
        WHOLE,
    ),
    "a float for replicas": Case(
        app("ai-benchmark", "ai-benchmark-worker", replicas=2.5),
        "services.ai-benchmark.apps.ai-benchmark-worker.replicas",
        WHOLE,
    ),
    "a boolean for minReplicas": Case(
        app("docc2context", "docc2context-api", minReplicas=True),
        "services.docc2context.apps.docc2context-api.minReplicas",
        WHOLE,
    ),
    "a weight in quotes": Case(
        app("cad-ml-platform", "cad-ml-platform", delivery={**CANARY, "weight": "10"}),
        "services.cad-ml-platform.apps.cad-ml-platform.delivery.weight",
        "not text",
    ),
    "a float for instances": Case(
        service("ai-benchmark", database={"instances": 1.5}), "services.ai-benchmark.database.instances", WHOLE
    ),
    "a float for the prometheus replicas": Case(
        {MONITORING: {"prometheusReplicas": 1.5}}, "monitoring.prometheusReplicas", WHOLE
    ),
    "a number in quotes for the TTL": Case({"ai-platform:dns": {"ttl": "300"}}, "dns.ttl", "not text"),
    "a number in quotes for the lock days": Case(
        backup(objectLock={"mode": "COMPLIANCE", "days": "30"}), "backup.objectLock.days", "not text"
    ),
    "a status code in quotes": Case(
        app("platform", "platform-v2-api", delivery={**BG, "smokeTest": {"expectedStatus": "200"}}),
        "services.platform.apps.platform-v2-api.delivery.smokeTest.expectedStatus",
        "not text",
    ),
    "an unquoted number as an env value": Case(
        app("docc2context", "docc2context-api", env={"WORKERS": 4}),
        "services.docc2context.apps.docc2context-api.env.WORKERS",
        TEXT,
    ),
    "an unquoted version as an env value": Case(
        app("docc2context", "docc2context-api", env={"SCHEMA_VERSION": 1.1}),
        "services.docc2context.apps.docc2context-api.env.SCHEMA_VERSION",
        "1.10 is the number 1.1",
    ),
    "an unquoted boolean as an env value": Case(
        app("docc2context", "docc2context-api", env={"DEBUG": True}),
        "services.docc2context.apps.docc2context-api.env.DEBUG",
        TEXT,
    ),
    "a number as the SMTP login": Case(alerting(smtpUsername=12345), "alerting.smtpUsername", TEXT),
    "a structure where an image belongs": Case(
        app("docc2context", "docc2context-api", image={"repository": "docc2context", "tag": "1.4.2"}),
        "services.docc2context.apps.docc2context-api.image",
        "must be text",
    ),
    "a list where a group belongs": Case(
        {"ai-platform:rbac": {"operatorsGroup": ["ops"]}}, "rbac.operatorsGroup", "must be text"
    ),
    "text where resources belong": Case(
        app("docc2context", "docc2context-api", resources="500m"),
        "services.docc2context.apps.docc2context-api.resources",
        "must be a map with keys limits, requests",
    ),
    "a list where the apps belong": Case(
        service("docc2context", apps=["docc2context-api"]), "services.docc2context.apps", "must be a map"
    ),
    "text where the services belong": Case({SERVICES: "docc2context"}, "services", "must be a map of service name"),
    "text where the monitoring settings belong": Case(
        {MONITORING: "15d"}, "monitoring", "must be a map with keys alertmanagerReplicas"
    ),
    "text where the cluster belongs": Case(
        {"ai-platform:cluster": "acme/eks-cluster/prod"}, "cluster", "must be a map with keys context"
    ),
    "text where the TLS issuer belongs": Case(
        {"ai-platform:tls": {"clusterIssuer": "letsencrypt"}}, "tls.clusterIssuer", "must be a map with keys acmeEmail"
    ),
    "text where a list of CIDRs belongs": Case(
        {NETWORK: {"apiServerCidrs": "10.100.0.1/32"}}, "networkPolicy.apiServerCidrs", "must be a list"
    ),
    "a map where the tolerations belong": Case({SPOT: {"tolerations": {"key": "spot"}}}, "spot.tolerations", "list"),
    "an add-on switched off with a word": Case(
        {"ai-platform:addons": {"monitoring": "off"}}, "addons.monitoring", BOOLEAN
    ),
    # The CLI refuses these itself: the keys are typed in Pulumi.yaml.
    "protectData written as yes": Case({"ai-platform:protectData": "yes"}, "protectData", "must be of type 'boolean'"),
    "pinImages written as True": Case({"ai-platform:pinImages": "True"}, "pinImages", "must be of type 'boolean'"),
    "an acknowledgement that is not a list": Case(
        {ACK: "protectData"}, "acknowledgeDataLoss", "must be of type 'array'"
    ),
    "a node count in quotes": Case({LOGGING: {"nodes": "3"}}, "logging.nodes", "must be a whole number, not text"),
    "log retention as a duration": Case({LOGGING: {"retentionDays": "30d"}}, "logging.retentionDays", WHOLE),
}

QUANTITIES = {
    "a results volume in gigabytes written with a space": Case(
        app("agent-skeptic-bench", "agent-skeptic-bench", volume={"size": "200 GB"}),
        "services.agent-skeptic-bench.apps.agent-skeptic-bench.volume.size",
        "a volume size like 10Gi",
    ),
    "a Grafana volume in millibytes": Case(
        {MONITORING: {"grafanaStorageSize": "10m"}}, "monitoring.grafanaStorageSize", "'m' is milli"
    ),
    "memory in millibytes": Case(
        resources("cad-ml-platform", "cad-ml-platform", "limits", memory="4096m"),
        "services.cad-ml-platform.apps.cad-ml-platform.resources.limits.memory",
        "'m' is milli",
    ),
    "a memory request in millibytes": Case(
        resources("docc2context", "docc2context-api", "requests", memory="512m"),
        "services.docc2context.apps.docc2context-api.resources.requests.memory",
        "'m' is milli",
    ),
    "CPU with a binary suffix": Case(
        resources("docc2context", "docc2context-api", "requests", cpu="1Gi"),
        "services.docc2context.apps.docc2context-api.resources.requests.cpu",
        "Gi is a byte suffix",
    ),
    "a CPU limit with a binary suffix": Case(
        resources("docc2context", "docc2context-api", "limits", cpu="500Mi"),
        "services.docc2context.apps.docc2context-api.resources.limits.cpu",
        "Mi is a byte suffix",
    ),
    "CPU with a decimal multiplier": Case(
        resources("docc2context", "docc2context-api", "limits", cpu="2k"),
        "services.docc2context.apps.docc2context-api.resources.limits.cpu",
        "powers of ten",
    ),
    "zero memory": Case(
        resources("docc2context", "docc2context-api", "limits", memory="0"),
        "services.docc2context.apps.docc2context-api.resources.limits.memory",
        "from 16Mi to 1Ti",
    ),
    "zero CPU": Case(
        resources("docc2context", "docc2context-api", "requests", cpu="0"),
        "services.docc2context.apps.docc2context-api.resources.requests.cpu",
        "from 1m to 192",
    ),
    "an absurd memory limit": Case(
        resources("docc2context", "docc2context-api", "limits", memory="10Ti"),
        "services.docc2context.apps.docc2context-api.resources.limits.memory",
        "from 16Mi to 1Ti",
    ),
    "an absurd CPU limit": Case(
        resources("docc2context", "docc2context-api", "limits", cpu="1000"),
        "services.docc2context.apps.docc2context-api.resources.limits.cpu",
        "from 1m to 192",
    ),
    "a quantity that is not a quantity": Case(
        resources("cad-ml-platform", "cad-ml-platform", "limits", memory="4 gigs"),
        "services.cad-ml-platform.apps.cad-ml-platform.resources.limits.memory",
        MEMORY,
    ),
    "a volume in millibytes": Case(
        service("ai-benchmark", database={"storageSize": "500m"}), "services.ai-benchmark.database.storageSize", "milli"
    ),
    "a zero volume": Case(
        service("ai-benchmark", database={"storageSize": "0"}),
        "services.ai-benchmark.database.storageSize",
        "from 1Gi to 16Ti",
    ),
    "a volume larger than EBS allows": Case(
        service("ai-benchmark", database={"storageSize": "100Ti"}),
        "services.ai-benchmark.database.storageSize",
        "from 1Gi to 16Ti",
    ),
    "a cache volume in bytes": Case(
        service("docc2context", cache={"storageSize": "512"}), "services.docc2context.cache.storageSize", VOLUME
    ),
    "a Prometheus volume of 64 bytes": Case(
        {MONITORING: {"prometheusStorageSize": "64"}}, "monitoring.prometheusStorageSize", "from 1Gi"
    ),
    "an Alertmanager volume in millibytes": Case(
        {MONITORING: {"alertmanagerStorageSize": "100m"}}, "monitoring.alertmanagerStorageSize", "milli"
    ),
    "a quota's CPU with a binary suffix": Case(
        service("docc2context", quota={"requestsCpu": "8Gi"}), "services.docc2context.quota.requestsCpu", "byte suffix"
    ),
    "a quota's memory in millibytes": Case(
        service("docc2context", quota={"limitsMemory": "32m"}), "services.docc2context.quota.limitsMemory", "milli"
    ),
    "a memory request above its limit": Case(
        app("docc2context", "docc2context-api", resources={"requests": {"memory": "4Gi"}, "limits": {"memory": "2Gi"}}),
        "services.docc2context.apps.docc2context-api.resources.requests.memory",
        "must be <= the limit 2Gi, got 4Gi",
    ),
    "a CPU request above its limit": Case(
        resources("docc2context", "docc2context-api", "requests", cpu="4"),
        "services.docc2context.apps.docc2context-api.resources.requests.cpu",
        "must be <= the limit 2, got 4",
    ),
    "a retention size the volume cannot hold": Case(
        {MONITORING: {"retentionSize": "60GB", "prometheusStorageSize": "64Gi"}},
        "monitoring.retentionSize",
        "must be at most 85 % of prometheusStorageSize",
    ),
    "a retention of zero days": Case({MONITORING: {"retention": "0d"}}, "monitoring.retention", "a duration like 15d"),
    "a retention size in binary units": Case(
        {MONITORING: {"retentionSize": "50Gi"}}, "monitoring.retentionSize", "units MB, GB, TB"
    ),
    "a cache volume smaller than its append-only file needs": Case(
        service("docc2context", cache={"storageSize": "1Gi"}),
        "services.docc2context.cache.storageSize",
        "twice maxmemory",
    ),
    "database volumes larger than the namespace's quota": Case(
        service("cad-ml-platform", database={"storageSize": "200Gi"}),
        "services.cad-ml-platform.quota.requestsStorage",
        "must be at least 810Gi",
    ),
    "a storage quota below the database's volumes": Case(
        service("ai-benchmark", quota={"requestsStorage": "100Gi"}),
        "services.ai-benchmark.quota.requestsStorage",
        "point-in-time drill's scratch instance",
    ),
    "Elasticsearch memory below a 1 GiB heap": Case(
        {LOGGING: {"memory": "1Gi"}}, "logging.memory", "from 2Gi to 48Gi (half of it is the JVM heap"
    ),
    "Elasticsearch memory beyond compressed pointers": Case(
        {LOGGING: {"memory": "64Gi"}}, "logging.memory", "at most 24 GiB keeps compressed object pointers"
    ),
    "Elasticsearch memory in millibytes": Case({LOGGING: {"memory": "4096m"}}, "logging.memory", "'m' is milli"),
    "Elasticsearch CPU with a binary suffix": Case({LOGGING: {"cpu": "2Gi"}}, "logging.cpu", CPU),
    "an Elasticsearch volume without a unit": Case({LOGGING: {"storageSize": "100"}}, "logging.storageSize", VOLUME),
}

CONSISTENCY = {
    "CORS origins for an app that reads none": Case(
        app("docc2context", "docc2context-api", corsOrigins=["https://app.example.com"]),
        "services.docc2context.apps.docc2context-api.corsOrigins",
        "docc2context-api reads no allowed origins",
    ),
    "CORS origins set as plain env": Case(
        app("agent-skeptic-bench", "agent-skeptic-bench", env={"CORS_ORIGINS": "*"}),
        "services.agent-skeptic-bench.apps.agent-skeptic-bench.env.CORS_ORIGINS",
        "set corsOrigins instead",
    ),
    "a volume for an app that has none": Case(
        app("cad-ml-platform", "cad-ml-platform", volume={"size": "10Gi"}),
        "services.cad-ml-platform.apps.cad-ml-platform.volume",
        "cad-ml-platform has no volume",
    ),
    "results smaller than the manual's minimum": Case(
        app("agent-skeptic-bench", "agent-skeptic-bench", volume={"size": "20Gi", "storageClass": "efs-sc"}),
        "services.agent-skeptic-bench.apps.agent-skeptic-bench.volume.size",
        "must be at least 50Gi",
    ),
    "scratch volumes at the HPA's peak above the storage quota": Case(
        app("docc2context", "docc2context-api", volume={"size": "100Gi"}),
        "services.docc2context.quota.requestsStorage",
        "the apps' volumes",
    ),
    "the URL of a called app set by hand": Case(
        app("platform", "platform-v1-api", env={"PLATFORM_V2_URL": "http://elsewhere:8000"}),
        "services.platform.apps.platform-v1-api.env",
        "PLATFORM_V2_URL are the URLs of the apps it calls",
    ),
    "a CPU quota below the service's peak": Case(
        service("ai-benchmark", quota={"requestsCpu": "1"}),
        "services.ai-benchmark.quota.requestsCpu",
        "must be at least",
    ),
    "a memory quota below the service's peak": Case(
        service("ai-benchmark", quota={"requestsMemory": "1Gi"}),
        "services.ai-benchmark.quota.requestsMemory",
        "every app at its maximum plus a rolling-update pod",
    ),
    "a CPU limit quota below the service's peak": Case(
        service("cad-ml-platform", quota={"limitsCpu": "2"}), "services.cad-ml-platform.quota.limitsCpu", "at least"
    ),
    "a memory limit quota below the service's peak": Case(
        service("platform", quota={"limitsMemory": "2Gi"}), "services.platform.quota.limitsMemory", "at least"
    ),
    "a pod quota below the service's peak": Case(
        service("agent-skeptic-bench", quota={"pods": 5}), "services.agent-skeptic-bench.quota.pods", "at least"
    ),
    "a quota whose requests exceed its limits": Case(
        service("docc2context", quota={"requestsCpu": "200", "limitsCpu": "100"}),
        "services.docc2context.quota.requestsCpu",
        "must be <= limitsCpu",
    ),
    "a claim quota below the volumes": Case(
        service("ai-benchmark", quota={"persistentVolumeClaims": 2}),
        "services.ai-benchmark.quota.persistentVolumeClaims",
        "must be at least 5",
    ),
    "idle replicas above the HPA maximum": Case(
        app("platform", "platform-v2-api", delivery={**BG, "idleReplicas": 20}),
        "services.platform.apps.platform-v2-api.delivery.idleReplicas",
        "must be at most what the active colour may run (15)",
    ),
    "a canary weight on a rolling app": Case(
        app("docc2context", "docc2context-api", delivery={"weight": 10}),
        "services.docc2context.apps.docc2context-api.delivery.weight",
        "only applies to strategy canary, not rolling",
    ),
    "a canary image on a blue-green app": Case(
        app("platform", "platform-v2-api", delivery={**BG, "canaryImage": f"{IMAGE}/platform-v2:1.4.3"}),
        "services.platform.apps.platform-v2-api.delivery.canaryImage",
        "only applies to strategy canary, not blue-green",
    ),
    "canary replicas on a rolling app": Case(
        app("docc2context", "docc2context-api", delivery={"strategy": "rolling", "canaryReplicas": 1}),
        "services.docc2context.apps.docc2context-api.delivery.canaryReplicas",
        "only applies to strategy canary",
    ),
    "colour images on a canary": Case(
        app("cad-ml-platform", "cad-ml-platform", delivery={**CANARY, "images": {"blue": f"{IMAGE}/x:1.0.0"}}),
        "services.cad-ml-platform.apps.cad-ml-platform.delivery.images",
        "only applies to strategy blue-green, not canary",
    ),
    "blue-green on a queue worker": Case(
        app("ai-benchmark", "ai-benchmark-worker", delivery=BG),
        "services.ai-benchmark.apps.ai-benchmark-worker.delivery.strategy",
        "must be rolling",
    ),
    "a canary of a queue worker": Case(
        app("ai-benchmark", "ai-benchmark-worker", delivery={**CANARY, "canaryImage": f"{IMAGE}/ai-benchmark:1.4.3"}),
        "services.ai-benchmark.apps.ai-benchmark-worker.delivery.strategy",
        "serves none",
    ),
    "a canary of an app that is not public": Case(
        app("platform", "platform-v1-api", delivery={**CANARY, "canaryImage": f"{IMAGE}/platform-v1:1.4.3"}),
        "services.platform.apps.platform-v1-api.delivery.strategy",
        "canary splits public traffic",
    ),
    "canary replicas above the stable maximum": Case(
        app("cad-ml-platform", "cad-ml-platform", delivery={**CANARY, "canaryReplicas": 20}),
        "services.cad-ml-platform.apps.cad-ml-platform.delivery.canaryReplicas",
        "must be at most the stable app's maximum (8)",
    ),
    "a canary with traffic but no replicas": Case(
        app("cad-ml-platform", "cad-ml-platform", delivery={**CANARY, "canaryReplicas": 0}),
        "services.cad-ml-platform.apps.cad-ml-platform.delivery.canaryReplicas",
        "must be >= 1 while weight",
    ),
    "a canary weight above 100": Case(
        app("cad-ml-platform", "cad-ml-platform", delivery={**CANARY, "weight": 150}),
        "services.cad-ml-platform.apps.cad-ml-platform.delivery.weight",
        "must be less than or equal to 100",
    ),
    "blue-green without the active colour": Case(
        app("ai-benchmark", "ai-benchmark-api", delivery={"strategy": "blue-green"}),
        "services.ai-benchmark.apps.ai-benchmark-api.delivery.active",
        "is required for strategy blue-green",
    ),
    "an active colour that is not a colour": Case(
        app("platform", "platform-v2-api", delivery={**BG, "active": "red"}),
        "services.platform.apps.platform-v2-api.delivery.active",
        "must be 'blue' or 'green'",
    ),
    "negative idle replicas": Case(
        app("platform", "platform-v2-api", delivery={**BG, "idleReplicas": -1}),
        "services.platform.apps.platform-v2-api.delivery.idleReplicas",
        "must be greater than or equal to 0",
    ),
    "an unknown delivery strategy": Case(
        app("ai-benchmark", "ai-benchmark-api", delivery={"strategy": "shadow"}),
        "services.ai-benchmark.apps.ai-benchmark-api.delivery.strategy",
        "must be 'rolling', 'blue-green' or 'canary'",
    ),
    "minReplicas above maxReplicas": Case(
        app("platform", "platform-v2-api", minReplicas=20),
        "services.platform.apps.platform-v2-api.minReplicas",
        "must be <= maxReplicas (15), got 20",
    ),
    "replicas on an autoscaled app": Case(
        app("cad-ml-platform", "cad-ml-platform", replicas=3),
        "services.cad-ml-platform.apps.cad-ml-platform.replicas",
        "this app is autoscaled",
    ),
    "minReplicas on a fixed-size app": Case(
        app("ai-benchmark", "ai-benchmark-worker", minReplicas=2),
        "services.ai-benchmark.apps.ai-benchmark-worker",
        "this app is not autoscaled",
    ),
    "replicas below one": Case(
        app("ai-benchmark", "ai-benchmark-worker", replicas=0),
        "services.ai-benchmark.apps.ai-benchmark-worker.replicas",
        "must be greater than or equal to 1",
    ),
    "a database for a service without one": Case(
        service("docc2context", database={"instances": 1}), "services.docc2context.database", "has no Postgres"
    ),
    "a cache for a service without one": Case(
        service("platform", cache={"replicas": 1}), "services.platform.cache", "has no Redis"
    ),
    "no alert routing while monitoring runs": Case({ALERTING: {}}, "alerting", "is required while addons.monitoring"),
    "the backup replica in the bucket's own region": Case(
        backup(replication={"region": "eu-west-1"}), "backup.replication.region", "must be another region"
    ),
    "an object lock shorter than the backup window": Case(
        backup(objectLock={"mode": "COMPLIANCE", "days": 7}), "backup.objectLock.days", "must be at least 30"
    ),
    "an unknown service": Case({SERVICES: {"chatbot": {}}}, "services.chatbot", "unknown service; allowed are"),
    "an unknown app": Case(
        app("platform", "platform-v4-api", replicas=1), "services.platform.apps.platform-v4-api", "unknown app"
    ),
    "a misspelt key": Case(
        app("docc2context", "docc2context-api", replica=2),
        "services.docc2context.apps.docc2context-api.replica",
        "unknown key; allowed keys are corsOrigins, delivery, env, image",
    ),
    "an unknown top-level key": Case({"ai-platform:domian": "ai.example.com"}, "domian", "unknown key"),
    "an environment that does not match the stack": Case(
        {"ai-platform:environment": "staging"}, "environment", "must match the stack 'prod'"
    ),
    "two ways into the cluster": Case(
        {"ai-platform:cluster": {"context": "eks", "stack": "acme/eks-cluster/prod"}}, "cluster", "exactly one of"
    ),
    "a context without the IRSA provider": Case(
        {"ai-platform:cluster": {"context": "eks-prod"}}, "cluster", "also set oidcProviderArn and oidcIssuerUrl"
    ),
    "two Elasticsearch nodes": Case(
        {LOGGING: {"nodes": 2}}, "logging.nodes", "must be 1 or at least 3 (two master-eligible nodes cannot lose one"
    ),
    "log retention of no days": Case({LOGGING: {"retentionDays": 0}}, "logging.retentionDays", "greater than or equal"),
    "one Elasticsearch node in prod": Case(
        {LOGGING: {"nodes": 1}}, "logging.nodes", "must be at least 3 in prod (a replica of every shard"
    ),
    "a week of snapshots in prod": Case(
        {LOGGING: {"snapshotRetentionDays": 7}}, "logging.snapshotRetentionDays", "must be at least 30 in prod"
    ),
    "a misspelt log stack key": Case({LOGGING: {"node": 3}}, "logging.node", "unknown key"),
}

NAMES = {
    "a volume's StorageClass in capitals": Case(
        app("agent-skeptic-bench", "agent-skeptic-bench", volume={"storageClass": "EFS"}),
        "services.agent-skeptic-bench.apps.agent-skeptic-bench.volume.storageClass",
        "StorageClass",
    ),
    "a storage class in capitals": Case(
        service("ai-benchmark", database={"storageClass": "GP3"}),
        "services.ai-benchmark.database.storageClass",
        "a StorageClass name",
    ),
    "a storage class with a space": Case(
        service("docc2context", cache={"storageClass": "gp3 fast"}),
        "services.docc2context.cache.storageClass",
        "a StorageClass name",
    ),
    "a storage class longer than 253": Case(
        {MONITORING: {"storageClass": "a" * 254}}, "monitoring.storageClass", "at most 253"
    ),
    "a node selector key with a space": Case(
        {SPOT: {"nodeSelector": {"capacity type": "SPOT"}}},
        'spot.nodeSelector["capacity type"]',
        "the key must be a Kubernetes label key",
    ),
    "a node selector key longer than 63": Case(
        {SPOT: {"nodeSelector": {f"example.com/{LONG_LABEL}1234": "x"}}},
        f'spot.nodeSelector["example.com/{LONG_LABEL}1234"]',
        "label key",
    ),
    "a node selector value longer than 63": Case(
        {SPOT: {"nodeSelector": {"eks.amazonaws.com/capacityType": LONG_LABEL + "abcd"}}},
        'spot.nodeSelector["eks.amazonaws.com/capacityType"]',
        "a Kubernetes label value",
    ),
    "a node selector value ending in a dash": Case(
        {SPOT: {"nodeSelector": {"pool": "spot-"}}}, "spot.nodeSelector.pool", "a Kubernetes label value"
    ),
    "a toleration operator the API does not know": Case(
        {SPOT: {"tolerations": [{"key": "spot", "operator": "Equals", "value": "true"}]}},
        "spot.tolerations[0].operator",
        "must be 'Exists' or 'Equal'",
    ),
    "a toleration effect the API does not know": Case(
        {SPOT: {"tolerations": [{"key": "spot", "effect": "NoScheduling"}]}},
        "spot.tolerations[0].effect",
        "'NoSchedule', 'PreferNoSchedule' or 'NoExecute'",
    ),
    "a toleration that exists with a value": Case(
        {SPOT: {"tolerations": [{"key": "spot", "operator": "Exists", "value": "true"}]}},
        "spot.tolerations[0]",
        "with operator Exists, give no value",
    ),
    "a toleration without a key that is not Exists": Case(
        {SPOT: {"tolerations": [{"value": "true"}]}}, "spot.tolerations[0]", "without a key, the operator must be"
    ),
    "a bucket name with dots": Case(
        {BACKUP: {"bucketName": "acme.ai-platform.backups"}}, "backup.bucketName", "without dots"
    ),
    "a bucket name in IP form": Case({BACKUP: {"bucketName": "192.168.5.4"}}, "backup.bucketName", "not an IP address"),
    "a bucket name in capitals": Case({BACKUP: {"bucketName": "Acme-Backups"}}, "backup.bucketName", "lower-case"),
    "a bucket name longer than 63": Case({BACKUP: {"bucketName": "b" * 64}}, "backup.bucketName", "3 to 63"),
    "a bucket name with a reserved prefix": Case(
        {BACKUP: {"bucketName": "xn--backups"}}, "backup.bucketName", "reserved prefixes"
    ),
    "a bucket name with a reserved suffix": Case(
        {BACKUP: {"bucketName": "acme-backups-s3alias"}}, "backup.bucketName", "reserved prefixes"
    ),
    "a bucket name whose log bucket is too long": Case(
        {BACKUP: {"bucketName": "b" * 59}}, "backup.bucketName", "the access-log bucket"
    ),
    "a bucket name whose replica is too long": Case(
        backup(bucketName="b" * 56, replication={"region": "eu-central-1"}),
        "backup.bucketName",
        "the replica bucket",
    ),
    "a replication region that does not exist": Case(
        backup(replication={"region": "eu-westt-1"}), "backup.replication.region", "an AWS region the AWS provider"
    ),
    "a region that does not exist": Case({"aws:region": "mars-north-1"}, "aws:region", "an AWS region"),
    "a gateway class with a space": Case(
        {"ai-platform:gateway": {"className": "Envoy Gateway"}}, "gateway.className", "a lower-case DNS label"
    ),
    "a gateway namespace that is not a name": Case(
        {"ai-platform:gateway": {"namespace": "Public Gateway"}}, "gateway.namespace", "a lower-case DNS label"
    ),
    "a gateway namespace a service owns": Case(
        {"ai-platform:gateway": {"namespace": "docc2context"}}, "gateway.namespace", "a namespace of its own"
    ),
    "a gateway in a system namespace": Case(
        {"ai-platform:gateway": {"namespace": "kube-system"}}, "gateway.namespace", "a namespace of its own"
    ),
    "an issuer name with an underscore": Case(tls(name="lets_encrypt"), "tls.clusterIssuer.name", "DNS label"),
    "an env name that starts with a digit": Case(
        app("docc2context", "docc2context-api", env={"1WORKERS": "4"}),
        "services.docc2context.apps.docc2context-api.env.1WORKERS",
        "the key must be an environment variable name",
    ),
    "a domain whose public hosts are too long": Case(
        {"ai-platform:domain": ".".join(["d" * 60] * 4) + ".com"}, "domain", "its HTTPS listener's name"
    ),
    "a domain that is not a DNS name": Case({"ai-platform:domain": "not a domain!"}, "domain", "a lower-case DNS"),
    "a stack name too long for the IAM roles": Case(
        {},
        "stack 'staging-eu-central-1-blue'",
        "IAM allows 64",
        stack="staging-eu-central-1-blue",
        stack_file="staging",
    ),
    "a cluster name with a space": Case(
        {"ai-platform:cluster": {"stack": "acme/eks-cluster/prod", "name": "eks prod"}}, "cluster.name", "a cluster"
    ),
    "a cluster stack that is not a stack reference": Case(
        {"ai-platform:cluster": {"stack": "eks-cluster"}}, "cluster.stack", "org/project/stack"
    ),
    "a hosted zone id that is not one": Case({"ai-platform:dns": {"zoneId": "zone1"}}, "dns.zoneId", "hosted zone id"),
    "an operator role that is not a role ARN": Case(
        backup(operatorRoleArn="arn:aws:iam::123:role/x"), "backup.operatorRoleArn", "an IAM role ARN"
    ),
    "an Elasticsearch storage class in capitals": Case(
        {LOGGING: {"storageClass": "GP3"}}, "logging.storageClass", "a StorageClass name"
    ),
    "the Gateway in the log stack's namespace": Case(
        {"ai-platform:gateway": {"namespace": "logging"}}, "gateway.namespace", "must be a namespace of its own"
    ),
}

ADDRESSES = {
    "a CORS origin with a path": Case(
        app("agent-skeptic-bench", "agent-skeptic-bench", corsOrigins=["https://app.example.com/path"]),
        "services.agent-skeptic-bench.apps.agent-skeptic-bench.corsOrigins[0]",
        "an HTTPS origin",
    ),
    "a CORS origin over plain HTTP": Case(
        app("agent-skeptic-bench", "agent-skeptic-bench", corsOrigins=["http://app.example.com"]),
        "services.agent-skeptic-bench.apps.agent-skeptic-bench.corsOrigins[0]",
        "an HTTPS origin",
    ),
    "a runbook URL with a space": Case(
        {MONITORING: {"runbookBaseUrl": "https://runbooks example.com"}}, "monitoring.runbookBaseUrl", "no spaces"
    ),
    "a runbook URL with no host": Case(
        {MONITORING: {"runbookBaseUrl": "https://"}}, "monitoring.runbookBaseUrl", "host"
    ),
    "a runbook URL over plain HTTP": Case(
        {MONITORING: {"runbookBaseUrl": "http://runbooks.example.com"}}, "monitoring.runbookBaseUrl", "https://"
    ),
    "a runbook URL with a query": Case(
        {MONITORING: {"runbookBaseUrl": "https://runbooks.example.com/?v=1"}},
        "monitoring.runbookBaseUrl",
        "no ?query",
    ),
    "a webhook port out of range": Case(
        alerting(webhookUrl="https://hooks.example.com:99999/x"), "alerting.webhookUrl", "port from 1 to 65535"
    ),
    "a webhook URL with no host": Case(alerting(webhookUrl="https://:443/x"), "alerting.webhookUrl", "with a host"),
    "a webhook URL with a password in it": Case(
        alerting(webhookUrl="https://bot:hunter2-password@hooks.example.com/x"),
        "alerting.webhookUrl",
        "without a user or password",
        secrets=("hunter2-password",),
    ),
    "a smarthost without a port": Case(
        alerting(smtpSmarthost="smtp.example.com"), "alerting.smtpSmarthost", "host:port"
    ),
    "a smarthost on port 0": Case(alerting(smtpSmarthost="smtp.example.com:0"), "alerting.smtpSmarthost", "1 to 65535"),
    "a smarthost port out of range": Case(
        alerting(smtpSmarthost="smtp.example.com:70000"), "alerting.smtpSmarthost", "1 to 65535"
    ),
    "a smarthost without a host": Case(alerting(smtpSmarthost=":587"), "alerting.smtpSmarthost", "host:port"),
    "the staging ACME directory in prod": Case(
        tls(acmeServer="https://acme-staging-v02.api.letsencrypt.org/directory"),
        "tls.clusterIssuer.acmeServer",
        "must be a production ACME directory in prod",
    ),
    "a test CA's ACME directory in prod": Case(
        tls(acmeServer="https://dv.acme-v02.test-api.pki.goog/directory"),
        "tls.clusterIssuer.acmeServer",
        "no browser trusts",
    ),
    "an ACME directory with no host": Case(tls(acmeServer="https://"), "tls.clusterIssuer.acmeServer", "with a host"),
    "an OIDC issuer with a space": Case(
        cluster(context="eks-prod", oidcIssuerUrl="https://oidc eks"), "cluster.oidcIssuerUrl", "no spaces"
    ),
    "an e-mail address without a domain": Case(alerting(emailTo="ops"), "alerting.emailTo", "an e-mail address"),
    "a Slack channel without #": Case(alerting(slackChannel="alerts"), "alerting.slackChannel", "like #alerts"),
    "an API server port out of range": Case(
        {NETWORK: {"apiServerPort": 70000}}, "networkPolicy.apiServerPort", "less than or equal to 65535"
    ),
    "a DNS TTL of five seconds": Case({"ai-platform:dns": {"ttl": 5}}, "dns.ttl", "greater than or equal to 30"),
}

ISOLATION = {
    "every IPv4 address as AWS endpoints": Case(
        {NETWORK: {"awsEndpointCidrs": ["0.0.0.0/0"]}}, "networkPolicy.awsEndpointCidrs[0]", "not a catch-all"
    ),
    "every IPv6 address as AWS endpoints": Case(
        {NETWORK: {"awsEndpointCidrs": ["10.20.0.0/24", "::/0"]}}, "networkPolicy.awsEndpointCidrs[1]", "catch-all"
    ),
    "every address as the API server": Case(
        {NETWORK: {"apiServerCidrs": ["0.0.0.0/0"]}}, "networkPolicy.apiServerCidrs[0]", "not a catch-all"
    ),
    "a whole private range as the API server": Case(
        {NETWORK: {"apiServerCidrs": ["10.0.0.0/8"]}}, "networkPolicy.apiServerCidrs[0]", "/16 or narrower for IPv4"
    ),
    "an IPv6 range wider than a VPC": Case(
        {NETWORK: {"awsEndpointCidrs": ["2001:db8::/32"]}}, "networkPolicy.awsEndpointCidrs[0]", "/56 or narrower"
    ),
    "every IPv4 address written as IPv6": Case(
        {NETWORK: {"awsEndpointCidrs": ["::ffff:0.0.0.0/96"]}}, "networkPolicy.awsEndpointCidrs[0]", "IPv4-mapped"
    ),
    "a bare address as the API server": Case(
        {NETWORK: {"apiServerCidrs": ["10.100.0.1"]}}, "networkPolicy.apiServerCidrs[0]", "a CIDR like 10.0.0.0/16"
    ),
    "one group for reading and deploying": Case(
        {"ai-platform:rbac": {"operatorsGroup": "platform-team", "deployersGroup": "platform-team"}},
        "rbac",
        "must be two groups",
    ),
    "one group for reading and exec into pods": Case(
        {"ai-platform:rbac": {"oncallGroup": "ai-platform-operators"}},
        "rbac",
        "operatorsGroup and oncallGroup must be two groups: 'ai-platform-operators' would hold both the read-only "
        "and the on-call rights",
    ),
    "one group for deploying and on-call": Case(
        {"ai-platform:rbac": {"deployersGroup": "platform-team", "oncallGroup": "platform-team"}},
        "rbac",
        "deployersGroup and oncallGroup must be two groups",
    ),
    "a group with a trailing space": Case(
        {"ai-platform:rbac": {"deployersGroup": "ai-platform-deployers "}}, "rbac.deployersGroup", "no surrounding"
    ),
    "a system group": Case(
        {"ai-platform:rbac": {"operatorsGroup": "system:authenticated"}}, "rbac.operatorsGroup", "not a system: group"
    ),
}

KUBECONFIG = {"apiVersion": "v1", "users": [{"name": "ci", "user": {"token": TOKEN}}]}

SECRETS = {
    "a provider key as a plain env var": Case(
        app("docc2context", "docc2context-api", env={"OPENAI_API_KEY": TOKEN}),
        "services.docc2context.apps.docc2context-api.env.OPENAI_API_KEY",
        "must be a plain setting, not a secret",
    ),
    "a credential in an innocent env var": Case(
        app("docc2context", "docc2context-api", env={"UPSTREAM": "postgres://app:hunter2-password@db:5432/x"}),
        "services.docc2context.apps.docc2context-api.env.UPSTREAM",
        "must be a plain setting, not a secret",
        secrets=("hunter2-password",),
    ),
    "an AWS secret as a plain env var": Case(
        app("cad-ml-platform", "cad-ml-platform", env={"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-K7MDENG"}),
        "services.cad-ml-platform.apps.cad-ml-platform.env.AWS_SECRET_ACCESS_KEY",
        "not a secret",
        secrets=("wJalrXUtnFEMI-K7MDENG",),
    ),
    "a secret the program manages set as env": Case(
        app("cad-ml-platform", "cad-ml-platform", env={"ADMIN_TOKEN": "hunter2-admin-token"}),
        "services.cad-ml-platform.apps.cad-ml-platform.env",
        "ADMIN_TOKEN come from Secrets",
        secrets=("hunter2-admin-token",),
    ),
    "a kubeconfig pasted as a structure": Case(
        {"ai-platform:cluster": {"kubeconfig": Secure(json.dumps(KUBECONFIG)), "name": "eks"}},
        "cluster",
        "also set oidcProviderArn",
    ),
    "a kubeconfig given as a map": Case(
        cluster(kubeconfig=KUBECONFIG, name="eks"), "cluster.kubeconfig", "must be text, got a value that is not shown"
    ),
    "a kubeconfig given as a list": Case(
        cluster(kubeconfig=[KUBECONFIG], name="eks"), "cluster.kubeconfig", "not shown"
    ),
    "a kubeconfig given as a number": Case(
        cluster(kubeconfig=987654321987654321, name="eks"),
        "cluster.kubeconfig",
        "not shown",
        secrets=("987654321987654321",),
    ),
    "a kubeconfig in plain text": Case(
        cluster(kubeconfig=f"users:\n- user:\n    token: {TOKEN}\n", name="eks"),
        "cluster.kubeconfig",
        "must be set with --secret",
    ),
    "a secret value below the services key": Case(
        app("docc2context", "docc2context-api", env={"NOTE": Secure(TOKEN)}, image=Secure(f"Not An Image {TOKEN}")),
        "services",
        "must be set without --secret",
    ),
    "alert routing set as a secret": Case(
        {ALERTING: {**alerting()[ALERTING], "emailTo": Secure("not-an-address")}},
        "alerting",
        "must be set without --secret",
        secrets=("not-an-address",),
    ),
    "a provider key stored in plain text": Case(
        {"ai-platform:openaiApiKey": TOKEN}, "openaiApiKey", "is stored in plain text"
    ),
}

IMAGES = {
    "the release tag latest": Case({"ai-platform:imageTag": "latest"}, "imageTag", "the moving tag latest"),
    "the release tag latest without pinning": Case(
        {"ai-platform:imageTag": "latest"}, "imageTag", "the moving tag latest", stack="staging"
    ),
    "a branch as the release tag with pinning": Case({"ai-platform:imageTag": "main"}, "imageTag", "names a channel"),
    "a minor version as the release tag with pinning": Case(
        {"ai-platform:imageTag": "1.4"}, "imageTag", "a partial version"
    ),
    "a major version as the release tag with pinning": Case(
        {"ai-platform:imageTag": "v2"}, "imageTag", "a partial version"
    ),
    "a channel as an app's image with pinning": Case(
        app("docc2context", "docc2context-api", image=f"{IMAGE}/docc2context:stable"),
        "services.docc2context.apps.docc2context-api.image",
        "names a channel",
    ),
    "latest as an app's image": Case(
        app("docc2context", "docc2context-api", image=f"{IMAGE}/docc2context:latest"),
        "services.docc2context.apps.docc2context-api.image",
        "must not use the moving tag :latest",
        stack="staging",
    ),
    "an app's image without a tag": Case(
        app("agent-skeptic-bench", "agent-skeptic-bench", image="registry.example.com/skeptic"),
        "services.agent-skeptic-bench.apps.agent-skeptic-bench.image",
        "must name a tag or a digest",
    ),
    "an image that is not an image reference": Case(
        app("agent-skeptic-bench", "agent-skeptic-bench", image="Not An Image::"),
        "services.agent-skeptic-bench.apps.agent-skeptic-bench.image",
        "must be an image reference",
    ),
    "latest as a colour's image": Case(
        app("platform", "platform-v2-api", delivery={**BG, "images": {"green": f"{IMAGE}/platform-v2:latest"}}),
        "services.platform.apps.platform-v2-api.delivery.images.green",
        "latest",
    ),
    "a nightly build as a colour's image with pinning": Case(
        app("platform", "platform-v2-api", delivery={**BG, "images": {"blue": f"{IMAGE}/platform-v2:nightly"}}),
        "services.platform.apps.platform-v2-api.delivery.images.blue",
        "names a channel",
    ),
    "a colour's image without a tag": Case(
        app("ai-benchmark", "ai-benchmark-api", delivery={**BG, "images": {"green": "registry.example.com/x"}}),
        "services.ai-benchmark.apps.ai-benchmark-api.delivery.images.green",
        "must name a tag or a digest",
    ),
    "latest as the canary's image": Case(
        app("cad-ml-platform", "cad-ml-platform", delivery={**CANARY, "canaryImage": f"{IMAGE}/cad:latest"}),
        "services.cad-ml-platform.apps.cad-ml-platform.delivery.canaryImage",
        "latest",
    ),
    "a major version as the canary's image with pinning": Case(
        app("cad-ml-platform", "cad-ml-platform", delivery={**CANARY, "canaryImage": f"{IMAGE}/cad:1"}),
        "services.cad-ml-platform.apps.cad-ml-platform.delivery.canaryImage",
        "a partial version",
    ),
}

EVERY_SERVICE = ("ai-benchmark", "agent-skeptic-bench", "docc2context", "cad-ml-platform", "platform")

DATA_LOSS = {
    "protection off in prod": Case(
        {"ai-platform:protectData": False}, "protectData", "acknowledgeDataLoss[0]' protectData"
    ),
    "protection removed in prod": Case({"ai-platform:protectData": None}, "protectData", "after a final backup"),
    **{
        f"{name} disabled in prod": Case(
            service(name, enabled=False),
            f"services.{name}.enabled",
            f"pulumi config set --path 'acknowledgeDataLoss[0]' services.{name}.enabled",
        )
        for name in EVERY_SERVICE
    },
    "the monitoring stack off in prod": Case(
        {"ai-platform:addons": {"monitoring": False}}, "addons.monitoring", "metrics history"
    ),
    "an acknowledgement of something kept": Case(
        {ACK: ["services.docc2context.enabled"]}, "acknowledgeDataLoss", "must list exactly what this stack gives up"
    ),
    "an acknowledgement in staging": Case(
        {ACK: ["protectData"]}, "acknowledgeDataLoss", "gives up (nothing)", stack="staging"
    ),
    "an acknowledgement that covers another change": Case(
        {"ai-platform:protectData": False, ACK: ["protectData"], **service("platform", enabled=False)},
        "services.platform.enabled",
        "acknowledgeDataLoss[1]",
    ),
    "an acknowledgement of an unknown setting": Case(
        {"ai-platform:protectData": False, ACK: ["protectData", "everything"]}, "acknowledgeDataLoss", "'everything'"
    ),
    "an acknowledgement listed twice": Case(
        {"ai-platform:protectData": False, ACK: ["protectData", "protectData"]}, "acknowledgeDataLoss", "once"
    ),
    "log aggregation off in prod": Case(
        {LOGGING: {"enabled": False}}, "logging.enabled", "acknowledgeDataLoss[0]' logging.enabled"
    ),
}

FAMILIES = {
    "types": TYPES,
    "quantities": QUANTITIES,
    "consistency": CONSISTENCY,
    "names": NAMES,
    "addresses": ADDRESSES,
    "isolation": ISOLATION,
    "secrets": SECRETS,
    "images": IMAGES,
    "data loss": DATA_LOSS,
}
CASES = {f"{family}: {name}": case for family, cases in FAMILIES.items() for name, case in cases.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_config_is_refused_before_anything_registers(name):
    case = CASES[name]
    values = load_stack_config(case.stack_file) if case.stack_file else None
    refused = refusal(case.stack, overrides=case.overrides, values=values)
    assert refused.registered == [], "nothing may be registered from bad config"
    if isinstance(refused.error, ConfigError):  # the CLI's own words, before the program runs
        assert case.key in refused.message and case.allowed in refused.message, refused.message
    else:
        path = key(case.key) if not case.key.startswith("stack ") else case.key
        matching = [p for p in refused.error.problems if p.startswith(f"{path}: ")]
        assert matching, f"no problem for {path}: {refused.error.problems}"
        assert any(case.allowed in p for p in matching), matching
    for secret in case.secrets:
        assert secret not in refused.message


def test_the_corpus_covers_every_family_well():
    assert len(CASES) >= 100
    assert all(len(cases) >= 8 for cases in FAMILIES.values()), {f: len(c) for f, c in FAMILIES.items()}


# The render CLI's contract, proven end to end on one case of each family: exit 2, the key, no traceback.
CLI_CASES = [
    next(f"{family}: {name}" for name, case in cases.items() if case.stack == "prod")
    for family, cases in FAMILIES.items()
]


def render(tmp_path, overrides: dict[str, Any]) -> tuple[subprocess.CompletedProcess, object]:
    """`python -m tools.render prod` with each override given as `pulumi config set` would take it: text with
    `--set`, structure with `--json`, a removal with `--unset`."""
    out = tmp_path / "out"
    args = [sys.executable, "-m", "tools.render", "prod", "--out", str(out)]
    for name, value in overrides.items():
        if value is None:
            args += ["--unset", name]
        elif isinstance(value, str):
            args += ["--set", f"{name}={value}"]
        else:
            args += ["--json", f"{name}={json.dumps(value)}"]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120), out


@pytest.mark.parametrize("name", CLI_CASES)
def test_the_render_exits_2_with_the_key_named_and_writes_nothing(tmp_path, name):
    case = CASES[name]
    result, out = render(tmp_path, case.overrides)
    assert result.returncode == 2, result.stdout + result.stderr
    assert case.key in result.stderr and case.allowed in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists(), "nothing may be rendered from bad config"


def test_every_problem_is_reported_at_once(tmp_path):
    overrides = {
        "ai-platform:domain": "x",
        "ai-platform:environment": "staging",
        **app("platform", "platform-v2-api", minReplicas=20),
    }
    result, _ = render(tmp_path, overrides)
    assert result.returncode == 2
    for name in ("ai-platform:domain", "ai-platform:environment", "platform-v2-api.minReplicas"):
        assert name in result.stderr


def test_problems_in_several_keys_and_services_come_together():
    overrides = {
        **backup(bucketName="acme.backups"),
        MONITORING: {"runbookBaseUrl": "https://"},
        SERVICES: {
            "docc2context": {"apps": {"docc2context-api": {"resources": {"limits": {"memory": "512m"}}}}},
            "platform": {"quota": {"pods": 1}},
        },
    }
    problems = refusal("prod", overrides=overrides).error.problems
    for path in (
        "backup.bucketName",
        "monitoring.runbookBaseUrl",
        "services.docc2context.apps.docc2context-api.resources.limits.memory",
        "services.platform.quota.pods",
    ):
        assert any(p.startswith(key(path)) for p in problems), (path, problems)


def test_missing_secrets_are_listed_with_the_command_that_sets_them():
    refused = refusal("prod", fill_missing_secrets=False)
    for name in ("openaiApiKey", "anthropicApiKey", "googleAiApiKey", "primaryAiApiKey", "secondaryAiApiKey"):
        assert f"pulumi config set --secret {name} <value>" in refused.message
    assert isinstance(refused.error, SettingsError) and refused.error.problems == []
    assert refused.registered == []


def test_a_disabled_service_needs_no_secrets():
    overrides = {**service("platform", enabled=False), ACK: ["services.platform.enabled"]}
    message = refusal("prod", overrides=overrides, fill_missing_secrets=False).message
    assert "primaryAiApiKey" not in message and "secondaryAiApiKey" not in message
