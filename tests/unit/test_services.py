"""Room and message services against in-memory fakes."""

from __future__ import annotations

import pytest

from sealchat.domain.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RoomNameTaken,
)
from sealchat.domain.models import Role, User
from sealchat.services.messages import MessageService
from sealchat.services.rate_limit import TokenBucketLimiter
from sealchat.services.rooms import RoomService
from tests.envelopes import opaque_envelope
from tests.fakes import MemoryStore, RecordingFanout

ENV = opaque_envelope("x")

ALICE, BOB, EVE = User("a", "alice"), User("b", "bob"), User("e", "eve")


@pytest.fixture
def world() -> tuple[MemoryStore, RecordingFanout, RoomService, MessageService]:
    store, fanout = MemoryStore(), RecordingFanout()
    for user in (ALICE, BOB, EVE):
        store.users[user.id] = user
    rooms = RoomService(store, store, fanout)
    messages = MessageService(
        store,
        rooms,
        fanout,
        TokenBucketLimiter(1000, 1000),
        max_envelope_bytes=1024,
        history_page_max=100,
        sync_page_max=3,
    )
    return store, fanout, rooms, messages


async def test_message_is_broadcast_after_store_without_the_sender_socket(world) -> None:  # type: ignore[no-untyped-def]
    store, fanout, rooms, messages = world
    room = (await rooms.create(ALICE, "general", "public")).room
    result = await messages.send(ALICE.id, room.id, "c1", ENV, origin="sid-1")
    sent = result.message
    assert result.created and sent.seq == 1
    assert fanout.published[-1] == (
        "message:new",
        fanout.events("message:new")[0],
        [f"room:{room.id}"],
        "sid-1",
    )
    assert store.messages[room.id] == [sent]


async def test_resend_is_not_broadcast_again(world) -> None:  # type: ignore[no-untyped-def]
    _, fanout, rooms, messages = world
    room = (await rooms.create(ALICE, "general", "public")).room
    first = await messages.send(ALICE.id, room.id, "same", ENV)
    again = await messages.send(ALICE.id, room.id, "same", opaque_envelope("other"))
    assert again.message == first.message
    assert not again.created
    assert len(fanout.events("message:new")) == 1


async def test_sending_needs_membership_and_says_why(world) -> None:  # type: ignore[no-untyped-def]
    _, _, rooms, messages = world
    public = (await rooms.create(ALICE, "open", "public")).room
    private = (await rooms.create(ALICE, "closed", "private")).room
    with pytest.raises(Forbidden):
        await messages.send(BOB.id, public.id, "c", ENV)
    with pytest.raises(NotFound):
        await messages.send(BOB.id, private.id, "c", ENV)
    with pytest.raises(NotFound):
        await messages.send(BOB.id, "missing", "c", ENV)


@pytest.mark.parametrize(
    "envelope",
    [{}, "text", [1], {"x": object()}, {"s": "\ud800"}, {"n": float("nan")}, {"n": float("inf")}],
)
async def test_envelope_must_be_a_plain_json_object(world, envelope) -> None:  # type: ignore[no-untyped-def]
    _, _, rooms, messages = world
    room = (await rooms.create(ALICE, "r", "public")).room
    with pytest.raises(InvalidInput):
        await messages.send(ALICE.id, room.id, "c", envelope)


async def test_oversized_envelope_is_refused_and_nothing_stored(world) -> None:  # type: ignore[no-untyped-def]
    store, _, rooms, messages = world
    room = (await rooms.create(ALICE, "r", "public")).room
    with pytest.raises(PayloadTooLarge):
        await messages.send(
            ALICE.id, room.id, "c", opaque_envelope("é" * 600)
        )  # 1200 bytes in UTF-8
    assert store.messages[room.id] == []


async def test_rate_limit_applies_per_user() -> None:
    now = [0.0]
    limiter = TokenBucketLimiter(rate_per_second=1, burst=2, clock=lambda: now[0])
    limiter.check("a")
    limiter.check("a")
    limiter.check("b")
    with pytest.raises(RateLimited) as limited:
        limiter.check("a")
    assert limited.value.retry_after == pytest.approx(1.0)
    now[0] = 1.0
    limiter.check("a")


async def test_sync_pages_and_reports_rooms_it_cannot_read(world) -> None:  # type: ignore[no-untyped-def]
    _, _, rooms, messages = world
    room = (await rooms.create(ALICE, "r", "public")).room
    secret = (await rooms.create(BOB, "s", "private")).room
    for i in range(5):
        await messages.send(ALICE.id, room.id, f"c{i}", opaque_envelope(str(i)))
    result = await messages.sync(ALICE.id, {room.id: 1, secret.id: 0})
    assert [m.seq for m in result.messages] == [2, 3, 4]
    assert result.has_more == [room.id]
    assert isinstance(result.errors[secret.id], NotFound)


async def test_membership_changes_are_announced_and_authorized(world) -> None:  # type: ignore[no-untyped-def]
    store, fanout, rooms, _ = world
    room = (await rooms.create(ALICE, "team", "private")).room
    await rooms.invite(ALICE, room.id, "BOB")
    await rooms.accept_invitation(BOB, room.id)
    assert ("subscribe", BOB.id, room.id) in fanout.subscriptions
    assert fanout.events("member:joined")[-1]["user"] == {"id": "b", "username": "bob"}
    with pytest.raises(Forbidden):
        await rooms.invite(BOB, room.id, "eve")
    with pytest.raises(NotFound):
        await rooms.members(EVE, room.id)
    await rooms.remove_member(ALICE, room.id, BOB.id)
    assert ("unsubscribe", BOB.id, room.id) in fanout.subscriptions
    assert fanout.events("room:left")[-1] == {"room_id": room.id, "reason": "removed"}
    assert await store.get_role(room.id, BOB.id) is None


async def test_last_owner_leaving_hands_the_room_on(world) -> None:  # type: ignore[no-untyped-def]
    store, _, rooms, _ = world
    room = (await rooms.create(ALICE, "team", "public")).room
    await rooms.join(BOB, room.id)
    await rooms.join(EVE, room.id)
    await rooms.leave(ALICE, room.id)
    assert await store.get_role(room.id, BOB.id) is Role.OWNER
    assert await store.get_role(room.id, EVE.id) is Role.MEMBER


async def test_direct_room_is_one_per_pair_and_closed_to_changes(world) -> None:  # type: ignore[no-untyped-def]
    _, _, rooms, _ = world
    first = await rooms.open_direct(ALICE, "bob")
    again = await rooms.open_direct(BOB, "alice")
    assert first.room.id == again.room.id
    assert first.room.name == "alice, bob"
    with pytest.raises(InvalidInput):
        await rooms.invite(ALICE, first.room.id, "eve")
    with pytest.raises(InvalidInput):
        await rooms.remove_member(ALICE, first.room.id, BOB.id)
    with pytest.raises(NotFound):
        await rooms.open_direct(ALICE, "nobody")


async def test_leaving_a_direct_room_and_opening_it_again_rejoins(world) -> None:  # type: ignore[no-untyped-def]
    store, _, rooms, _ = world
    first = await rooms.open_direct(ALICE, "bob")
    await rooms.leave(ALICE, first.room.id)
    assert await store.get_role(first.room.id, ALICE.id) is None
    again = await rooms.open_direct(ALICE, "bob")
    assert again.room.id == first.room.id
    assert await store.get_role(first.room.id, ALICE.id) is Role.MEMBER


async def test_a_room_everyone_left_is_archived_and_its_name_free(world) -> None:  # type: ignore[no-untyped-def]
    _, _, rooms, _ = world
    room = (await rooms.create(ALICE, "ghost town", "public")).room
    await rooms.leave(ALICE, room.id)

    with pytest.raises(NotFound):
        await rooms.join(BOB, room.id)
    assert await rooms.directory() == []
    again = await rooms.create(BOB, "Ghost Town", "public")
    assert again.role is Role.OWNER


async def test_a_public_name_taken_ignoring_case_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    _, _, rooms, _ = world
    await rooms.create(ALICE, "Town Hall", "public")

    with pytest.raises(RoomNameTaken):
        await rooms.create(BOB, "  town   HALL ", "public")
    assert (await rooms.create(BOB, "town hall", "private")).room.name == "town hall"


async def test_adding_someone_invites_them_and_only_accepting_makes_a_member(world) -> None:  # type: ignore[no-untyped-def]
    store, fanout, rooms, _ = world
    room = (await rooms.create(EVE, "OPS", "private")).room

    result = await rooms.invite(EVE, room.id, "bob")

    assert result.status == "invited"
    assert await store.get_role(room.id, BOB.id) is None
    assert ("subscribe", BOB.id, room.id) not in fanout.subscriptions
    assert fanout.events("member:joined") == []
    new = fanout.events("invitation:new")
    assert len(new) == 1
    assert new[0]["inviter"] == {"id": "e", "username": "eve"}
    assert new[0]["room"]["owner"] == {"id": "e", "username": "eve"}
    assert new[0]["room"]["member_count"] == 1
    assert "last_seq" not in new[0]["room"]
    with pytest.raises(NotFound):  # still invisible until accepted
        await rooms.members(BOB, room.id)
    assert [i.room.id for i in await rooms.invitations(BOB)] == [room.id]

    # idempotent
    assert (await rooms.invite(EVE, room.id, "bob")).status == "already_invited"
    assert len(fanout.events("invitation:new")) == 1

    mine = await rooms.accept_invitation(BOB, room.id)

    assert mine.role is Role.MEMBER
    assert ("subscribe", BOB.id, room.id) in fanout.subscriptions
    assert fanout.events("invitation:closed")[-1] == {"room_id": room.id, "reason": "accepted"}
    assert await rooms.invitations(BOB) == []
    assert (await rooms.accept_invitation(BOB, room.id)).role is Role.MEMBER  # harmless twice
    assert len(fanout.events("member:joined")) == 1
    already = await rooms.invite(EVE, room.id, "bob")
    assert already.status == "already_member" and already.member is not None


async def test_declining_or_cancelling_an_invitation(world) -> None:  # type: ignore[no-untyped-def]
    store, fanout, rooms, _ = world
    room = (await rooms.create(ALICE, "team", "public")).room
    await rooms.invite(ALICE, room.id, "bob")
    await rooms.decline_invitation(BOB, room.id)
    assert fanout.events("invitation:closed")[-1] == {"room_id": room.id, "reason": "declined"}
    with pytest.raises(NotFound):
        await rooms.accept_invitation(BOB, room.id)
    with pytest.raises(NotFound):
        await rooms.decline_invitation(BOB, room.id)
    assert await store.get_role(room.id, BOB.id) is None

    await rooms.invite(ALICE, room.id, "eve")
    with pytest.raises(Forbidden):
        await rooms.cancel_invitation(BOB, room.id, EVE.id)
    await rooms.cancel_invitation(ALICE, room.id, EVE.id)
    assert fanout.events("invitation:closed")[-1] == {"room_id": room.id, "reason": "cancelled"}
    assert await rooms.invitations(EVE) == []

    # Joining a public room one is invited to uses up the invitation.
    await rooms.invite(ALICE, room.id, "bob")
    await rooms.join(BOB, room.id)
    assert await rooms.invitations(BOB) == []


async def test_accepting_for_an_unknown_room_or_without_an_invitation_is_not_found(world) -> None:  # type: ignore[no-untyped-def]
    _, _, rooms, _ = world
    with pytest.raises(NotFound):
        await rooms.accept_invitation(BOB, "no-such-room")
    secret = (await rooms.create(ALICE, "secret", "private")).room
    with pytest.raises(NotFound):
        await rooms.accept_invitation(BOB, secret.id)
    with pytest.raises(NotFound):
        await rooms.decline_invitation(BOB, secret.id)


async def test_an_invitation_to_a_room_everyone_left_is_gone_with_it(world) -> None:  # type: ignore[no-untyped-def]
    store, _, rooms, _ = world
    room = (await rooms.create(ALICE, "town", "public")).room
    await rooms.invite(ALICE, room.id, "bob")
    await rooms.leave(ALICE, room.id)  # the room is archived
    assert await rooms.invitations(BOB) == []
    with pytest.raises(NotFound):
        await rooms.accept_invitation(BOB, room.id)
    assert await store.get_role(room.id, BOB.id) is None
