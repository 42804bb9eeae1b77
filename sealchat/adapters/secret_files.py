"""Secret files (signing keys, the key service's root key): private, whole, created once."""

from __future__ import annotations

import os
from pathlib import Path


def ensure_private_directory(directory: Path) -> None:
    """Create ``directory`` readable by this user only, if it does not exist yet."""
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask


def create_secret_file(path: Path, content: bytes) -> bool:
    """Write ``content`` to ``path`` with mode 0600 unless the file exists already.

    The content goes to a complete file beside the target, which is then linked into
    place: a crash never leaves a half-written secret, and of two processes starting at
    once only one secret wins. Returns True when this call created the file.
    """
    ensure_private_directory(path.parent)
    partial = path.parent / f".{path.name}.{os.getpid()}.tmp"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(partial, path)
        except FileExistsError:
            return False  # another process created it first; use theirs
        return True
    finally:
        partial.unlink(missing_ok=True)
