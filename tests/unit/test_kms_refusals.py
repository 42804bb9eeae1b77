"""Refusals at the key service: all audited, the flood of them bounded, and revocation
notices that junk requests cannot crowd out (issue #16, items 3 and 12)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sealchat.kms.models import AuditRecord, Operation
from sealchat.kms.runtime import read_audit
from sealchat.services.grants import GrantSigner
from tests.unit.test_kms_api import ALICE, BOB, PUBLIC_URL, ROOM, Kms, kms, running_kms

__all__ = ["kms"]  # the fixture, re-used


def signer(kms: Kms) -> GrantSigner:
    """Signs like the chat server does, with the grant key the key service trusts."""
    return GrantSigner(kms.grant_key, issuer=PUBLIC_URL, audience="sealchat-kms", ttl_seconds=120)


async def audit_rows(kms: Kms) -> list[AuditRecord]:
    return await read_audit(kms.settings, 10_000)


async def junk_decrypt(kms: Kms) -> int:
    """An anonymous request with a bogus token: what a flood is made of."""
    response = await kms.client.post(
        "/kms/decrypt",
        json={"ciphertext_blob": "AAAA", "encryption_context": {"room_id": ROOM}},
        headers={"Authorization": "Bearer junk"},
    )
    return response.status_code


async def test_an_invalid_encryption_context_is_an_audited_refusal(kms: Kms) -> None:
    blob = (await kms.generate()).json()["ciphertext_blob"]
    nested = await kms.generate(encryption_context={"room_id": ROOM, "x": {"y": "z"}})
    assert nested.status_code == 422
    entry = await kms.last_audit()
    assert (entry.operation, entry.allowed) == (Operation.GENERATE_DATA_KEY, False)
    assert (entry.actor_user_id, entry.actor_username) == ALICE
    assert entry.reason and "encryption_context" in entry.reason

    too_big = {"room_id": ROOM, **{f"k{i}": "v" for i in range(16)}}
    refused = await kms.decrypt(blob, encryption_context=too_big)
    assert refused.status_code == 422
    entry = await kms.last_audit()
    assert (entry.operation, entry.allowed) == (Operation.DECRYPT, False)
    assert (entry.actor_user_id, entry.actor_username) == ALICE
    assert entry.reason == refused.json()["error"]["message"]
    assert entry.encryption_context is None  # an invalid context is not copied in

    anonymous = await kms.client.post("/kms/decrypt", json={"encryption_context": []})
    assert anonymous.status_code == 422
    entry = await kms.last_audit()
    assert (entry.operation, entry.allowed, entry.actor_user_id) == ("decrypt", False, None)
    assert entry.source == "127.0.0.1"


async def test_a_flood_of_refusals_writes_a_bounded_number_of_rows(tmp_path: Path) -> None:
    async with running_kms(
        tmp_path,
        kms_rate_burst=30,
        kms_rate_per_second=0.001,
        kms_audit_refusal_burst=5,
        kms_audit_refusal_rate_per_second=0.001,
        kms_audit_summary_seconds=3600,
    ) as kms:
        statuses = [await junk_decrypt(kms) for _ in range(100)]
        assert statuses.count(401) == 30 and statuses.count(429) == 70
        itemized = await audit_rows(kms)
        refusals = [r.entry for r in itemized if r.entry.operation == Operation.DECRYPT]
        assert len(refusals) == 5  # the budget; the rest is counted, not itemized

        # A user's own refusals draw from the user's budget, not the address's.
        for _ in range(8):
            no_grant = await kms.generate(user=BOB, grant=None)
            assert no_grant.status_code == 403
    # The summaries are written at the latest when the key service stops.
    entries = [r.entry for r in await audit_rows(kms)]
    summaries = [e for e in entries if e.operation == Operation.SUPPRESSED_REFUSALS]
    by_actor = {e.actor_user_id: e for e in summaries}
    assert set(by_actor) == {None, BOB[0]}
    anonymous = by_actor[None]
    assert anonymous.allowed is False and anonymous.source == "127.0.0.1"
    assert anonymous.reason is not None
    assert anonymous.reason.startswith("95 refusals not written one by one")
    assert "decrypt 95" in anonymous.reason and "70 of them by the rate limit" in anonymous.reason
    assert by_actor[BOB[0]].reason is not None
    assert by_actor[BOB[0]].reason.startswith("3 refusals")
    refused = [e for e in entries if not e.allowed]
    assert len(refused) == 5 + 5 + 2  # itemized anonymous, itemized bob's, two summaries


async def test_summaries_are_written_while_the_flood_goes_on(tmp_path: Path) -> None:
    async with running_kms(
        tmp_path,
        kms_audit_refusal_burst=2,
        kms_audit_refusal_rate_per_second=0.001,
        kms_audit_summary_seconds=0.2,
    ) as kms:
        for _ in range(10):
            await junk_decrypt(kms)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            entries = [r.entry for r in await audit_rows(kms)]
            if any(e.operation == Operation.SUPPRESSED_REFUSALS for e in entries):
                break
            await asyncio.sleep(0.05)  # the summary task runs meanwhile
        [summary] = [e for e in entries if e.operation == Operation.SUPPRESSED_REFUSALS]
        assert summary.reason is not None and summary.reason.startswith("8 refusals")


async def test_a_valid_notice_is_accepted_despite_junk_from_its_address(tmp_path: Path) -> None:
    async with running_kms(tmp_path, kms_rate_burst=10, kms_rate_per_second=0.001) as kms:
        grant = kms.grant(BOB)  # bob's grant, fetched while he was a member
        blob = (await kms.generate()).json()["ciphertext_blob"]
        # Junk from the chat server's address empties that address's bucket...
        statuses = [await junk_decrypt(kms) for _ in range(20)]
        assert statuses[-1] == 429
        # ...but the chat server's signed notice is checked before any rate limit and
        # draws from the notices' own budget.
        notice = signer(kms).revocation(BOB[0], ROOM, revoked_at_ms=int(time.time() * 1000) + 1)
        accepted = await kms.client.post("/kms/revocations", json={"revocation": notice})
        assert accepted.status_code == 204, accepted.text
        entry = await kms.last_audit()
        assert (entry.operation, entry.allowed, entry.actor_username) == (
            "revoke-room-access",
            True,
            "chat-server",
        )
        assert entry.encryption_context == {"room_id": ROOM, "user_id": BOB[0]}
        refused = await kms.decrypt(blob, user=BOB, grant=grant)
        assert refused.status_code == 403
        assert "membership" in refused.json()["error"]["message"]


async def test_notices_have_their_own_budget(tmp_path: Path) -> None:
    async with running_kms(
        tmp_path, kms_revocation_burst=2, kms_revocation_rate_per_second=0.001
    ) as kms:
        for expected in (204, 204, 429):
            notice = signer(kms).revocation(BOB[0], ROOM)
            answer = await kms.client.post("/kms/revocations", json={"revocation": notice})
            assert answer.status_code == expected
        # Anonymous callers from the same address are not affected, and the reverse.
        assert await junk_decrypt(kms) == 401


async def test_junk_notices_are_refused_limited_and_audited_within_budget(
    tmp_path: Path,
) -> None:
    async with running_kms(
        tmp_path,
        kms_rate_burst=20,
        kms_rate_per_second=0.001,
        kms_audit_refusal_burst=3,
        kms_audit_refusal_rate_per_second=0.001,
        kms_audit_summary_seconds=3600,
    ) as kms:
        forged = kms.grant(BOB)  # a grant passed off as a notice
        statuses = []
        for _ in range(50):
            answer = await kms.client.post("/kms/revocations", json={"revocation": forged})
            statuses.append(answer.status_code)
        assert statuses.count(403) == 20 and statuses.count(429) == 30
        rows = [r for r in await audit_rows(kms) if not r.entry.allowed]
        assert len(rows) == 3
        assert all(r.entry.operation == Operation.REVOKE and not r.entry.allowed for r in rows)
        assert all(r.entry.actor_username is None for r in rows)  # not "chat-server"
    entries = [r.entry for r in await audit_rows(kms)]
    [summary] = [e for e in entries if e.operation == Operation.SUPPRESSED_REFUSALS]
    assert summary.reason is not None and summary.reason.startswith("47 refusals")
