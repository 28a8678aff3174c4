"""PostgresPooler: PgBouncer in transaction mode between a database and its apps, scraped (S0-03)."""

from typing import Any

import pytest

from components.postgres_pooler import PostgresPooler, PostgresPoolerArgs
from tests.support.crd_schemas import validate_custom_resource
from tests.support.runtime import synth
from tools.render import clean


def _args(**overrides: Any) -> PostgresPoolerArgs:
    fields: dict[str, Any] = dict(namespace="bench", cluster="bench-db", server_connections=60, client_connections=900)
    return PostgresPoolerArgs(**(fields | overrides))


def test_pooler_pools_transactions_within_its_connection_limits(crd_schemas):
    built = synth(lambda: PostgresPooler("bench-db-pooler", _args(labels={"app.kubernetes.io/part-of": "bench"})))
    pooler = built.manifests[("Pooler", "bench-db-pooler")]
    assert pooler["metadata"]["namespace"] == "bench"
    spec = pooler["spec"]
    assert (spec["cluster"], spec["type"], spec["instances"]) == ({"name": "bench-db"}, "rw", 2)
    assert spec["pgbouncer"]["poolMode"] == "transaction"
    parameters = spec["pgbouncer"]["parameters"]
    assert (parameters["max_db_connections"], parameters["default_pool_size"]) == ("60", "60")
    assert parameters["max_client_conn"] == "900"
    assert int(parameters["max_prepared_statements"]) > 0
    container = spec["template"]["spec"]["containers"][0]
    assert container["name"] == "pgbouncer" and set(container["resources"]) == {"requests", "limits"}
    assert spec["template"]["metadata"]["labels"] == {"app.kubernetes.io/part-of": "bench"}
    assert validate_custom_resource(clean(pooler), crd_schemas["prod"]) == []
    monitor = built.manifests[("PodMonitor", "bench-db-pooler")]
    assert monitor["spec"]["selector"] == {"matchLabels": {"cnpg.io/poolerName": "bench-db-pooler"}}
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    assert validate_custom_resource(clean(monitor), crd_schemas["prod"]) == []
    assert (built.component.port, built.component.metrics_port) == (5432, 9127)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"instances": 0}, "instances must be >= 1"),
        ({"server_connections": 0}, "server_connections must be >= 1"),
        ({"client_connections": 10}, "would pool nothing"),
    ],
)
def test_bad_sizes_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        _args(**overrides)
