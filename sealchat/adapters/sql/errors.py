"""Translate database driver failures into domain errors at the adapter boundary."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from sealchat.domain.errors import Unavailable

log = logging.getLogger(__name__)


@asynccontextmanager
async def database_errors() -> AsyncIterator[None]:
    """Callers see ``Unavailable`` instead of a driver exception when the database fails.

    Integrity errors are not caught here: each store method decides what they mean.
    """
    try:
        yield
    except (OperationalError, InterfaceError, ConnectionError, OSError) as exc:
        log.warning("database unavailable: %s", type(exc).__name__)
        raise Unavailable("the database is unavailable; try again shortly") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise Unavailable("the database connection was lost; try again shortly") from exc
        raise
