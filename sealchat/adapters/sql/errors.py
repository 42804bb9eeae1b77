"""Translate database driver failures into domain errors at the adapter boundary."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from sealchat.domain.errors import Unavailable

log = logging.getLogger(__name__)

# SQLSTATE classes that mean "the database is not there right now": connection
# exceptions, a database that was dropped, too many connections, operator intervention
# (shutdown, crash recovery).
UNAVAILABLE_SQLSTATES = ("08", "3D000", "53", "57P")


def means_unavailable(exc: DBAPIError) -> bool:
    if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(UNAVAILABLE_SQLSTATES)


@asynccontextmanager
async def database_errors() -> AsyncIterator[None]:
    """Callers see ``Unavailable`` instead of a driver exception when the database fails.

    Integrity errors are not caught here: each store method decides what they mean.
    """
    try:
        yield
    except IntegrityError:
        raise
    except DBAPIError as exc:
        if not means_unavailable(exc):
            raise
        log.warning("database unavailable: %s", str(exc.orig or exc).splitlines()[0])
        raise Unavailable("the database is unavailable; try again shortly") from exc
    except (ConnectionError, OSError) as exc:
        log.warning("database unavailable: %s", type(exc).__name__)
        raise Unavailable("the database is unavailable; try again shortly") from exc
