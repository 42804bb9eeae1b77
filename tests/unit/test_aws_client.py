"""The Python client's AWS adapters against moto: Cognito sign-in, identity-pool
credentials, AWS KMS behind the KeyService port (the room bound in the context)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from sealchat.client import aws as client_aws
from sealchat.client.aws import AwsKmsKeyService, CognitoAuthenticator, CognitoIdentityCredentials
from sealchat.client.errors import ClientError
from tests.aws_support import PASSWORD, REGION, MotoAws, moto_stand_in


@pytest.fixture(scope="module")
def aws() -> Iterator[MotoAws]:
    yield from moto_stand_in()


def cognito(aws: MotoAws) -> CognitoAuthenticator:
    return CognitoAuthenticator(region=REGION, client_id=aws.client_id, endpoint=aws.url)


async def test_sign_in_refresh_and_wrong_password(aws: MotoAws) -> None:
    name = aws.add_user(f"kim-{uuid.uuid4().hex[:6]}")
    auth = cognito(aws)
    user = await auth.login(name, PASSWORD)
    assert user["username"] == name and user["id"]
    first = await auth.access_token()
    assert await auth.kms_token() == first
    await auth.refresh()
    assert auth.refresh_token is not None and await auth.access_token() != first
    assert (await auth.id_token()).count(".") == 2
    await auth.sign_out()
    assert auth.user is None
    with pytest.raises(ClientError) as refused:
        await cognito(aws).login(name, "not the password")
    assert refused.value.code == "unauthorized"


async def identity_credentials(aws: MotoAws) -> CognitoIdentityCredentials:
    auth = cognito(aws)
    await auth.login(aws.add_user(f"lee-{uuid.uuid4().hex[:6]}"), PASSWORD)
    return CognitoIdentityCredentials(
        region=REGION,
        identity_pool_id=aws.identity_pool_id,
        user_pool_id=aws.pool_id,
        id_token=auth.id_token,
        endpoint=aws.url,
    )


async def test_identity_pool_credentials_are_cached_and_renewed(
    aws: MotoAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = await identity_credentials(aws)
    first = await credentials.get()
    assert set(first) == {"aws_access_key_id", "aws_secret_access_key", "aws_session_token"}
    await credentials.get()
    assert credentials.fetches == 1
    # moto's credentials last 90 s: within a margin that large they are fetched again.
    monkeypatch.setattr(client_aws, "CREDENTIALS_MARGIN_SECONDS", 120.0)
    await credentials.get()
    assert credentials.fetches == 2


async def test_aws_kms_binds_the_room_into_the_data_key(aws: MotoAws) -> None:
    credentials = await identity_credentials(aws)
    kms = AwsKmsKeyService(region=REGION, endpoint=aws.url, credentials=credentials.get)
    room = {"room_id": "room-1"}
    data_key = await kms.generate_data_key(aws.key_arn, room)
    assert data_key.key_id == aws.key_arn and len(data_key.plaintext) == 32
    assert await kms.decrypt(data_key.ciphertext_blob, room) == data_key.plaintext
    with pytest.raises(ClientError) as other_room:
        await kms.decrypt(data_key.ciphertext_blob, {"room_id": "room-2"})
    assert other_room.value.code == "access_denied"
    with pytest.raises(ClientError) as no_room:
        await kms.generate_data_key(aws.key_arn, {})
    assert no_room.value.code == "invalid_input"
    assert kms.api_calls == {"GenerateDataKey": 1, "Decrypt": 2}


async def test_aws_kms_unreachable_is_kms_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    kms = AwsKmsKeyService(
        region=REGION,
        endpoint="http://127.0.0.1:9",
        credentials=None,
    )
    with pytest.raises(ClientError) as down:
        await kms.decrypt(b"x" * 32, {"room_id": "r"})
    assert down.value.code == "kms_unavailable"
