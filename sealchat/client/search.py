"""Search over sealed history, in the client: the server cannot read what it would search.

Pages back through a room's history to a chosen depth, opens every message (one key
service unwrap per data key: the keyring caches them), applies edits through a
``RoomTimeline`` and matches every word of the query against texts and file names,
normalized for case and accents. Nothing is written anywhere: the plaintext stays in memory.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sealchat.client.content import FileContent, parse_content
from sealchat.client.models import Message
from sealchat.client.room_timeline import RoomTimeline, TimelineItem

if TYPE_CHECKING:
    from sealchat.client.client import SealchatClient

PAGE = 200
DEFAULT_DEPTH = 1000


def normalize(text: str) -> str:
    """Lower case without accents: ``"Élan"`` and ``"elan"`` match; so do ``ß`` and ``ss``."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped).casefold()


def query_words(query: str) -> list[str]:
    return [word for word in normalize(query).split() if word]


def searchable_text(item: TimelineItem) -> str | None:
    """What a search looks at: a text's (latest) text, a file's name."""
    if isinstance(item.content, FileContent):
        return item.content.name
    return item.text


def matches(text: str, words: list[str]) -> bool:
    found = normalize(text)
    return bool(words) and all(word in found for word in words)


@dataclass(frozen=True, slots=True)
class SearchHit:
    item: TimelineItem
    message: Message
    before: list[TimelineItem]  # context: the items just before, oldest first
    after: list[TimelineItem]
    # created_at of the hit and of its context items, by message id
    times: dict[str, str]


async def search_room(
    client: SealchatClient,
    room_id: str,
    query: str,
    *,
    depth: int = DEFAULT_DEPTH,
    context: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[SearchHit]:
    """Hits among the room's last ``depth`` messages, oldest first. ``progress`` gets
    the number of messages opened so far after each page."""
    words = query_words(query)
    timeline = RoomTimeline()
    by_id: dict[str, Message] = {}
    before_seq: int | None = None
    seen = 0
    while seen < depth:
        page = await client.history(room_id, before_seq=before_seq, limit=min(PAGE, depth - seen))
        if not page:
            break
        seen += len(page)
        for opened in [await client.open(message) for message in page]:
            if not opened.ok or opened.content is None:
                continue
            message = opened.message
            by_id[message["id"]] = message
            timeline.add(
                message["id"], message["seq"], message["sender_id"], parse_content(opened.content)
            )
        if progress is not None:
            progress(seen)
        before_seq = page[0]["seq"]
        if before_seq <= 1:
            break
    items = timeline.items()
    hits = []
    for index, item in enumerate(items):
        text = searchable_text(item)
        if text is not None and matches(text, words):
            before = items[max(0, index - context) : index]
            after = items[index + 1 : index + 1 + context]
            times = {i.id: str(by_id[i.id]["created_at"]) for i in (*before, item, *after)}
            hits.append(SearchHit(item, by_id[item.id], before, after, times))
    return hits
