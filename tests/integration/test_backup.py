"""`sealchat backup` while the server writes, then `sealchat restore` into a new place:
the restored server opens every message the backup holds, with the root key brought
back separately."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from sealchat.adapters.sql.migrate import alembic_config
from sealchat.client import SealchatClient
from tests.integration.conftest import PASSWORD, unique_name
from tests.live_server import TEST_ENV, start_server


async def sealchat(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **TEST_ENV}
    env.pop("SEALCHAT_DATA_DIR", None)
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "sealchat", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


async def test_backup_while_writing_then_restore_elsewhere(tmp_path: Path) -> None:
    source, copy, target = tmp_path / "source", tmp_path / "backup", tmp_path / "target"
    server = start_server(source)
    name = unique_name()
    try:
        async with SealchatClient(server.url) as alice:
            await alice.register(name, PASSWORD)
            room = await alice.create_room("kept")
            await alice.connect()
            for i in range(5):
                await alice.send_text(room["id"], f"before {i}")

            async def keep_writing() -> None:
                for i in range(15):
                    await alice.send_text(room["id"], f"during {i}")

            writing = asyncio.create_task(keep_writing())
            made = await sealchat("backup", str(copy), "--data-dir", str(source))
            await writing
    finally:
        server.stop()
    assert made.returncode == 0, made.stderr
    root_key = source / "kms" / "root.key"
    assert "root key is NOT in this backup" in made.stdout
    assert str(root_key.resolve()) in made.stdout or str(root_key) in made.stdout
    assert sorted(p.name for p in copy.iterdir()) == ["kms.db", "manifest.json", "sealchat.db"]
    manifest = json.loads((copy / "manifest.json").read_text())
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert manifest["files"]["sealchat.db"]["schema"] == head
    material = root_key.read_bytes().strip()
    for part in copy.iterdir():
        assert material not in part.read_bytes()
    assert oct((copy / "sealchat.db").stat().st_mode & 0o777) == "0o600"

    restored = await sealchat("restore", str(copy), "--data-dir", str(target))
    assert restored.returncode == 0, restored.stderr
    assert "now put the root key" in restored.stdout
    # The root key comes back by its own way.
    shutil.copy2(root_key, target / "kms" / "root.key")

    server = start_server(target)
    try:
        async with SealchatClient(server.url) as alice:
            await alice.login(name, PASSWORD)
            opened = await alice.history_opened(room["id"], limit=200)
    finally:
        server.stop()
    texts = [m.text for m in opened]
    # One moment's copy: every message up to some point, in order, none after a gap.
    assert texts[:5] == [f"before {i}" for i in range(5)]
    assert texts[5:] == [f"during {i}" for i in range(len(texts) - 5)]
    assert [m.message["seq"] for m in opened] == list(range(1, len(opened) + 1))


async def test_backup_and_restore_refuse_to_overwrite(
    tmp_path: Path,
) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    data = tmp_path / "data"
    made = await sealchat("migrate", "--data-dir", str(data))
    assert made.returncode == 0, made.stderr
    busy = await sealchat("backup", str(tmp_path / "busy"), "--data-dir", str(data))
    assert busy.returncode == 1 and "not empty" in busy.stderr
    nothing = await sealchat("restore", str(tmp_path / "busy"), "--data-dir", str(data))
    assert nothing.returncode == 1 and "no Sealchat backup" in nothing.stderr
    made = await sealchat("backup", str(tmp_path / "copy"), "--data-dir", str(data))
    assert made.returncode == 0, made.stderr
    again = await sealchat("restore", str(tmp_path / "copy"), "--data-dir", str(data))
    assert again.returncode == 1 and "--replace" in again.stderr
