"""The runbook map (runbooks/*.yaml, RUNBOOKS.md): every command of the five manuals has a working equivalent on
each stack, run under a Role that grants it, or says why it does not apply (X-16, S4-03, S4-07)."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from services import CATALOG
from tests.support.program import with_active
from tests.support.runbook_checks import problems
from tests.support.runtime import STACKS, program_run
from tests.support.stack_view import StackView
from tools import runbooks
from tools.render import write_render

ES_LOGIN = 'curl -sk -u "log-operator:$(cat /mnt/log-operator/password)" https://localhost:9200/_cluster/health'


@pytest.fixture(scope="module")
def views(rendered) -> dict[str, StackView]:
    return {stack: StackView.of(rendered[stack], stack) for stack in STACKS}


def _entries():
    return [(runbook, entry) for runbook in runbooks.load() for entry in runbook.entries]


def test_runbooks_md_is_generated_from_the_map():
    assert runbooks.DOCUMENT.read_text() == runbooks.document(runbooks.load()), "run `python -m tools.runbooks`"


def test_the_map_covers_every_command_of_the_manuals():
    """Each manual's commands (docs/manuals), occurrence by occurrence and under their headings, are the map's."""
    manuals = runbooks.manuals()
    maps = runbooks.load()
    assert sorted(r.file for r in maps) == sorted(manuals) == sorted(spec.manual for spec in CATALOG.values())
    assert all(CATALOG[r.service].manual == r.file for r in maps), "each map names its manual's service"
    for runbook in maps:
        in_manual = Counter(runbooks.commands(manuals[runbook.file]))
        in_map = Counter((section, e.manual) for e in runbook.entries for section in e.sections)
        assert in_map == in_manual, (
            f"{runbook.file}: unmapped {in_manual - in_map}, not in the manual {in_map - in_manual}"
        )


def test_every_command_that_applies_has_an_equivalent_and_the_rest_say_why():
    entries = _entries()
    assert len(entries) > 200
    for _, entry in entries:
        assert entry.equivalent or entry.not_applicable or entry.gap
    # Everything the manuals need is deployed: the log stack's commands (S2-04) and Prometheus' off-cluster copy
    # (S3-11) have equivalents too.
    assert [entry.manual for _, entry in entries if entry.gap] == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_equivalent_works_on_the_render_under_its_role(views, stack):
    """Objects, namespaces, containers, ports, Secret keys, logins and hosts exist; the Role grants each request."""
    found = {
        f"{runbook.file}: {entry.manual!r}": wrong
        for runbook, entry in _entries()
        if entry.equivalent and (wrong := problems(views[stack], entry))
    }
    assert found == {}


@pytest.mark.parametrize(
    ("command", "role", "expected"),
    [
        ("kubectl get pods -n nowhere", "operator", "no namespace nowhere"),
        (
            "kubectl exec -n ai-benchmark redis-0 -c redis -- sh -c 'redis-cli ping'",
            "operator",
            "may not create pods/exec",
        ),
        (
            "kubectl exec -n ai-benchmark svc/ai-benchmark-db-rw -c postgres -- psql -U app -d benchmark_db",
            "oncall",
            "maps only",
        ),
        (
            "kubectl exec -n ai-benchmark svc/ai-benchmark-db-rw -c postgres -- psql -U postgres -d nope",
            "oncall",
            "the database",
        ),
        ("kubectl exec -n ai-benchmark svc/ai-benchmark-db-rw -c db -- pg_isready", "oncall", "no container db"),
        (
            "kubectl exec -n ai-benchmark redis-0 -c redis -- sh -c 'cat $(cat /etc/redis/conf/password)'",
            "oncall",
            "not a mounted Secret",
        ),
        ("kubectl exec -n ai-benchmark redis-3 -- sh -c true", "oncall", "no Pod"),
        (
            f"kubectl exec -n logging elasticsearch-es-default-0 -c elasticsearch -- sh -c '{ES_LOGIN}'",
            "operator",
            "may not",
        ),
        ("kubectl exec -n logging elasticsearch-es-default-3 -c elasticsearch -- sh -c true", "oncall", "no Pod"),
        # On-call enters only the Elasticsearch pods there (the snapshot jobs hold a stronger user).
        ("kubectl exec -n logging deploy/elasticsearch-exporter -- sh -c true", "oncall", "may not create pods/exec"),
        (
            "kubectl exec -n logging elasticsearch-es-default-0 -c elasticsearch -- "
            "sh -c 'curl -sk -u \"elastic:$(cat /mnt/log-operator/password)\" https://localhost:9200'",
            "oncall",
            "not the Elasticsearch file-realm user",
        ),
        (
            "kubectl exec -n logging elasticsearch-es-default-0 -c elasticsearch -- "
            "sh -c 'curl -sk -u \"log-operator:$(cat /mnt/elastic-internal/password)\" https://localhost:9200'",
            "oncall",
            "not a mounted Secret",
        ),
        ("kubectl describe hpa platform-v2-hpa-blue -n platform-v2-stable", "operator", "no HorizontalPodAutoscaler"),
        ("kubectl scale deployment platform-v1-api -n platform-v1-exp --replicas=3", "oncall", "may not patch"),
        ("kubectl get secrets -n platform-v2-stable", "operator", ""),
        ("kubectl port-forward -n ai-benchmark svc/ai-benchmark-api 8000:9999", "oncall", "no port 9999"),
        ("curl -s https://prometheus:9090/api/v1/query", "public", "not a public host"),
        ("curl -s https://prom.$DOMAIN/api/v1/query", "public", "asks for the monitoring login"),
        ("curl -s https://prom.$DOMAIN/api/v1/query", "monitoring", "asks for the monitoring login"),
        ("open https://grafana.$DOMAIN/dashboards", "oncall", "asks for the monitoring login"),
        ("curl -s https://api.$DOMAIN/metrics", "public", "serves no /metrics"),
        ("curl -s https://api.$DOMAIN/apix/v1", "public", "serves no /apix/v1"),
        ("curl -s https://api.$DOMAIN/docs/x", "public", "serves no /docs/x"),
        ("curl -s http://localhost:8000/health", "oncall", "no port-forward"),
        ("pulumi config set --path services.platform.apps.platform-v4-api.image x", "pulumi", "no such app"),
        ("aws s3 ls s3://$BUCKET/daily/docc2context/dumps/", "backup-operator", "dumps are under"),
        ("aws s3 ls s3://$BUCKET/daily/prometheus-old/", "backup-operator", "dumps are under"),
    ],
)
def test_the_checks_catch_what_would_not_work(views, command, role, expected):
    entry = runbooks.Entry(sections=("test",), manual="-", equivalent=(command,), role=role)
    found = problems(views["prod"], entry)
    assert found, f"{command} passed"
    assert any(expected in p for p in found), found


def test_prometheus_blocks_are_read_only_where_the_stack_uploads_them(views):
    entry = runbooks.Entry(
        sections=("test",), manual="-", equivalent=("aws s3 ls s3://$BUCKET/daily/prometheus/",), role="backup-operator"
    )
    assert "daily/prometheus/" in views["prod"].uploads
    assert problems(views["prod"], entry) == []
    found = problems(dataclasses.replace(views["prod"], uploads=set()), entry)
    assert any("uploads Prometheus' blocks" in p for p in found), found


@pytest.mark.parametrize("active", ["blue", "green"])
def test_the_manuals_v2_names_reach_the_active_colour(tmp_path, active):
    """S4-03 under blue-green: `platform-v2-hpa` and `-l ...,ai-platform/traffic=active` reach the colour the
    Service platform-v2-api routes to, whichever it is; the map's V2 commands all work after a switch."""
    write_render(program_run("prod", overrides=with_active("prod", active)), tmp_path)
    view = StackView.of(tmp_path, "prod")
    namespace = "platform-v2-stable"
    routed = view.objects[(namespace, "Service", "platform-v2-api")]["spec"]["selector"]["app.kubernetes.io/name"]
    assert routed == f"platform-v2-api-{active}"
    hpa = view.objects[(namespace, "HorizontalPodAutoscaler", "platform-v2-hpa")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == routed
    live = [
        name
        for (ns, kind, name), doc in view.objects.items()
        if ns == namespace and kind == "Deployment" and doc["metadata"]["labels"].get("ai-platform/traffic") == "active"
    ]
    assert live == [routed]
    (platform,) = [r for r in runbooks.load() if r.service == "platform"]
    broken = {e.manual: wrong for e in platform.entries if e.equivalent and (wrong := problems(view, e))}
    assert broken == {}


def test_an_entry_must_say_what_it_is():
    raw = {"sections": ["x"], "manual": "kubectl get pods", "equivalent": ["kubectl get pods -n a"], "role": "root"}
    with pytest.raises(ValueError, match="role must be one of"):
        runbooks._entry("m.yaml", raw)
    with pytest.raises(ValueError, match="exactly one of"):
        runbooks._entry("m.yaml", {**raw, "role": "operator", "not_applicable": "because"})
    assert dataclasses.asdict(runbooks._entry("m.yaml", {**raw, "role": "operator"}))["role"] == "operator"
