"""AWS behind the client's ports: Cognito sign-in (``Authenticator``), AWS KMS data keys
(``KeyService``) with credentials from a Cognito identity pool or the usual AWS chain.

boto3 is the optional ``aws`` extra (``pip install sealchat[aws]``): it is imported only
when one of these is built. Its calls block, so every one runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sealchat.client.auth import TokenSession
from sealchat.client.errors import ClientError
from sealchat.client.key_service import DataKey

IdTokenSource = Callable[[], Awaitable[str]]

# Refresh AWS credentials this long before they expire.
CREDENTIALS_MARGIN_SECONDS = 60.0


def _boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise ClientError(
            "unsupported", "this server uses AWS: install the aws extra (pip install sealchat[aws])"
        ) from None
    return boto3


def aws_client(
    service: str,
    region: str,
    endpoint: str | None = None,
    *,
    credentials: dict[str, str] | None = None,
    unsigned: bool = False,
) -> Any:
    """A boto3 client of its own session (sessions are not shared between threads)."""
    boto3 = _boto3()
    from botocore import UNSIGNED
    from botocore.config import Config

    config = Config(
        signature_version=UNSIGNED if unsigned else None,
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=15,
    )
    session = boto3.session.Session(**(credentials or {}))
    return session.client(service, region_name=region, endpoint_url=endpoint, config=config)


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return code if isinstance(code, str) else None
    return None


async def _call(what: str, codes: dict[str, str], fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Run a blocking boto3 call in a thread; AWS errors become ``ClientError`` (codes not
    in ``codes``, and network failures, become ``codes["*"]``, default ``unavailable``)."""
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ClientError as BotoClientError

    try:
        return await asyncio.to_thread(fn, **kwargs)
    except BotoClientError as exc:
        aws_code = _error_code(exc) or "Unknown"
        code = codes.get(aws_code, codes.get("*", "unavailable"))
        raise ClientError(code, f"{what}: {aws_code}: {exc}") from exc
    except BotoCoreError as exc:
        raise ClientError(codes.get("*", "unavailable"), f"{what}: {exc}") from exc


def token_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT the provider just gave us (not verified: the server does)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise ClientError("unauthorized", "the provider sent a malformed token") from exc
    if not isinstance(claims, dict):
        raise ClientError("unauthorized", "the provider sent a malformed token")
    return claims


COGNITO_ERRORS = {
    "NotAuthorizedException": "unauthorized",
    "UserNotFoundException": "unauthorized",
    "UserNotConfirmedException": "unauthorized",
    "PasswordResetRequiredException": "unauthorized",
    "InvalidParameterException": "invalid_input",
    "TooManyRequestsException": "rate_limited",
    "LimitExceededException": "rate_limited",
}


class CognitoAuthenticator(TokenSession):
    """Cognito user pool sign-in: ``InitiateAuth`` with ``USER_PASSWORD_AUTH``, refreshed with
    ``REFRESH_TOKEN_AUTH``. The access token goes to the chat server (and to the embedded
    key service, which accepts it); the ID token buys identity-pool credentials.

    SRP (``USER_SRP_AUTH``) is not offered: boto3 has no SRP, and no maintained library we
    could pin implements it (pycognito's is a side feature of a larger package)."""

    def __init__(self, *, region: str, client_id: str, endpoint: str | None = None) -> None:
        super().__init__()
        self._idp = aws_client("cognito-idp", region, endpoint, unsigned=True)
        self._client_id = client_id
        self.id_token_value: str | None = None

    async def login(self, username: str, password: str) -> dict[str, Any]:
        reply = await _call(
            "Cognito sign-in",
            COGNITO_ERRORS,
            self._idp.initiate_auth,
            ClientId=self._client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        self._take(reply)
        assert self._user is not None
        return self._user

    async def refresh(self) -> None:
        async with self._refreshing:
            if self.refresh_token is None:
                raise ClientError("unauthorized", "not signed in")
            reply = await _call(
                "Cognito refresh",
                COGNITO_ERRORS,
                self._idp.initiate_auth,
                ClientId=self._client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": self.refresh_token},
            )
            self._take(reply)

    async def sign_out(self) -> None:
        """Revoke the refresh token at Cognito (best effort), then forget everything."""
        if self.refresh_token is not None:
            with contextlib.suppress(ClientError):
                await _call(
                    "Cognito sign-out",
                    COGNITO_ERRORS,
                    self._idp.revoke_token,
                    Token=self.refresh_token,
                    ClientId=self._client_id,
                )
        self.id_token_value = None
        self.forget()

    async def kms_token(self) -> str:
        """The embedded key service accepts the provider's access token (docs/protocol.md)."""
        return await self.access_token()

    async def id_token(self) -> str:
        """A fresh ID token, for the identity pool's ``Logins``."""
        await self.access_token()
        if self.id_token_value is None:
            raise ClientError("unauthorized", "Cognito issued no ID token")
        return self.id_token_value

    def _take(self, reply: dict[str, Any]) -> None:
        if "AuthenticationResult" not in reply:
            challenge = reply.get("ChallengeName", "an unknown challenge")
            raise ClientError(
                "unauthorized", f"Cognito asks for {challenge}: finish it in the web client"
            )
        result = reply["AuthenticationResult"]
        self.access_token_value = result["AccessToken"]
        self.id_token_value = result.get("IdToken", self.id_token_value)
        # REFRESH_TOKEN_AUTH answers without a new refresh token: keep the one we have.
        self.refresh_token = result.get("RefreshToken", self.refresh_token)
        self.lifetime = float(result.get("ExpiresIn", 3600))
        self.expires_at = time.time() + self.lifetime
        claims = token_claims(result["AccessToken"])
        if self._user is None or self._user.get("id") != claims.get("sub"):
            self._user = {"id": claims.get("sub"), "username": claims.get("username")}


class CognitoIdentityCredentials:
    """AWS credentials for the signed-in person from a Cognito identity pool: ``GetId`` and
    ``GetCredentialsForIdentity`` with the ID token, renewed shortly before they expire."""

    def __init__(
        self,
        *,
        region: str,
        identity_pool_id: str,
        user_pool_id: str,
        id_token: IdTokenSource,
        endpoint: str | None = None,
        user_pool_region: str | None = None,
    ) -> None:
        self._identity = aws_client("cognito-identity", region, endpoint, unsigned=True)
        self._pool = identity_pool_id
        self._login_key = f"cognito-idp.{user_pool_region or region}.amazonaws.com/{user_pool_id}"
        self._id_token = id_token
        self._identity_id: str | None = None
        self._credentials: dict[str, str] | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0  # GetCredentialsForIdentity calls, for tests

    async def get(self) -> dict[str, str]:
        """boto3 session keyword arguments: key id, secret, session token."""
        async with self._lock:
            if (
                self._credentials is None
                or time.time() > self._expires_at - CREDENTIALS_MARGIN_SECONDS
            ):
                await self._fetch()
            assert self._credentials is not None
            return self._credentials

    async def _fetch(self) -> None:
        logins = {self._login_key: await self._id_token()}
        codes = {
            "NotAuthorizedException": "unauthorized",
            "ResourceNotFoundException": "unavailable",
        }
        if self._identity_id is None:
            reply = await _call(
                "Cognito identity",
                codes,
                self._identity.get_id,
                IdentityPoolId=self._pool,
                Logins=logins,
            )
            self._identity_id = reply["IdentityId"]
        reply = await _call(
            "Cognito identity credentials",
            codes,
            self._identity.get_credentials_for_identity,
            IdentityId=self._identity_id,
            Logins=logins,
        )
        self.fetches += 1
        creds = reply["Credentials"]
        expiration = creds["Expiration"]
        self._expires_at = (
            expiration.timestamp() if isinstance(expiration, datetime) else float(expiration)
        )
        self._credentials = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretKey"],
            "aws_session_token": creds["SessionToken"],
        }


CredentialSource = Callable[[], Awaitable[dict[str, str]]]

KMS_ERRORS = {
    "*": "kms_unavailable",  # as the embedded key service's client says it
    "AccessDeniedException": "access_denied",
    "InvalidCiphertextException": "access_denied",
    "IncorrectKeyException": "access_denied",
    "NotFoundException": "not_found",
    "DisabledException": "access_denied",
    "KMSInvalidStateException": "access_denied",
    "ThrottlingException": "rate_limited",
    "LimitExceededException": "rate_limited",
}


class AwsKmsKeyService:
    """``KeyService`` on AWS KMS: ``GenerateDataKey`` (``AES_256``) and ``Decrypt`` with the
    room in the encryption context, exactly as the embedded key service binds it.

    ``credentials`` (e.g. ``CognitoIdentityCredentials.get``) gives the AWS credentials to
    call with; None: the usual AWS chain (environment, profile, instance role).
    ``api_calls`` counts the KMS requests actually sent, by operation."""

    def __init__(
        self,
        *,
        region: str,
        endpoint: str | None = None,
        credentials: CredentialSource | None = None,
    ) -> None:
        self._region = region
        self._endpoint = endpoint
        self._credentials = credentials
        self._client: Any = None
        self._client_credentials: dict[str, str] | None = None
        self.api_calls: Counter[str] = Counter()

    async def generate_data_key(self, key_id: str, encryption_context: dict[str, str]) -> DataKey:
        kms = await self._kms(encryption_context)
        reply = await _call(
            "AWS KMS GenerateDataKey",
            KMS_ERRORS,
            kms.generate_data_key,
            KeyId=key_id,
            KeySpec="AES_256",
            EncryptionContext=encryption_context,
        )
        return DataKey(
            key_id=reply["KeyId"],
            plaintext=reply["Plaintext"],
            ciphertext_blob=reply["CiphertextBlob"],
        )

    async def decrypt(self, ciphertext_blob: bytes, encryption_context: dict[str, str]) -> bytes:
        kms = await self._kms(encryption_context)
        reply = await _call(
            "AWS KMS Decrypt",
            KMS_ERRORS,
            kms.decrypt,
            CiphertextBlob=ciphertext_blob,
            EncryptionContext=encryption_context,
        )
        plaintext: bytes = reply["Plaintext"]
        return plaintext

    async def close(self) -> None:
        self._client = None

    async def _kms(self, encryption_context: dict[str, str]) -> Any:
        if not encryption_context.get("room_id"):
            raise ClientError("invalid_input", "the encryption context must name the room")
        credentials = await self._credentials() if self._credentials is not None else None
        if self._client is None or credentials != self._client_credentials:
            self._client = await asyncio.to_thread(
                aws_client, "kms", self._region, self._endpoint, credentials=credentials
            )
            self._client.meta.events.register("before-call.kms", self._count)
            self._client_credentials = credentials
        return self._client

    def _count(self, model: Any = None, **_: Any) -> None:
        self.api_calls[getattr(model, "name", "unknown")] += 1
