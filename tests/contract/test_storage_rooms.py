from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from sealchat.adapters.sql.storage import SqlMessageStore, SqlRoomStore
from sealchat.domain.errors import Conflict, NotFound, RoomNameTaken
from sealchat.domain.models import NewMessage, Role, Room, User, Visibility
from tests.contract.conftest import RoomFactory, UserFactory


def a_room(owner: User, name: str = "general", visibility: Visibility = Visibility.PUBLIC) -> Room:
    return Room(
        id=str(uuid4()),
        name=name,
        visibility=visibility,
        created_by=owner.id,
        created_at=datetime.now(UTC),
    )


def dm_key(*users: User) -> str:
    return ":".join(sorted(user.id for user in users))


# create_room / get_room


async def test_create_room_stores_the_room_and_its_owner(
    rooms: SqlRoomStore, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    room = a_room(alice, "lobby")

    created = await rooms.create_room(room, alice.id)

    assert created == room
    assert await rooms.get_room(room.id) == room
    assert await rooms.get_role(room.id, alice.id) is Role.OWNER
    [owner] = await rooms.list_members(room.id)
    assert (owner.user, owner.role) == (alice, Role.OWNER)


async def test_timestamps_come_back_as_aware_utc(
    rooms: SqlRoomStore, make_user: UserFactory
) -> None:
    alice = await make_user()
    # Another offset is the same instant: stored and returned as UTC.
    created_at = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2)))
    room = replace(a_room(alice), created_at=created_at)

    await rooms.create_room(room, alice.id)

    stored = await rooms.get_room(room.id)
    assert stored is not None
    assert stored.created_at == created_at
    assert stored.created_at.tzinfo is UTC
    [member] = await rooms.list_members(room.id)
    assert member.joined_at.tzinfo is UTC
    assert abs(datetime.now(UTC) - member.joined_at) < timedelta(minutes=1)


async def test_create_room_is_atomic(rooms: SqlRoomStore, make_user: UserFactory) -> None:
    alice = await make_user()
    room = a_room(alice)

    with pytest.raises(NotFound):
        await rooms.create_room(room, str(uuid4()))  # the owner is not a user

    assert await rooms.get_room(room.id) is None


async def test_create_room_refuses_a_taken_id(
    rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice = await make_user()
    room = await make_room(alice, "first")

    with pytest.raises(Conflict):
        await rooms.create_room(replace(room, name="second"), alice.id)

    assert await rooms.get_room(room.id) == room


async def test_get_room_of_an_unknown_id_is_none(rooms: SqlRoomStore) -> None:
    assert await rooms.get_room(str(uuid4())) is None


# get_or_create_direct_room


async def test_direct_room_is_created_once_with_both_members(
    rooms: SqlRoomStore, make_user: UserFactory
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    key = dm_key(alice, bob)

    first, created = await rooms.get_or_create_direct_room(
        a_room(alice, "dm", Visibility.DIRECT), key, [alice.id, bob.id]
    )
    again, created_again = await rooms.get_or_create_direct_room(
        a_room(bob, "dm", Visibility.DIRECT), key, [bob.id, alice.id]
    )

    assert (created, created_again) == (True, False)
    assert again == first
    assert await rooms.get_room(first.id) == first
    members = await rooms.list_members(first.id)
    assert {(m.user, m.role) for m in members} == {(alice, Role.MEMBER), (bob, Role.MEMBER)}
    assert [m.room.id for m in await rooms.list_user_rooms(bob.id)] == [first.id]


async def test_direct_room_creation_is_race_safe(
    rooms: SqlRoomStore, make_user: UserFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    key = dm_key(alice, bob)

    results = await asyncio.gather(
        *(
            rooms.get_or_create_direct_room(
                a_room(alice, "dm", Visibility.DIRECT), key, [alice.id, bob.id]
            )
            for _ in range(8)
        )
    )

    assert len({room.id for room, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert len(await rooms.list_members(results[0][0].id)) == 2


async def test_direct_room_with_an_unknown_member_is_not_created(
    rooms: SqlRoomStore, make_user: UserFactory
) -> None:
    alice = await make_user()
    candidate = a_room(alice, "dm", Visibility.DIRECT)

    with pytest.raises(NotFound):
        await rooms.get_or_create_direct_room(candidate, "x", [alice.id, str(uuid4())])

    assert await rooms.get_room(candidate.id) is None


# listing rooms


async def test_list_user_rooms_gives_role_and_last_seq(
    rooms: SqlRoomStore,
    messages: SqlMessageStore,
    make_user: UserFactory,
    make_room: RoomFactory,
) -> None:
    alice, bob = await make_user(), await make_user()
    own = await make_room(alice, "b-own")
    joined = await make_room(bob, "a-joined", Visibility.PRIVATE)
    await make_room(bob, "c-not-mine")
    await rooms.add_member(joined.id, alice.id, Role.MEMBER)
    for n in range(3):
        new = NewMessage(str(uuid4()), joined.id, bob.id, f"c{n}", "{}")
        await messages.append_message(new)

    mine = await rooms.list_user_rooms(alice.id)

    assert [(m.room.id, m.role, m.room.last_seq) for m in mine] == [
        (joined.id, Role.MEMBER, 3),
        (own.id, Role.OWNER, 0),
    ]
    assert sorted(await rooms.list_user_room_ids(alice.id)) == sorted([own.id, joined.id])
    assert await rooms.list_user_rooms(str(uuid4())) == []
    assert await rooms.list_user_room_ids(str(uuid4())) == []


async def test_list_public_rooms_by_name_with_member_counts(
    rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    zoo = await make_room(alice, "zoo")
    art = await make_room(alice, "art")
    mid = await make_room(alice, "mid")
    await make_room(alice, "hidden", Visibility.PRIVATE)
    await rooms.get_or_create_direct_room(
        a_room(alice, "dm", Visibility.DIRECT), dm_key(alice, bob), [alice.id, bob.id]
    )
    for user in (bob, carol):
        await rooms.add_member(art.id, user.id, Role.MEMBER)

    directory = await rooms.list_public_rooms(limit=10)

    assert [(e.room.id, e.member_count) for e in directory] == [
        (art.id, 3),
        (mid.id, 1),
        (zoo.id, 1),
    ]
    assert [e.room.name for e in await rooms.list_public_rooms(limit=2)] == ["art", "mid"]
    assert directory[0].room == art


# membership


async def test_add_member_once(
    rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    room = await make_room(alice)

    assert await rooms.add_member(room.id, bob.id, Role.MEMBER) is True
    assert await rooms.add_member(room.id, bob.id, Role.OWNER) is False

    assert await rooms.get_role(room.id, bob.id) is Role.MEMBER


async def test_add_member_of_unknown_user_or_room(
    rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice = await make_user()
    room = await make_room(alice)

    with pytest.raises(NotFound):
        await rooms.add_member(room.id, str(uuid4()), Role.MEMBER)
    with pytest.raises(NotFound):
        await rooms.add_member(str(uuid4()), alice.id, Role.MEMBER)


async def test_remove_member(
    rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    room = await make_room(alice)
    await rooms.add_member(room.id, bob.id, Role.MEMBER)

    assert await rooms.remove_member(room.id, bob.id) is True
    assert await rooms.remove_member(room.id, bob.id) is False

    assert await rooms.get_role(room.id, bob.id) is None
    assert [m.user for m in await rooms.list_members(room.id)] == [alice]
    assert await rooms.list_user_room_ids(bob.id) == []


async def test_get_role_and_set_role(
    rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    room = await make_room(alice)
    await rooms.add_member(room.id, bob.id, Role.MEMBER)

    await rooms.set_role(room.id, bob.id, Role.OWNER)

    assert await rooms.get_role(room.id, bob.id) is Role.OWNER
    assert await rooms.get_role(room.id, carol.id) is None
    with pytest.raises(NotFound):
        await rooms.set_role(room.id, carol.id, Role.OWNER)
    assert await rooms.get_role(room.id, carol.id) is None


async def test_list_members_in_join_order_with_usernames(
    rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    owner = await make_user("owner")
    room = await make_room(owner)
    joiners = [await make_user(f"joiner-{n}") for n in range(3)]
    for user in joiners:
        await rooms.add_member(room.id, user.id, Role.MEMBER)

    members = await rooms.list_members(room.id)

    assert [m.user for m in members] == [owner, *joiners]
    assert [m.role for m in members] == [Role.OWNER] + [Role.MEMBER] * 3
    assert [m.joined_at for m in members] == sorted(m.joined_at for m in members)
    assert await rooms.list_members(str(uuid4())) == []


# invitations


async def test_an_invitation_is_stored_once_and_lists_with_the_room_owner(
    rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    eve, bob, carol = await make_user(), await make_user(), await make_user()
    ops = await make_room(eve, "OPS", Visibility.PRIVATE)
    await rooms.add_member(ops.id, carol.id, Role.MEMBER)
    at = datetime.now(UTC)

    assert await rooms.create_invitation(ops.id, bob.id, eve.id, at) is True
    assert await rooms.create_invitation(ops.id, bob.id, carol.id, at) is False

    invitation = await rooms.get_invitation(ops.id, bob.id)
    assert invitation is not None
    assert invitation.room == ops
    assert (invitation.invitee, invitation.inviter, invitation.owner) == (bob, eve, eve)
    assert invitation.member_count == 2
    assert invitation.created_at == at
    assert await rooms.list_invitations(bob.id) == [invitation]
    assert await rooms.list_invitations(eve.id) == []
    assert await rooms.get_role(ops.id, bob.id) is None
    assert await rooms.get_invitation(ops.id, carol.id) is None


async def test_accepting_an_invitation_makes_a_member_once(
    rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    room = await make_room(alice, "team", Visibility.PRIVATE)
    await rooms.create_invitation(room.id, bob.id, alice.id, datetime.now(UTC))

    accepted = await asyncio.gather(
        *(rooms.accept_invitation(room.id, bob.id, Role.MEMBER) for _ in range(3))
    )

    assert sorted(accepted) == [False, False, True]
    assert await rooms.get_role(room.id, bob.id) is Role.MEMBER
    assert await rooms.list_invitations(bob.id) == []
    assert await rooms.accept_invitation(room.id, alice.id, Role.MEMBER) is False


async def test_declining_an_invitation_and_invitations_going_with_their_room(
    rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    room = await make_room(alice)
    await rooms.create_invitation(room.id, bob.id, alice.id, datetime.now(UTC))

    assert await rooms.delete_invitation(room.id, bob.id) is True
    assert await rooms.delete_invitation(room.id, bob.id) is False
    assert await rooms.accept_invitation(room.id, bob.id, Role.MEMBER) is False
    assert await rooms.get_role(room.id, bob.id) is None
    with pytest.raises(NotFound):
        await rooms.create_invitation(room.id, str(uuid4()), alice.id, datetime.now(UTC))


async def test_directory_names_each_room_owner_and_sorts_names_ignoring_case(
    rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    bravo = await make_room(bob, "Bravo")
    charlie = await make_room(alice, "charlie")
    alpha = await make_room(alice, "alpha")
    await rooms.add_member(alpha.id, bob.id, Role.MEMBER)
    await rooms.set_role(alpha.id, alice.id, Role.MEMBER)  # nobody owns it now

    directory = await rooms.list_public_rooms(limit=10)

    assert [(e.room.id, e.owner, e.member_count) for e in directory] == [
        (alpha.id, None, 2),
        (bravo.id, bob, 1),
        (charlie.id, alice, 1),
    ]


# unique public names, archiving


async def test_public_room_names_are_unique_ignoring_case(
    rooms: SqlRoomStore, make_user: UserFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    await rooms.create_room(a_room(alice, "Town Hall"), alice.id)

    with pytest.raises(RoomNameTaken) as raised:
        await rooms.create_room(a_room(bob, "town hall"), bob.id)

    assert raised.value.code == "room_name_taken"
    assert [e.room.name for e in await rooms.list_public_rooms(limit=10)] == ["Town Hall"]
    # Private rooms may share a name, with each other and with a public room.
    for owner in (alice, bob):
        await rooms.create_room(a_room(owner, "town hall", Visibility.PRIVATE), owner.id)


async def test_a_room_whose_last_member_leaves_is_archived_and_frees_its_name(
    rooms: SqlRoomStore, make_user: UserFactory
) -> None:
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    room = a_room(alice, "Retro")
    await rooms.create_room(room, alice.id)
    await rooms.add_member(room.id, bob.id, Role.MEMBER)
    await rooms.create_invitation(room.id, carol.id, alice.id, datetime.now(UTC))

    await rooms.remove_member(room.id, alice.id)
    assert await rooms.get_room(room.id) == room  # bob is still in it
    await rooms.remove_member(room.id, bob.id)

    assert await rooms.get_room(room.id) is None
    assert await rooms.list_public_rooms(limit=10) == []
    assert await rooms.list_invitations(carol.id) == []
    again = a_room(carol, "retro")
    await rooms.create_room(again, carol.id)
    assert [e.room.id for e in await rooms.list_public_rooms(limit=10)] == [again.id]


async def test_a_direct_room_is_never_archived(rooms: SqlRoomStore, make_user: UserFactory) -> None:
    alice, bob = await make_user(), await make_user()
    room, _ = await rooms.get_or_create_direct_room(
        a_room(alice, "a, b", Visibility.DIRECT), dm_key(alice, bob), [alice.id, bob.id]
    )
    await rooms.remove_member(room.id, alice.id)
    await rooms.remove_member(room.id, bob.id)

    assert await rooms.get_room(room.id) == room
