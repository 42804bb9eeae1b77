"""What the API layer needs from wiring, and the FastAPI dependencies that hand it out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sealchat.domain.errors import Unauthorized
from sealchat.domain.models import User
from sealchat.ports.presence import Presence
from sealchat.ports.tokens import TokenVerifier
from sealchat.services.grants import GrantIssuer
from sealchat.services.messages import MessageService
from sealchat.services.profiles import ProfileService
from sealchat.services.read_state import ReadStateService
from sealchat.services.rooms import RoomService


@dataclass(frozen=True, slots=True)
class ApiServices:
    verifier: TokenVerifier
    profiles: ProfileService
    rooms: RoomService
    messages: MessageService
    presence: Presence
    grants: GrantIssuer
    read_state: ReadStateService


def services(request: Request) -> ApiServices:
    found: ApiServices = request.app.state.services
    return found


_bearer = HTTPBearer(auto_error=False, description="An access token from /api/auth/login")


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None:
        raise Unauthorized("missing bearer token")
    found = services(request)
    identity = await found.verifier.verify(credentials.credentials)
    return await found.profiles.ensure(identity)


Services = Annotated[ApiServices, Depends(services)]
CurrentUser = Annotated[User, Depends(current_user)]
