"""Day-2 changes on a deployed stack (X-12, X-14, X-16): nothing stateful can be deleted by a rename in prod,
server-side apply never fights another controller, previews are stable, and volumes grow in place."""

from __future__ import annotations

import json

import pytest

from tests.support.manifests import render_files
from tests.support.program import SERVICES, own_cluster, stack_services
from tests.support.runtime import STACKS, program_run
from tools import diff
from tools.mock_runtime import CLUSTER_STACK_OUTPUTS, load_stack_config, run_program
from tools.render import write_render

PATCH_FORCE = "pulumi.com/patchForce"
# Every setting that guards the backups' data, on the bucket and its log bucket.
BUCKET_GUARDS = {
    "aws:kms/key:Key",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketLogging:BucketLogging",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
}
DATA_NAMESPACES = {"ai-benchmark", "agent-skeptic-bench", "docc2context", "cad-ml-platform", "platform-v2-stable"}


def _stateful(run) -> dict[str, list]:
    """What holds data, by kind: the registrations a rename must never delete."""
    regs = run.registrations
    return {
        "data namespaces": [
            r
            for r in regs
            if r.type == "kubernetes:core/v1:Namespace" and r.inputs["metadata"]["name"] in DATA_NAMESPACES
        ],
        "databases": [r for r in regs if r.type == "kubernetes:postgresql.cnpg.io/v1:Cluster"],
        "redis": [r for r in regs if r.type == "kubernetes:apps/v1:StatefulSet"],
        "bucket and its guards": [r for r in regs if r.type in BUCKET_GUARDS],
        "monitoring": [r for r in regs if r.type == "kubernetes:helm.sh/v3:Release" and r.name == "monitoring-release"],
    }


def _with_object_lock(stack: str):
    backup = {**load_stack_config(stack)["ai-platform:backup"], "objectLock": {"mode": "COMPLIANCE", "days": 30}}
    return program_run(stack, overrides={"ai-platform:backup": backup})


@pytest.mark.parametrize("stack", STACKS)
def test_stateful_resources_are_protected_and_retained_exactly_in_prod(stack):
    run = _with_object_lock(stack)
    prod = stack == "prod"
    for what, found in _stateful(run).items():
        assert found, what
        for r in found:
            assert r.protect is prod, f"{what}: {r.type} {r.name} protect={r.protect}"
            # The StatefulSet keeps its volumes by its own retention policy; everything else is retained.
            if r.type != "kubernetes:apps/v1:StatefulSet":
                assert r.retain_on_delete is prod, f"{what}: {r.type} {r.name} retainOnDelete={r.retain_on_delete}"
    guarded = {r.type for r in _stateful(run)["bucket and its guards"]}
    assert guarded == BUCKET_GUARDS
    # Namespaces without data stay deletable, so retiring a tier needs no force.
    light = [
        r
        for r in run.registrations
        if r.type == "kubernetes:core/v1:Namespace" and r.name == "platform-v1-exp-namespace"
    ]
    assert [r.protect for r in light] == [False]


def test_object_lock_joins_the_deployed_prod_bucket_in_place(tmp_path):
    """X-12: prod's bucket was deployed before its lock; gaining the lock adds one resource and replaces nothing
    (the bucket's force-new `objectLockEnabled` stays untouched, S3 enables the lock on the existing bucket)."""
    configured = load_stack_config("prod")["ai-platform:backup"]
    assert configured["objectLock"] == {"mode": "COMPLIANCE", "days": 30}
    unlocked = {key: value for key, value in configured.items() if key != "objectLock"}
    before, after = tmp_path / "before", tmp_path / "after"
    write_render(run_program("prod", overrides={"ai-platform:backup": unlocked}), before)
    write_render(program_run("prod"), after)
    change = diff.diff_renders(before, after)
    assert not change.replacements and not change.removed and not change.changed
    lock = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
    assert sorted((r.type, r.urn.rpartition("::")[2]) for r in change.added) == [
        (lock, "backups-object-lock"),
        (lock, "backups-replica-object-lock"),
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_each_stacks_backup_key_is_used_only_by_its_backup_roles_and_prod_locks_its_backups(stack):
    """X-09, X-12: per stack, the key policy names exactly the stack's backup roles; prod locks every version
    (COMPLIANCE, the whole backup window) in the bucket and its replica."""
    run = program_run(stack)
    roles = {r.state["arn"]: r.inputs["name"] for r in run.registrations if r.type == "aws:iam/role:Role"}
    keys = [r for r in run.registrations if r.type == "aws:kms/key:Key"]
    for key in keys:
        statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
        admin = statements.pop("AccountAdministersNeverUses")
        assert not {"kms:Decrypt", "kms:Encrypt", "kms:CreateGrant"} & set(admin["Action"])
        users = {arn for s in statements.values() for arn in s["Principal"]["AWS"]}
        assert users and users <= set(roles), "only this stack's own roles use its keys"
        assert all(roles[arn].startswith(f"ai-platform-{stack}-") for arn in users)
    locks = [r for r in run.registrations if r.type.endswith("BucketObjectLockConfiguration")]
    if stack == "prod":
        assert len(keys) == 2 and len(locks) == 2, "the bucket and its replica"
        for lock in locks:
            retention = lock.inputs["rule"]["defaultRetention"]
            assert retention["mode"] == "COMPLIANCE" and retention["days"] >= 30
    else:
        assert len(keys) == 1 and not locks


@pytest.mark.parametrize("stack", STACKS)
def test_redis_volumes_outlive_their_statefulset(stack):
    for r in _stateful(program_run(stack))["redis"]:
        policy = r.inputs["spec"]["persistentVolumeClaimRetentionPolicy"]
        assert policy == {"whenDeleted": "Retain", "whenScaled": "Retain"}


# --- server-side apply ---------------------------------------------------------------------------


def _deployments_and_hpas(run):
    deployments = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r
        for r in run.registrations
        if r.type == "kubernetes:apps/v1:Deployment"
    }
    hpas = [r for r in run.registrations if r.type == "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"]
    return deployments, hpas


def _hpa_targets(run) -> dict[tuple[str, str], dict]:
    _, hpas = _deployments_and_hpas(run)
    return {(h.inputs["metadata"]["namespace"], h.inputs["spec"]["scaleTargetRef"]["name"]): h.inputs for h in hpas}


@pytest.mark.parametrize("stack", STACKS)
def test_the_program_never_writes_replicas_an_hpa_owns(stack):
    run = program_run(stack)
    deployments, hpas = _deployments_and_hpas(run)
    targets = _hpa_targets(run)
    assert targets and set(targets) <= set(deployments)
    for key, deployment in deployments.items():
        assert ("replicas" in deployment.inputs["spec"]) is (key not in targets), key
    for r in [*deployments.values(), *hpas]:
        assert r.inputs["metadata"]["annotations"][PATCH_FORCE] == "true", f"{r.type} {r.name}"


def _idle(replicas: int | None):
    services = stack_services("prod")
    delivery = services["platform"]["apps"]["platform-v2-api"]["delivery"]
    if replicas is None:
        delivery.pop("idleReplicas", None)
    else:
        delivery["idleReplicas"] = replicas
    return program_run("prod", overrides={SERVICES: services})


@pytest.mark.parametrize(
    ("idle", "hpa_bounds", "replicas"),
    [(None, (3, 15), None), (2, (2, 2), None), (0, None, 0)],
)
def test_the_idle_colour_scales_down_and_back_through_config_without_a_conflict(idle, hpa_bounds, replicas):
    """prod's V2 runs blue; green is the idle colour. Unset: green autoscales like blue. A number: green's HPA
    holds it there (the program still never writes `replicas`). Zero: the HPA goes and the Deployment takes 0."""
    run = _idle(idle)
    deployments, _ = _deployments_and_hpas(run)
    green = ("platform-v2-stable", "platform-v2-api-green")
    hpa = _hpa_targets(run).get(green)
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == hpa_bounds if hpa else hpa_bounds is None
    assert deployments[green].inputs["spec"].get("replicas") == replicas
    assert deployments[green].inputs["metadata"]["annotations"][PATCH_FORCE] == "true"
    blue = _hpa_targets(run)[("platform-v2-stable", "platform-v2-api-blue")]
    assert (blue["spec"]["minReplicas"], blue["spec"]["maxReplicas"]) == (3, 15)
    assert blue["metadata"]["name"] == "platform-v2-hpa"
    if hpa:
        assert hpa["metadata"]["name"] == "platform-v2-hpa-preview"


# --- stable previews -----------------------------------------------------------------------------


def _render_files(run, tmp_path, name: str) -> dict[str, bytes]:
    out = tmp_path / name
    write_render(run, out)
    return render_files(out)


def test_new_cluster_credentials_and_registry_tokens_change_nothing(tmp_path, monkeypatch):
    """Two renders of prod with different kubeconfigs (the cluster team's stack and the stack's own secret)
    are identical: the Kubernetes provider is identified by the cluster, and no run-time token reaches any
    provider's config; digests are read without a registry token."""
    committed = CLUSTER_STACK_OUTPUTS["kubeconfig"]
    rotated = "apiVersion: v1\n# rotated credentials\n"
    owned = [program_run("prod", overrides={"ai-platform:cluster": own_cluster(k)}) for k in (committed, rotated)]
    for run in owned:
        assert not [token for token, _, _ in run.invokes if "AuthorizationToken" in token]
        provider = next(r for r in run.registrations if r.type == "pulumi:providers:kubernetes")
        assert provider.inputs["clusterIdentifier"] == "prod-eks"
    assert _render_files(owned[0], tmp_path, "own-committed") == _render_files(owned[1], tmp_path, "own-rotated")

    from_the_cluster_stack = _render_files(program_run("prod"), tmp_path, "stack-committed")
    monkeypatch.setitem(CLUSTER_STACK_OUTPUTS, "kubeconfig", rotated)  # what the cluster team's stack exports
    assert _render_files(run_program("prod"), tmp_path, "stack-rotated") == from_the_cluster_stack


@pytest.mark.parametrize("stack", STACKS)
def test_no_job_expires_by_itself(stack):
    """A Job the cluster deletes on its own would show as a create in every refresh-preview."""
    jobs = [r for r in program_run(stack).registrations if r.type == "kubernetes:batch/v1:Job"]
    assert jobs
    assert not [r.name for r in jobs if "ttlSecondsAfterFinished" in r.inputs["spec"]]


# --- resizes -------------------------------------------------------------------------------------


def _resized(store: str, size: str):
    services = stack_services("staging")
    services["ai-benchmark"][store]["storageSize"] = size
    return run_program("staging", overrides={SERVICES: services})


def _changed(before, after) -> dict[str, set[str]]:
    """URN -> top-level input paths that differ (two levels deep under spec)."""
    old = {r.urn: r for r in before.registrations}
    changes = {}
    for r in after.registrations:
        a, b = (
            json.dumps(old[r.urn].inputs, sort_keys=True, default=str),
            json.dumps(r.inputs, sort_keys=True, default=str),
        )
        if a != b:
            spec_a, spec_b = old[r.urn].inputs.get("spec") or {}, r.inputs.get("spec") or {}
            changes[r.urn] = {f"spec.{k}" for k in set(spec_a) | set(spec_b) if spec_a.get(k) != spec_b.get(k)}
    return changes


def test_a_larger_redis_volume_grows_the_claims_in_place():
    before, after = program_run("staging"), _resized("cache", "4Gi")
    assert set(map(lambda r: r.urn, before.registrations)) == {r.urn for r in after.registrations}
    changed = _changed(before, after)
    statefulset = next(u for u in changed if u.endswith("ai-benchmark-redis-statefulset"))
    # The claim template changed, but the engine ignores it: no replacement of the StatefulSet.
    assert changed[statefulset] == {"spec.volumeClaimTemplates"}
    registered = next(r for r in after.registrations if r.urn == statefulset)
    assert registered.ignore_changes == ["spec.volumeClaimTemplates"]
    claims = [r for r in after.registrations if r.type == "kubernetes:core/v1:PersistentVolumeClaimPatch"]
    resized = [r for r in claims if r.urn in changed]
    assert [r.inputs["metadata"]["name"] for r in resized] == ["data-redis-0"]
    assert resized[0].inputs["spec"] == {"resources": {"requests": {"storage": "4Gi"}}}
    assert resized[0].inputs["metadata"]["annotations"][PATCH_FORCE] == "true"
    assert set(changed) == {statefulset, resized[0].urn}


def test_a_larger_database_volume_is_an_in_place_update():
    before, after = program_run("staging"), _resized("database", "20Gi")
    changed = _changed(before, after)
    # The point-in-time drill's scratch cluster follows the size, so the recovered data fits.
    drill = next(urn for urn in changed if urn.endswith("ConfigMap::ai-benchmark-db-pitr-drill-files"))
    assert (
        '"size": "20Gi"'
        in next(r for r in after.registrations if r.urn == drill).inputs["data"]["scratch-cluster.json"]
    )
    del changed[drill]
    assert len(changed) == 1
    ((urn, paths),) = changed.items()
    assert urn.endswith("Cluster::ai-benchmark-db-cluster") and paths == {"spec.storage"}
    cluster = next(r for r in after.registrations if r.urn == urn)
    assert cluster.inputs["spec"]["storage"]["size"] == "20Gi"
    assert not cluster.replace_on_changes and not cluster.delete_before_replace
