"""The original AWS design in the browser, against moto's server on loopback: two people
sign in through Cognito (USER_PASSWORD_AUTH), get AWS credentials from a Cognito Identity
Pool, seal with data keys from AWS KMS (GenerateDataKey / Decrypt with the room in the
encryption context) and read the history after a reload. The KMS calls are counted on the
wire (X-Amz-Target TrentService.*) to show where the data keys come from."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.async_api import expect

from tests.aws_support import PASSWORD, moto_stand_in
from tests.browser.chat_page import ChatPage, unique_name
from tests.live_server import LiveServer, start_server


@dataclass
class AwsStandIn:
    endpoint: str
    server: LiveServer


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsStandIn]:
    """moto's server with a pool, an app client, an identity pool and a KMS key
    (tests/aws_support.py), alice and bob with permanent passwords, and a chat server in
    cognito + aws-kms mode against it."""
    for moto in moto_stand_in():
        moto.add_user("alice")
        moto.add_user("bob")
        server = start_server(
            tmp_path_factory.mktemp("cognito-server"), extra_env=moto.server_env()
        )
        try:
            yield AwsStandIn(moto.url, server)
        finally:
            server.stop()


def count_aws_calls(chat: ChatPage, endpoint: str) -> Counter[str]:
    """X-Amz-Target of every request the page sends to the AWS endpoint."""
    calls: Counter[str] = Counter()

    def seen(request: Any) -> None:
        if request.url.startswith(endpoint) and request.method == "POST":
            calls[request.headers.get("x-amz-target", "?")] += 1

    chat.page.on("request", seen)
    return calls


async def sign_in_with_cognito(chat: ChatPage, username: str) -> None:
    await expect(chat.page.get_by_role("button", name="Create account")).to_have_count(0)
    await chat.page.get_by_label("Username").fill(username)
    await chat.page.get_by_label("Password").fill(PASSWORD)
    await chat.page.get_by_role("button", name="Sign in").click()
    await expect(chat.sidebar).to_be_visible()
    chat.username = username


async def test_two_people_seal_with_aws_kms_after_cognito_sign_in(
    browser: Any, aws: AwsStandIn
) -> None:
    alice = await ChatPage.open(browser, aws.server.url)
    bob = await ChatPage.open(browser, aws.server.url)
    alice_calls = count_aws_calls(alice, aws.endpoint)
    bob_calls = count_aws_calls(bob, aws.endpoint)
    await sign_in_with_cognito(alice, "alice")
    await sign_in_with_cognito(bob, "bob")
    assert alice_calls["AWSCognitoIdentityProviderService.InitiateAuth"] == 1

    room = unique_name("aws")
    await alice.create_room(room)
    await alice.invite("bob")
    await bob.accept_invitation(room)
    await alice.send("sealed with a KMS data key")
    await alice.wait_until_sent(1)
    await expect(bob.message("sealed with a KMS data key")).to_be_visible()
    await bob.send("and unwrapped through KMS")
    await bob.wait_until_sent(1)
    await expect(alice.message("and unwrapped through KMS")).to_be_visible()

    # The data keys come from the KMS endpoint, with identity-pool credentials.
    assert alice_calls["TrentService.GenerateDataKey"] == 1, alice_calls
    assert bob_calls["TrentService.GenerateDataKey"] == 1, bob_calls
    assert bob_calls["TrentService.Decrypt"] >= 1, bob_calls
    assert alice_calls["TrentService.Decrypt"] >= 1, alice_calls
    assert alice_calls["AWSCognitoIdentityService.GetId"] == 1, alice_calls
    assert alice_calls["AWSCognitoIdentityService.GetCredentialsForIdentity"] >= 1, alice_calls

    # After a reload: resumed with the refresh token, history unwrapped through KMS again.
    reloaded = count_aws_calls(bob, aws.endpoint)
    reloaded.clear()
    await bob.page.reload()
    await bob.open_room(room)
    await expect(bob.message("sealed with a KMS data key")).to_be_visible()
    await expect(bob.message("and unwrapped through KMS")).to_be_visible()
    assert reloaded["AWSCognitoIdentityProviderService.InitiateAuth"] == 1, reloaded  # refresh
    assert reloaded["TrentService.Decrypt"] == 2, reloaded  # one per data key, then cached
    assert not alice.problems and not bob.problems, alice.problems + bob.problems
