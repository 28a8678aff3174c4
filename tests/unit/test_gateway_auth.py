"""GatewayBasicAuth: a generated login that Envoy Gateway asks for on the protected routes (X-15, S3-03, X-12)."""

import json

import pulumi
import pytest
from pulumi.runtime import rpc

from components.gateway_auth import GatewayBasicAuth, GatewayBasicAuthArgs, htpasswd_line
from tests.support.crd_schemas import validate_custom_resource
from tests.support.runtime import one, when_registered
from tools.render import manifest

PASSWORD = "generated-login-password"  # the mock RandomPassword result of `login-password`
POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"


def _auth(**overrides) -> GatewayBasicAuth:
    args = dict(namespace="gateway", routes=["prom-example-com", "grafana-example-com"], secret_name="login")
    return GatewayBasicAuth("login", GatewayBasicAuthArgs(**(args | overrides)))


def test_htpasswd_line_is_the_sha_scheme_envoy_reads():
    """`htpasswd -s` gives `{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=` for `password` (base64 of its SHA-1)."""
    assert htpasswd_line("ops", "password") == "ops:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"


@pulumi.runtime.test
def test_policy_requires_the_login_on_every_given_route(mock_runtime, crd_schemas):
    auth = _auth()

    def check(_):
        registration = one(mock_runtime, POLICY, "login-policy")
        policy = manifest(registration)
        assert policy["metadata"] == policy["metadata"] | {"name": "login", "namespace": "gateway"}
        assert [ref["name"] for ref in policy["spec"]["targetRefs"]] == ["prom-example-com", "grafana-example-com"]
        assert {ref["kind"] for ref in policy["spec"]["targetRefs"]} == {"HTTPRoute"}
        assert policy["spec"]["basicAuth"] == {"users": {"group": "", "kind": "Secret", "name": "login"}}
        assert validate_custom_resource(policy, crd_schemas["prod"]) == []
        # Envoy Gateway reads the Secret the policy names: it exists first.
        secret = one(mock_runtime, "kubernetes:core/v1:Secret", "login-secret")
        assert secret.urn in registration.dependencies

    return when_registered(mock_runtime, [auth.policy, auth.secret], check)


@pulumi.runtime.test
def test_the_login_is_generated_and_only_in_its_secret(mock_runtime):
    """X-12: the password is generated, every value of the Secret is a Pulumi secret, and no other input holds it."""
    auth = _auth()

    def check(_):
        secret = one(mock_runtime, "kubernetes:core/v1:Secret", "login-secret")
        assert secret.inputs["metadata"]["name"] == "login"
        data = secret.inputs["stringData"]
        assert rpc.is_rpc_secret(data), "stringData must be a secret"
        assert data["value"] == {"username": "ops", "password": PASSWORD, ".htpasswd": htpasswd_line("ops", PASSWORD)}
        generator = one(mock_runtime, "random:index/randomPassword:RandomPassword", "login-password")
        assert generator.inputs["length"] >= 32 and generator.inputs["special"] is False
        hashed = htpasswd_line("ops", PASSWORD).split("}")[1].strip()
        for registration in mock_runtime.registrations:
            if registration is not secret:
                rendered = json.dumps(registration.inputs)
                assert PASSWORD not in rendered and hashed not in rendered, registration.name

    return pulumi.Output.all(when_registered(mock_runtime, [auth.secret, auth.policy], check), auth.password)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"routes": []}, "at least one route"),
        ({"username": "a:b"}, "contain no ':'"),
        ({"username": ""}, "non-empty"),
    ],
)
def test_bad_arguments_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        GatewayBasicAuthArgs(**({"namespace": "gateway", "routes": ["r"], "secret_name": "login"} | overrides))
