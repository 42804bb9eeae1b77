"""With SEALCHAT_MIGRATE_ON_START=false a node only checks the schema: it refuses to start
on a database `sealchat migrate` has not brought up to date."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealchat.adapters.sql.migrate import SchemaOutOfDate, require_head, upgrade_to_head
from sealchat.settings import Settings
from sealchat.wiring import open_database


async def test_a_node_that_does_not_migrate_needs_a_current_schema(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, migrate_on_start=False)
    url = settings.resolved_database_url()
    with pytest.raises(SchemaOutOfDate, match="run `sealchat migrate`"):
        async with open_database(settings):
            pass
    await upgrade_to_head(url)
    await require_head(url)
    async with open_database(settings) as engine:
        assert engine.url.database
