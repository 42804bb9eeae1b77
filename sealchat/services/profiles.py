"""Chat profiles: created or renamed from verified tokens, cached so requests stay cheap."""

from __future__ import annotations

from collections import OrderedDict

from sealchat.domain.models import User
from sealchat.ports.storage import UserStore
from sealchat.ports.tokens import VerifiedIdentity
from sealchat.services.accounts import AccountControls


class ProfileService:
    def __init__(
        self,
        users: UserStore,
        cache_size: int = 50_000,
        controls: AccountControls | None = None,
    ) -> None:
        self._users = users
        self.controls = controls
        self._known: OrderedDict[str, str] = OrderedDict()
        self._cache_size = cache_size

    async def ensure(self, identity: VerifiedIdentity) -> User:
        """The profile for a verified identity, stored on first sight; ``Unauthorized``
        for a disabled account or a session an operator ended."""
        if self.controls is not None:
            self.controls.check(identity)
        user = User(id=identity.user_id, username=identity.username)
        if self._known.get(user.id) != user.username:
            await self._users.upsert_user(user)
            self._remember(user)
        else:
            self._known.move_to_end(user.id)
        return user

    async def account_created(self, user_id: str, username: str) -> None:
        """Hook for the embedded identity provider: a new account gets a profile at once."""
        user = User(id=user_id, username=username)
        await self._users.upsert_user(user)
        self._remember(user)

    def _remember(self, user: User) -> None:
        self._known[user.id] = user.username
        self._known.move_to_end(user.id)
        while len(self._known) > self._cache_size:
            self._known.popitem(last=False)
