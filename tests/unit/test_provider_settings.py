"""SEALCHAT_AUTH and SEALCHAT_KEY_SERVICE: derived settings and the /api/config shapes."""

from __future__ import annotations

from sealchat.api.keys import auth_config, key_service_config
from sealchat.api.web import content_security_policy
from sealchat.settings import EXTERNAL_TOKEN_ALGORITHMS, Settings

COGNITO = {
    "auth": "cognito",
    "cognito_region": "eu-west-1",
    "cognito_user_pool_id": "eu-west-1_Pool",
    "cognito_client_id": "app-client",
    "cognito_identity_pool_id": "eu-west-1:ids",
}


def test_embedded_is_the_default() -> None:
    settings = Settings(_env_file=None)
    assert settings.uses_embedded_identity and settings.uses_embedded_key_service
    assert auth_config(settings) == {"mode": "embedded"}
    assert key_service_config(settings) == {
        "type": "embedded",
        "url": settings.resolved_kms_url(),
        "key_id": "sealchat-messages",
    }
    assert settings.provider_problem() is None


def test_cognito_derives_issuer_jwks_and_audience() -> None:
    settings = Settings(_env_file=None, **COGNITO)  # type: ignore[arg-type]
    issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool"
    assert not settings.uses_embedded_identity
    assert settings.resolved_issuer() == issuer
    assert settings.resolved_jwks_url() == f"{issuer}/.well-known/jwks.json"
    assert settings.resolved_token_audience() == "app-client"
    assert settings.resolved_kms_audience() == "app-client"
    assert settings.resolved_token_algorithms() == EXTERNAL_TOKEN_ALGORITHMS
    assert auth_config(settings) == {
        "mode": "cognito",
        "region": "eu-west-1",
        "user_pool_id": "eu-west-1_Pool",
        "client_id": "app-client",
        "identity_pool_id": "eu-west-1:ids",
        "endpoints": {"cognito_idp": None, "cognito_identity": None},
    }


def test_cognito_overrides() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        **COGNITO,
        token_issuer="http://127.0.0.1:5000/eu-west-1_Pool",
        jwks_url="http://127.0.0.1:5000/eu-west-1_Pool/.well-known/jwks.json",
        cognito_idp_endpoint="http://127.0.0.1:5000",
        token_algorithms=["RS256"],
    )
    assert settings.resolved_issuer() == "http://127.0.0.1:5000/eu-west-1_Pool"
    assert settings.resolved_jwks_url().endswith("/eu-west-1_Pool/.well-known/jwks.json")
    assert settings.resolved_token_algorithms() == ["RS256"]
    assert auth_config(settings)["endpoints"]["cognito_idp"] == "http://127.0.0.1:5000"


def test_oidc_audience_defaults_to_the_client_id() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        auth="oidc",
        oidc_issuer="https://id.example/realms/acme/",
        oidc_client_id="web",
    )
    assert settings.resolved_issuer() == "https://id.example/realms/acme"
    assert settings.resolved_jwks_url() == ""  # discovered
    assert auth_config(settings) == {
        "mode": "oidc",
        "issuer": "https://id.example/realms/acme",
        "client_id": "web",
        "scopes": "openid profile",
        "audience": "web",
    }
    other = Settings(_env_file=None, auth="oidc", oidc_audience="api")  # type: ignore[call-arg]
    assert other.resolved_token_audience() == "api"


def test_aws_kms_config_and_missing_settings() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        **COGNITO,
        key_service="aws-kms",
        aws_kms_key_id="arn:aws:kms:eu-west-1:1:key/k",
    )
    assert key_service_config(settings) == {
        "type": "aws-kms",
        "key_id": "arn:aws:kms:eu-west-1:1:key/k",
        "region": "eu-west-1",
        "endpoint": None,
    }
    assert settings.provider_problem() is None
    problem = Settings(_env_file=None, auth="cognito", key_service="aws-kms").provider_problem()  # type: ignore[call-arg]
    assert problem is not None
    for name in ("COGNITO_REGION", "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "AWS_KMS_KEY_ID"):
        assert name in problem


def test_the_web_client_may_call_the_providers() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        **COGNITO,
        key_service="aws-kms",
        aws_kms_key_id="k",
        public_url="https://chat.example",
    )
    csp = content_security_policy(
        settings.resolved_kms_url(), settings.resolved_public_url(), settings.provider_urls()
    )
    for origin in ("cognito-idp", "cognito-identity", "kms"):
        assert f"https://{origin}.eu-west-1.amazonaws.com" in csp
