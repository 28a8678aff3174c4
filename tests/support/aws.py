"""A local S3/IAM/KMS server (moto) and clients of it."""

from __future__ import annotations

MOTO_REGION = "eu-west-1"
MOTO_ADMIN = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def moto_client(endpoint: str, service: str, credentials: dict[str, str] = MOTO_ADMIN):
    """A boto3 client of SERVICE talking to the moto server at ENDPOINT."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=MOTO_REGION, **credentials)
