"""Sealed files in the browser (issue #11): two people exchange an image and a PDF (chosen
with the Attach button, dropped on the room, pasted); the image shows inline from its
thumbnail, also after a reload, and full size on click; the PDF downloads and is the very
file sent; a changed blob says "Unable to decrypt"; a cancelled upload sends nothing."""

from __future__ import annotations

import json
import struct
import zlib

from playwright.async_api import Route, expect

from tests.browser.chat_page import two_people_in_a_room
from tests.browser.test_history_and_a11y import axe_violations
from tests.live_server import LiveServer


def png(width: int, height: int) -> bytes:
    """A real PNG: a gradient, so its bytes are not trivial."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 4 % 256, y * 5 % 256, 160)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pdf() -> bytes:
    """A small PDF with some binary bytes in it (every byte value, to catch any re-encoding)."""
    body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n"
    return body + bytes(range(256)) * 300 + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def test_two_people_exchange_an_image_and_a_pdf(browser: object, server: LiveServer) -> None:
    alice, bob, room = await two_people_in_a_room(browser, server.url, "files")
    await bob.open_room(room)
    image, document = png(640, 480), pdf()

    await alice.attach("photo.png", "image/png", image)
    await alice.attach("plan.pdf", "application/pdf", document)
    await expect(alice.image("photo.png")).to_be_visible()
    await expect(alice.file_card("plan.pdf")).to_be_visible()
    await alice.wait_until_sent(2)

    # Bob sees the image inline (from its thumbnail, at its aspect ratio) and the PDF's card.
    await expect(bob.image("photo.png")).to_be_visible()
    await expect(bob.file_card("plan.pdf")).to_contain_text("PDF")
    await bob.page.reload()
    thumbnail = bob.image("photo.png")
    await expect(thumbnail).to_be_visible()
    await expect(thumbnail).to_have_attribute("width", "320")
    await expect(thumbnail).to_have_attribute("height", "240")
    assert await thumbnail.evaluate("img => img.complete && img.naturalWidth > 0")
    assert (await thumbnail.get_attribute("src") or "").startswith("blob:")

    # Full size on click: downloaded and decrypted in the browser, in a dialog.
    await bob.page.get_by_role("button", name="Open image photo.png at full size").click()
    dialog = bob.page.get_by_role("dialog", name="photo.png")
    full = dialog.get_by_role("img", name="photo.png")
    await expect(full).to_be_visible()
    await expect(full).to_have_js_property("naturalWidth", 640)
    assert await axe_violations(bob.page) == [], "the image dialog"
    await bob.page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()

    # The PDF downloads, decrypted: the very bytes Alice chose.
    assert await bob.download("plan.pdf") == document

    # A blob changed on its way (one bit): the segment check fails, nothing is saved.
    async def tamper(route: Route) -> None:
        response = await route.fetch()
        body = bytearray(await response.body())
        body[100] ^= 1
        await route.fulfill(response=response, body=bytes(body))

    await bob.page.route("**/api/blobs/*", tamper)
    await bob.file_card("plan.pdf").click()
    failure = bob.log.get_by_role("alert").filter(has_text="Unable to decrypt")
    await expect(failure).to_contain_text("authentication_failed")
    await bob.page.unroute("**/api/blobs/*")

    violations = await axe_violations(bob.page)
    assert violations == [], json.dumps(violations, indent=1)
    assert not alice.problems and not bob.problems, alice.problems + bob.problems


async def test_drop_and_paste_attach_and_a_cancelled_upload_sends_nothing(
    browser: object, server: LiveServer
) -> None:
    alice, bob, room = await two_people_in_a_room(browser, server.url, "drops")
    await bob.open_room(room)

    await alice.drop_file("dropped.txt", "text/plain", "dropped on the room")
    await alice.paste_file("pasted.txt", "text/plain", "pasted into the box")
    await expect(bob.file_card("dropped.txt")).to_be_visible()
    await expect(bob.file_card("pasted.txt")).to_be_visible()
    assert await bob.download("pasted.txt") == b"pasted into the box"

    # An upload held on its way shows its progress where the message will be; Cancel stops it.
    held: list[Route] = []

    async def hold(route: Route) -> None:
        held.append(route)

    await alice.page.route("**/api/rooms/*/blobs", hold)
    await alice.attach("big.bin", "application/octet-stream", b"\x00" * 300_000)
    progress = alice.upload("big.bin")
    await expect(progress).to_be_visible()
    await expect(progress).to_have_attribute("aria-valuenow", "0")
    assert await axe_violations(alice.page) == [], "an upload in progress"
    await alice.log.get_by_role("button", name="Cancel upload of big.bin").click()
    await expect(progress).to_have_count(0)
    await alice.page.unroute("**/api/rooms/*/blobs")

    # Anything sent after the cancel arrives after where it would have been: it never came.
    await alice.send("after the cancel")
    await expect(bob.message("after the cancel")).to_be_visible()
    await expect(bob.file_card("big.bin")).to_have_count(0)
    await alice.page.reload()
    await expect(alice.message("after the cancel")).to_be_visible()
    await expect(alice.file_card("big.bin")).to_have_count(0)
    assert not bob.problems, bob.problems
