"""Prometheus data off the cluster (S3-11: Prometheus RPO 24 h): a Thanos sidecar in each Prometheus pod uploads
every TSDB block (cut each 2 hours) to the backup bucket under its own prefix, encrypted with the bucket's key,
through IRSA (no static key). Used by MonitoringStack; the Prometheus Operator adds the sidecar and stops local
compaction, which uploaded blocks must not undergo.

The object store configuration holds no credential, but the Prometheus Operator reads it from a Secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components import kube
from components.kube import Resources

OBJECT_STORE_KEY = "objstore.yml"
SIDECAR_RESOURCES = Resources({"cpu": "50m", "memory": "128Mi"}, {"cpu": "500m", "memory": "512Mi"})
SIDECAR_HTTP_PORT = 10902
"""The sidecar's metrics (`thanos_objstore_bucket_last_successful_upload_time`)."""


@dataclass(frozen=True)
class MetricsCopy:
    """Where the blocks go and who may put them there."""

    bucket: pulumi.Input[str]
    """S3 bucket."""
    prefix: str
    """Key prefix of the blocks (no trailing `/`), e.g. `daily/prometheus`: the bucket's lifecycle expires them."""
    region: str
    """Region of the bucket."""
    kms_key_arn: pulumi.Input[str]
    """The bucket's key: objects are encrypted with it (SSE-KMS)."""
    role_arn: pulumi.Input[str]
    """IAM role Prometheus' ServiceAccount assumes (IRSA), allowed to write under `prefix`."""
    secret_name: str = "prometheus-object-store"
    """Secret holding the object store configuration."""


def prometheus_service_account(release_name: str) -> str:
    """The ServiceAccount of Prometheus in kube-prometheus-stack release RELEASE_NAME: it assumes the copy's role."""
    return f"{release_name}-prometheus"


def object_store_config(bucket: str, prefix: str, region: str, kms_key_arn: str) -> str:
    """Thanos' object store configuration (YAML): S3 through the AWS SDK's credentials (IRSA), SSE-KMS."""
    config = {
        "type": "S3",
        "prefix": prefix,
        "config": {
            "bucket": bucket,
            "endpoint": f"s3.{region}.amazonaws.com",
            "region": region,
            "aws_sdk_auth": True,
            "sse_config": {"type": "SSE-KMS", "kms_key_id": kms_key_arn},
        },
    }
    return yaml.safe_dump(config, sort_keys=False)


def copy_values(copy: MetricsCopy) -> dict[str, Any]:
    """kube-prometheus-stack's `prometheus` values (beside `prometheusSpec`) that scrape the sidecar and give
    Prometheus' ServiceAccount the role."""
    return {
        "serviceAccount": {"annotations": {kube.IRSA_ANNOTATION: copy.role_arn}},
        "thanosService": {"enabled": True},
        "thanosServiceMonitor": {"enabled": True},
    }


def thanos_spec(copy: MetricsCopy) -> dict[str, Any]:
    """`prometheusSpec.thanos`: the sidecar (the chart's image), its resources and object store."""
    return {
        "resources": kube.resources(SIDECAR_RESOURCES),
        "objectStorageConfig": {"existingSecret": {"name": copy.secret_name, "key": OBJECT_STORE_KEY}},
    }


def object_store_secret(
    resource_name: str,
    copy: MetricsCopy,
    namespace: str,
    labels: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Secret:
    """The Secret the Prometheus Operator hands the sidecar its object store configuration in."""
    config = pulumi.Output.all(copy.bucket, copy.kms_key_arn).apply(
        lambda parts: object_store_config(parts[0], copy.prefix, copy.region, parts[1])
    )
    return k8s.core.v1.Secret(
        resource_name,
        metadata=kube.metadata(copy.secret_name, namespace, labels),
        type="Opaque",
        string_data={OBJECT_STORE_KEY: config},
        opts=opts,
    )
