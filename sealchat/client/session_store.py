"""Where ``sealchat login`` keeps a session: the refresh token, never the password.

One profile per server and account (``--profile``, default ``default``). A profile is a
small JSON file ``{config_dir}/profiles/NAME.json`` (mode 0600, in a 0700 directory) naming
the server and the account; the refresh token goes to the system keyring when one is usable
(``keyring``), else into that same file. ``config_dir`` is ``SEALCHAT_CONFIG_DIR`` or the
user's config directory (``platformdirs``). ``SEALCHAT_KEYRING=off`` keeps tokens in the
file even where a keyring exists; ``PYTHON_KEYRING_BACKEND`` picks a keyring backend.

The refresh token rotates at every use and a spent one presented again ends the session at
the server, so a refresh holds the profile's lock (``locked``) from reading the newest token
to storing its successor: several processes can share a profile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sealchat.client.errors import ClientError

CONFIG_DIR_ENV = "SEALCHAT_CONFIG_DIR"
KEYRING_ENV = "SEALCHAT_KEYRING"
KEYRING_SERVICE = "sealchat"
DEFAULT_PROFILE = "default"
PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
LOCK_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class StoredSession:
    url: str
    username: str
    user_id: str
    refresh_token: str
    storage: str = "file"  # "keyring" or "file": where the refresh token is
    mode: str = "embedded"  # whose refresh token: "embedded", "oidc" or "cognito"


def config_dir() -> Path:
    """``SEALCHAT_CONFIG_DIR``, else the user's config directory for sealchat."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("sealchat", appauthor=False))


def check_profile(name: str) -> str:
    if not PROFILE_NAME.match(name):
        raise ClientError(
            "invalid_input", "a profile name is 1-64 letters, digits, '.', '_' or '-'"
        )
    return name


def usable_keyring() -> Any | None:
    """The system keyring backend, or None where none works (headless machines, CI)."""
    if os.environ.get(KEYRING_ENV, "").lower() in ("0", "off", "false", "no"):
        return None
    try:
        import keyring
        from keyring.backends import fail, null

        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration: fall back to the file
        return None
    if isinstance(backend, fail.Keyring | null.Keyring) or backend.priority <= 0:
        return None
    return backend


class SessionStore:
    """The profiles under one config directory."""

    def __init__(self, directory: Path | None = None, keyring_backend: Any | None = None) -> None:
        self.directory = (directory or config_dir()) / "profiles"
        self._keyring = keyring_backend if keyring_backend is not None else usable_keyring()

    @property
    def uses_keyring(self) -> bool:
        return self._keyring is not None

    def path(self, profile: str) -> Path:
        return self.directory / f"{check_profile(profile)}.json"

    def where(self, session: StoredSession, profile: str) -> str:
        """Where the token of ``profile`` is, said for people."""
        if session.storage == "keyring":
            return f"the system keyring ({type(self._keyring).__name__})"
        return str(self.path(profile))

    def load(self, profile: str) -> StoredSession | None:
        path = self.path(profile)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ClientError("invalid_input", f"unreadable profile file {path}: {exc}") from exc
        if data.get("storage") == "keyring":
            data["refresh_token"] = self._keyring_get(profile)
            if data["refresh_token"] is None:
                return None
        try:
            return StoredSession(**data)
        except TypeError as exc:
            raise ClientError("invalid_input", f"unreadable profile file {path}") from exc

    def save(self, profile: str, session: StoredSession) -> StoredSession:
        """Store the session (the token in the keyring when usable); returns what was stored."""
        data = asdict(session)
        storage = "file"
        if self._keyring is not None:
            try:
                self._keyring.set_password(KEYRING_SERVICE, profile, session.refresh_token)
                storage = "keyring"
            except Exception:  # a locked or unreachable keyring: keep the token in the file
                storage = "file"
        data["storage"] = storage
        if storage == "keyring":
            del data["refresh_token"]
        self._write_private(self.path(profile), json.dumps(data, indent=2) + "\n")
        return StoredSession(**{**asdict(session), "storage": storage})

    def delete(self, profile: str) -> bool:
        """Forget the profile; returns whether there was one."""
        path = self.path(profile)
        existed = path.exists()
        if self._keyring is not None:
            with contextlib.suppress(Exception):
                self._keyring.delete_password(KEYRING_SERVICE, profile)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return existed

    def profiles(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json"))

    @contextlib.asynccontextmanager
    async def locked(self, profile: str) -> AsyncIterator[None]:
        """Hold the profile's lock (between processes) while the block runs."""
        try:
            import fcntl
        except ImportError:  # Windows: no lock; one process per profile at a time
            yield
            return
        self._private_directory()
        fd = os.open(
            self.directory / f"{check_profile(profile)}.lock", os.O_RDWR | os.O_CREAT, 0o600
        )
        try:
            waited = 0.0
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if waited >= LOCK_WAIT_SECONDS:
                        raise ClientError(
                            "unavailable", f"profile {profile!r} is busy in another sealchat"
                        ) from None
                    await asyncio.sleep(0.05)
                    waited += 0.05
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _keyring_get(self, profile: str) -> str | None:
        if self._keyring is None:
            raise ClientError(
                "unavailable",
                f"profile {profile!r} keeps its session in a system keyring that is not "
                "available now: unlock it, or `sealchat login` again",
            )
        try:
            value = self._keyring.get_password(KEYRING_SERVICE, profile)
        except Exception as exc:
            raise ClientError("unavailable", f"the system keyring failed: {exc}") from exc
        return value if isinstance(value, str) else None

    def _private_directory(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)

    def _write_private(self, path: Path, text: str) -> None:
        """Write atomically, readable by the user alone from the first byte."""
        self._private_directory()
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".profile-")  # 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
