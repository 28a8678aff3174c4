"""The AWS roles CI assumes through OIDC (.github/iam, X-16): the preview role only reads, the deploy role
writes only what the program owns and never destroys backups, and each role trusts only the GitHub
environments of its stack. Access levels come from AWS's own service authorization reference (policy-sentry's
offline copy), so a write action hidden behind a wildcard is found too."""

from __future__ import annotations

import fnmatch
import json
import re
from functools import cache
from typing import Any

import pytest
import yaml
from policy_sentry.querying.actions import get_action_data, get_actions_for_service

from tests.support.runtime import ROOT, STACKS

IAM = ROOT / ".github" / "iam"
WORKFLOWS = ROOT / ".github" / "workflows"
PLACEHOLDERS = {"AWS_ACCOUNT_ID", "AWS_REGION", "GITHUB_REPOSITORY", "STACK", "BACKUP_BUCKET", "EKS_CLUSTER"}
OIDC_PROVIDER = "arn:aws:iam::${AWS_ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com"
READ_LEVELS = {"Read", "List"}
# Actions whose only resource is "*" (AWS grants them account-wide or not at all).
ACCOUNT_WIDE = {"ecr:GetAuthorizationToken", "kms:ListAliases", "sts:GetCallerIdentity", "kms:CreateKey"}
# Environments whose jobs may assume each role: what the workflows use and the trust policies allow.
TRUSTED = {
    ("staging", "preview"): {"staging-preview"},
    ("prod", "preview"): {"prod-preview", "prod-plan"},
    ("staging", "deploy"): {"staging"},
    ("prod", "deploy"): {"prod"},
}


def _document(name: str) -> dict[str, Any]:
    return json.loads((IAM / name).read_text())


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@cache
def _actions(service: str) -> list[str]:
    return get_actions_for_service(service)


def expand(action: str) -> list[str]:
    """Every IAM action ACTION names (wildcards expanded against AWS's list)."""
    service = action.split(":", 1)[0]
    found = [a for a in _actions(service) if fnmatch.fnmatchcase(a.lower(), action.lower())]
    assert found, f"{action} names no IAM action"
    return found


def access_level(action: str) -> str:
    service, name = action.split(":", 1)
    return get_action_data(service, name)[service][0]["access_level"]


def _allowed(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (action, statement)
        for statement in document["Statement"]
        if statement["Effect"] == "Allow"
        for pattern in _as_list(statement["Action"])
        for action in expand(pattern)
    ]


@pytest.mark.parametrize("path", sorted(IAM.glob("*.json")), ids=lambda p: p.name)
def test_documents_are_iam_json_with_known_placeholders_only(path):
    document = json.loads(path.read_text())
    assert document["Version"] == "2012-10-17"
    assert set(re.findall(r"\$\{(\w+)\}", path.read_text())) <= PLACEHOLDERS
    for statement in document["Statement"]:
        assert "NotAction" not in statement and "NotResource" not in statement and "NotPrincipal" not in statement
        assert "*" not in _as_list(statement["Action"])


def test_the_preview_role_only_reads():
    levels = {action: access_level(action) for action, _ in _allowed(_document("preview-permissions.json"))}
    assert {a: level for a, level in levels.items() if level not in READ_LEVELS} == {}
    assert "s3:GetObject" not in levels  # configuration, never the backups themselves
    assert all(s["Effect"] == "Allow" for s in _document("preview-permissions.json")["Statement"])


def test_the_read_only_check_catches_a_write_behind_a_wildcard():
    assert "Write" in {access_level(a) for a in expand("s3:Put*")}


@pytest.mark.parametrize("name", ["preview-permissions.json", "deploy-permissions.json"])
def test_every_resource_only_for_account_wide_actions_or_creating_with_the_stacks_tags(name):
    wide = {
        action
        for action, statement in _allowed(_document(name))
        if "*" in _as_list(statement["Resource"])
        and "aws:RequestTag/stack" not in json.dumps(statement.get("Condition", {}))
    }
    assert wide <= ACCOUNT_WIDE


def test_the_deploy_role_changes_permissions_only_of_the_stacks_own_roles_and_buckets():
    for action, statement in _allowed(_document("deploy-permissions.json")):
        if access_level(action) == "Permissions management":
            for resource in _as_list(statement["Resource"]):
                assert resource.endswith(
                    (
                        ":role/ai-platform-${STACK}-*",
                        ":::${BACKUP_BUCKET}",
                        ":::${BACKUP_BUCKET}-logs",
                        ":::${BACKUP_BUCKET}-replica",
                    )
                ) or (action.startswith("kms:") and statement.get("Condition")), (action, resource)


def test_the_deploy_role_can_never_destroy_backups():
    document = _document("deploy-permissions.json")
    allowed = {action for action, _ in _allowed(document)}
    denied = {a for s in document["Statement"] if s["Effect"] == "Deny" for a in _as_list(s["Action"])}
    for action in ("s3:DeleteBucket", "kms:ScheduleKeyDeletion", "kms:DisableKey"):
        assert action in denied and action not in allowed
    assert not any(a.startswith(("s3:DeleteObject", "s3:GetObject", "s3:PutObject")) for a in allowed)


# Backups outlive a compromised deploy role. S3 has no condition key for the days of a bucket's
# default retention or a lifecycle rule (AWS lists none for PutBucketObjectLockConfiguration or
# PutLifecycleConfiguration), so "no shorter retention" cannot be a condition: the role may never change the
# object lock at all (an administrator does, see README), and in prod every version is locked in COMPLIANCE
# mode for the whole backup window, so a lifecycle rule that expires early cannot remove a locked version.
RETENTION_GUARDS = {
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:BypassGovernanceRetention",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
}


def _unconditional_denies(document: dict[str, Any]) -> set[str]:
    return {
        action
        for statement in document["Statement"]
        if statement["Effect"] == "Deny" and "Condition" not in statement and "*" in _as_list(statement["Resource"])
        for pattern in _as_list(statement["Action"])
        for action in expand(pattern)
    }


def test_the_deploy_role_can_never_shorten_retention_or_delete_versions():
    document = _document("deploy-permissions.json")
    allowed = {action for action, _ in _allowed(document)}
    assert _unconditional_denies(document) >= RETENTION_GUARDS, "an explicit Deny wins over any bucket policy"
    assert not RETENTION_GUARDS & allowed
    # What it keeps: managing the lifecycle is safe only because the lock cannot be shortened (see above).
    assert "s3:PutLifecycleConfiguration" in allowed


def test_the_deploy_role_cannot_lock_everyone_out_of_the_backup_key():
    (statement,) = [
        s for s in _document("deploy-permissions.json")["Statement"] if s["Sid"] == "NeverLockEveryoneOutOfTheKey"
    ]
    assert statement["Effect"] == "Deny" and set(statement["Action"]) == {"kms:CreateKey", "kms:PutKeyPolicy"}
    assert statement["Condition"] == {"Bool": {"kms:BypassPolicyLockoutSafetyCheck": "true"}}
    for action in statement["Action"]:
        service, name = action.split(":")
        assert "kms:BypassPolicyLockoutSafetyCheck" in get_action_data(service, name)[service][0]["condition_keys"]


def test_the_deploy_role_passes_roles_only_to_s3_replication():
    passing = [s for action, s in _allowed(_document("deploy-permissions.json")) if action == "iam:PassRole"]
    assert passing
    for statement in passing:
        assert statement["Resource"] == "arn:aws:iam::${AWS_ACCOUNT_ID}:role/ai-platform-${STACK}-*"
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "s3.amazonaws.com"}}


@pytest.mark.parametrize(("stack", "role"), sorted(TRUSTED))
def test_each_role_trusts_only_its_stacks_environments_in_this_repository(stack, role):
    statement = _document(f"{stack}-{role}-trust.json")["Statement"]
    assert len(statement) == 1
    trust = statement[0]
    assert trust["Effect"] == "Allow" and trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Principal"] == {"Federated": OIDC_PROVIDER}
    assert set(trust["Condition"]) == {"StringEquals"}  # exact matches only, no StringLike wildcard
    claims = trust["Condition"]["StringEquals"]
    assert claims["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    subjects = set(_as_list(claims["token.actions.githubusercontent.com:sub"]))
    assert subjects == {f"repo:${{GITHUB_REPOSITORY}}:environment:{env}" for env in TRUSTED[stack, role]}


def _jobs_assuming(variable: str) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path in WORKFLOWS.glob("*.yml"):
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            for step in job.get("steps", []):
                if variable in str((step.get("with") or {}).get("role-to-assume", "")):
                    found.append((path.name, name, job))
    return found


@pytest.mark.parametrize(("variable", "role"), [("AWS_PREVIEW_ROLE_ARN", "preview"), ("AWS_DEPLOY_ROLE_ARN", "deploy")])
def test_every_job_assuming_a_role_runs_in_an_environment_its_trust_allows(variable, role):
    jobs = _jobs_assuming(variable)
    assert jobs
    allowed = set().union(*(envs for (_, r), envs in TRUSTED.items() if r == role))
    for workflow, name, job in jobs:
        environment = job.get("environment")
        assert environment, f"{workflow} {name} assumes {variable} outside an environment"
        if "matrix." in environment:
            matrix = job["strategy"]["matrix"]
            stacks = matrix.get("stack") or [item["stack"] for item in matrix["include"]]
            environments = (
                {item["environment"] for item in matrix["include"]}
                if "include" in matrix
                else {environment.replace("${{ matrix.stack }}", s) for s in stacks}
            )
        else:
            environments = {environment}
        assert environments <= allowed, (workflow, name, environments)


def test_deploy_roles_are_assumed_only_on_merge_to_main():
    for workflow, name, _ in _jobs_assuming("AWS_DEPLOY_ROLE_ARN"):
        assert workflow == "up.yml", name


def test_the_stack_list_is_complete():
    assert {stack for stack, _ in TRUSTED} == set(STACKS)
