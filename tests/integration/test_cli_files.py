"""`sealchat send --file`, `sealchat download` and `sealchat search`, run unattended."""

from __future__ import annotations

import os
from pathlib import Path

from sealchat.client.content import FileContent
from tests.integration.conftest import ClientFactory
from tests.integration.test_chat_cli import sealchat
from tests.live_server import LiveServer
from tests.membership import add_member


async def test_send_a_file_and_download_it_from_the_command_line(
    server: LiveServer, new_client: ClientFactory, tmp_path: Path
) -> None:
    alice, bob = await new_client(connect=True), await new_client()
    room = await alice.create_room("cli-files")
    await add_member(alice, bob, room["id"])
    bob_name = bob.user["username"]  # type: ignore[index]
    source = tmp_path / "report 2026.pdf"
    data = os.urandom(150_000)
    source.write_bytes(data)

    code, out, err = await sealchat(
        server, bob_name, "send", "--room", "cli-files", "--file", str(source)
    )
    assert code == 0, err
    assert "sent report 2026.pdf as #1" in out
    assert "100%" in err  # the progress bar's last line
    opened = await alice.next_opened()
    assert isinstance(opened.parsed, FileContent) and opened.parsed.name == "report 2026.pdf"

    alice_name = alice.user["username"]  # type: ignore[index]
    target = tmp_path / "downloads"
    target.mkdir()
    code, out, err = await sealchat(
        server, alice_name, "download", "--room", "cli-files", "--output", str(target)
    )
    assert code == 0, err
    assert (target / "report 2026.pdf").read_bytes() == data

    code, out, err = await sealchat(server, alice_name, "history", "--room", "cli-files")
    assert code == 0 and "[file] report 2026.pdf (application/pdf, 150000 bytes)" in out

    missing = tmp_path / "nope.bin"
    code, _, err = await sealchat(
        server, alice_name, "send", "--room", "cli-files", "--file", str(missing)
    )
    assert code == 2 and "Traceback" not in err


async def test_search_from_the_command_line(server: LiveServer, new_client: ClientFactory) -> None:
    alice = await new_client(connect=True)
    room = await alice.create_room("cli-search")
    for text in ["first", "Rendez-vous au Café Crème", "third", "fourth"]:
        await alice.send_text(room["id"], text)
    name = alice.user["username"]  # type: ignore[index]
    code, out, err = await sealchat(server, name, "search", "--room", "cli-search", "cafe CREME")
    assert code == 0, err
    lines = [line for line in out.splitlines() if line]
    assert [line[:4] for line in lines] == ["  #1", "> #2", "  #3", "--"]
    assert "Rendez-vous au Café Crème" in lines[1]
    assert "1 found" in err
    code, out, err = await sealchat(server, name, "search", "--room", "cli-search", "absent")
    assert code == 0 and out == "" and "0 found" in err


async def test_a_deep_search_unwraps_each_data_key_once(
    server: LiveServer, new_client: ClientFactory
) -> None:
    from sealchat.client.search import search_room

    alice = await new_client(connect=True)
    bob = await new_client()
    room = await alice.create_room("deep-search")
    await add_member(alice, bob, room["id"])
    for index in range(130):  # a data key seals at most 100 messages: two keys
        text = "the needle" if index == 3 else f"hay {index}"
        await alice.send_text(room["id"], text)
    assert alice.key_calls.generate_data_key == 2
    seen: list[int] = []
    hits = await search_room(bob, room["id"], "NEEDLE", depth=500, progress=seen.append)
    assert [hit.item.text for hit in hits] == ["the needle"]
    assert [hit.item.seq for hit in hits] == [4]
    assert seen[-1] == 130
    assert bob.key_calls.decrypt == 2
