"""The log stack's `log-operator` user: exactly the manuals' Elasticsearch calls (manual 002, runbooks/002), nothing
that copies, deletes or reconfigures anything (X-16, S2-04, S2-05).

Elasticsearch authorizes each call as an action; a role's cluster privilege is either a named set of action patterns
or an action name, which it matches as a prefix (`ClusterPrivilegeResolver`, `RawActionPatternClusterPrivilege`
in elastic/elasticsearch). NAMED holds the named privileges this test meets, as Elasticsearch defines them.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest

from components.elastic_users import OPERATOR, RESTORED_PREFIX, USERS, roles_yaml

NAMED = {
    "monitor": ("cluster:monitor/*", "indices:admin/template/get", "indices:admin/index_template/get"),
    "monitor_snapshot": (
        "cluster:admin/snapshot/status*",
        "cluster:admin/snapshot/get",
        "cluster:admin/repository/get",
    ),
    "read_slm": ("cluster:admin/slm/get", "cluster:admin/ilm/operation_mode/get"),
    "create_snapshot": (
        "cluster:admin/snapshot/create",
        "cluster:admin/snapshot/status*",
        "cluster:admin/snapshot/get",
    ),
    "manage_slm": ("cluster:admin/slm/*", "cluster:admin/ilm/start", "cluster:admin/ilm/stop"),
    "manage": ("cluster:*", "indices:admin/template/*", "indices:admin/index_template/*"),
    "all": ("cluster:*", "indices:admin/template/*", "indices:admin/index_template/*"),
}
# The runbook map's calls and the cluster action each one is.
RUNBOOK_CALLS = {
    "GET _cluster/health": "cluster:monitor/health",
    "GET _snapshot/backup/_status": "cluster:admin/snapshot/status",
    "GET _snapshot/backup/_all": "cluster:admin/snapshot/get",
    "POST _slm/policy/daily-snapshots/_execute": "cluster:admin/slm/execute",
    "GET _slm/policy/daily-snapshots": "cluster:admin/slm/get",
    "POST _snapshot/backup/<snapshot>/_restore": "cluster:admin/snapshot/restore",
}
# What the user must never do: send the logs elsewhere (a repository), delete or overwrite snapshots, change the
# snapshot policy, cluster settings or users.
REFUSED = (
    "cluster:admin/repository/put",
    "cluster:admin/repository/delete",
    "cluster:admin/snapshot/create",
    "cluster:admin/snapshot/delete",
    "cluster:admin/snapshot/clone",
    "cluster:admin/slm/put",
    "cluster:admin/slm/delete",
    "cluster:admin/settings/update",
    "cluster:admin/xpack/security/user/put",
    "cluster:admin/ilm/put",
)


def _patterns(privilege: str) -> tuple[str, ...]:
    if privilege.startswith("cluster:"):
        return (f"{privilege}*",)
    return NAMED[privilege]


def _allows(cluster: list[str], action: str) -> bool:
    return any(fnmatchcase(action, pattern) for privilege in cluster for pattern in _patterns(privilege))


def test_the_operator_user_may_make_every_call_of_the_runbook_map():
    cluster = OPERATOR.privileges["cluster"]
    assert {call: _allows(cluster, action) for call, action in RUNBOOK_CALLS.items()} == dict.fromkeys(
        RUNBOOK_CALLS, True
    )


@pytest.mark.parametrize("action", REFUSED)
def test_the_operator_user_may_not_copy_delete_or_reconfigure(action):
    assert not _allows(OPERATOR.privileges["cluster"], action)


def test_the_model_of_the_privileges_tells_them_apart():
    """`manage` (what the snapshot jobs hold) would allow a new repository: the check above can fail."""
    assert _allows(["manage"], "cluster:admin/repository/put")
    assert not _allows(["create_snapshot"], "cluster:admin/snapshot/restore")


def test_the_operator_user_reads_only_what_it_restored():
    """`_count` and searches on `restored-*` (the restore renames into it); no live log, no write, no delete."""
    assert OPERATOR.privileges["indices"] == [
        {"names": [f"{RESTORED_PREFIX}*"], "privileges": ["read", "view_index_metadata"]}
    ]


def test_every_user_has_its_own_role_and_secret():
    assert len({u.name for u in USERS}) == len({u.role for u in USERS}) == len({u.secret_name for u in USERS})
    assert OPERATOR.role in roles_yaml()
