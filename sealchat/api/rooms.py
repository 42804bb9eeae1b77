"""HTTP routes for rooms, membership, invitations, direct rooms and history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from sealchat.api.deps import ApiServices, CurrentUser, Services
from sealchat.api.schemas import MAX_SEQ, AddMember, CreateRoom, OpenDirect
from sealchat.services import events
from sealchat.services.rooms import InviteResult

router = APIRouter(prefix="/api", tags=["rooms"])


@router.get("/rooms")
async def my_rooms(user: CurrentUser, found: Services) -> dict[str, Any]:
    mine = await found.read_state.my_rooms(user)
    return {"rooms": [events.my_room_payload(r) for r in mine]}


@router.post("/rooms", status_code=201)
async def create_room(body: CreateRoom, user: CurrentUser, found: Services) -> dict[str, Any]:
    created = await found.rooms.create(user, body.name, body.visibility)
    return {"room": events.my_room_payload(created)}


@router.get("/rooms/directory")
async def directory(
    user: CurrentUser, found: Services, limit: Annotated[int, Query(ge=1, le=500)] = 200
) -> dict[str, Any]:
    entries = await found.rooms.directory(limit)
    return {"rooms": [events.directory_payload(e) for e in entries]}


@router.get("/rooms/{room_id}")
async def get_room(room_id: str, user: CurrentUser, found: Services) -> dict[str, Any]:
    return {"room": events.my_room_payload(await found.rooms.get(user, room_id))}


@router.post("/rooms/{room_id}/join")
async def join_room(room_id: str, user: CurrentUser, found: Services) -> dict[str, Any]:
    return {"room": events.my_room_payload(await found.rooms.join(user, room_id))}


@router.post("/rooms/{room_id}/leave", status_code=204)
async def leave_room(room_id: str, user: CurrentUser, found: Services) -> Response:
    await found.rooms.leave(user, room_id)
    return Response(status_code=204)


@router.get("/rooms/{room_id}/members")
async def list_members(room_id: str, user: CurrentUser, found: Services) -> dict[str, Any]:
    members = await found.read_state.members(user, room_id)
    online = await found.presence.online(m.user.id for m in members)
    return {"members": [events.member_payload(m, m.user.id in online) for m in members]}


@router.post("/rooms/{room_id}/invitations", status_code=201)
async def invite(
    room_id: str, body: AddMember, user: CurrentUser, found: Services, response: Response
) -> dict[str, Any]:
    result = await found.rooms.invite(user, room_id, body.username)
    return await _invite_reply(result, found, response)


# Adding a member is inviting them: nobody joins a room without accepting.
@router.post("/rooms/{room_id}/members", status_code=201)
async def add_member(
    room_id: str, body: AddMember, user: CurrentUser, found: Services, response: Response
) -> dict[str, Any]:
    result = await found.rooms.invite(user, room_id, body.username)
    return await _invite_reply(result, found, response)


@router.delete("/rooms/{room_id}/invitations/{user_id}", status_code=204)
async def cancel_invitation(
    room_id: str, user_id: str, user: CurrentUser, found: Services
) -> Response:
    await found.rooms.cancel_invitation(user, room_id, user_id)
    return Response(status_code=204)


@router.get("/invitations")
async def my_invitations(user: CurrentUser, found: Services) -> dict[str, Any]:
    pending = await found.rooms.invitations(user)
    return {"invitations": [events.invitation_payload(i) for i in pending]}


@router.post("/invitations/{room_id}/accept")
async def accept_invitation(room_id: str, user: CurrentUser, found: Services) -> dict[str, Any]:
    return {"room": events.my_room_payload(await found.rooms.accept_invitation(user, room_id))}


@router.post("/invitations/{room_id}/decline", status_code=204)
async def decline_invitation(room_id: str, user: CurrentUser, found: Services) -> Response:
    await found.rooms.decline_invitation(user, room_id)
    return Response(status_code=204)


@router.delete("/rooms/{room_id}/members/{user_id}", status_code=204)
async def remove_member(room_id: str, user_id: str, user: CurrentUser, found: Services) -> Response:
    await found.rooms.remove_member(user, room_id, user_id)
    return Response(status_code=204)


@router.post("/dms")
async def open_direct(body: OpenDirect, user: CurrentUser, found: Services) -> dict[str, Any]:
    return {"room": events.my_room_payload(await found.rooms.open_direct(user, body.username))}


async def _invite_reply(
    result: InviteResult, found: ApiServices, response: Response
) -> dict[str, Any]:
    if result.status != "invited":
        response.status_code = 200
    reply: dict[str, Any] = {"status": result.status, "invitation": None, "member": None}
    if result.invitation is not None:
        reply["invitation"] = events.invitation_payload(result.invitation)
    if result.member is not None:
        online = await found.presence.online([result.member.user.id])
        reply["member"] = events.member_payload(result.member, result.member.user.id in online)
    return reply


@router.get("/rooms/{room_id}/messages")
async def history(
    room_id: str,
    user: CurrentUser,
    found: Services,
    before_seq: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None,
    after_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    page, has_more = await found.messages.history(
        user.id, room_id, before_seq=before_seq, after_seq=after_seq, limit=limit
    )
    return {"messages": [events.message_payload(m) for m in page], "has_more": has_more}
