"""`sealchat export --room NAME`: the whole room, opened in the client, as JSON or Markdown."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from sealchat.commands import export as export_cli
from tests.integration.conftest import ClientFactory
from tests.integration.test_chat_cli import sealchat
from tests.live_server import LiveServer

TEXTS = ["first", "a *second*\nover two lines", "third"]


async def test_export_to_json_and_markdown(
    server: LiveServer, new_client: ClientFactory, tmp_path: Path
) -> None:
    alice, bob = await new_client(connect=True), await new_client()
    room = await alice.create_room("export-room")
    await bob.join(room["id"])
    for text in TEXTS:
        await alice.send_text(room["id"], text)
    assert bob.user is not None and alice.user is not None

    target = tmp_path / "room.json"
    code, _, err = await sealchat(
        server, bob.user["username"], "export", "--room", room["id"], "-o", str(target)
    )
    assert code == 0, err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    document = json.loads(target.read_text())
    assert document["room"] == {"id": room["id"], "name": "export-room"}
    assert document["exported_by"] == bob.user["username"]
    messages = document["messages"]
    assert [m["content"]["text"] for m in messages] == TEXTS
    assert [m["seq"] for m in messages] == [1, 2, 3]
    assert {m["sender"] for m in messages} == {alice.user["username"]}

    code, out, err = await sealchat(
        server, bob.user["username"], "export", "--room", "export-room", "--format", "markdown"
    )
    assert code == 0, err
    assert out.startswith("# export-room\n")
    assert f"**{alice.user['username']}**" in out
    assert "a *second*\n  over two lines" in out

    code, _, err = await sealchat(server, bob.user["username"], "export", "--room", "nowhere")
    assert code == 1 and "error:" in err and "Traceback" not in err


async def test_export_pages_through_the_whole_room(
    server: LiveServer, new_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await new_client(connect=True)
    room = await alice.create_room("paged")
    for i in range(7):
        await alice.send_text(room["id"], f"m{i}")
    monkeypatch.setattr(export_cli, "PAGE", 2)
    opened = await export_cli.opened_messages(alice, room["id"])
    assert [m.text for m in opened] == [f"m{i}" for i in range(7)]
