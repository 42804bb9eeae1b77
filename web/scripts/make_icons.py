"""Draw the app's PNG icons (the favicon's lock on its gradient) with the standard library only.

Run from web/: ``python3 scripts/make_icons.py``; writes public/icons/*.png (committed).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

START, END = (0x4F, 0x6D, 0xF5), (0x7B, 0x5C, 0xF0)
WHITE = (255, 255, 255)


def rounded_box(x: float, y: float, x0: float, y0: float, x1: float, y1: float, r: float) -> float:
    """Signed distance to a rounded rectangle (negative inside)."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hx, hy = (x1 - x0) / 2 - r, (y1 - y0) / 2 - r
    dx, dy = max(abs(x - cx) - hx, 0.0), max(abs(y - cy) - hy, 0.0)
    inside = min(max(abs(x - cx) - hx, abs(y - cy) - hy), 0.0)
    return (dx * dx + dy * dy) ** 0.5 + inside - r


def shackle(x: float, y: float) -> float:
    """Distance to the lock's shackle: an arch of radius 4 around (16, 12), legs down to 15."""
    if y <= 12:
        return abs(((x - 16) ** 2 + (y - 12) ** 2) ** 0.5 - 4)
    return min(abs(x - 12), abs(x - 20)) if y <= 15 else 99.0


def pixel(x: float, y: float, maskable: bool) -> tuple[int, int, int, int]:
    """Colour at a point of the 32-unit design (the favicon's coordinates)."""
    t = (x + y) / 64
    bg = tuple(round(a + (b - a) * t) for a, b in zip(START, END, strict=True))
    coverage = 1.0 if maskable else min(max(0.5 - rounded_box(x, y, 0, 0, 32, 32, 8) * 8, 0), 1)
    if maskable:  # the lock within the safe zone: scale the design around the centre
        x, y = 16 + (x - 16) / 0.7, 16 + (y - 16) / 0.7
    body = rounded_box(x, y, 9, 15, 23, 25, 2)
    ink = max(min(0.5 - (abs(body) - 1.2) * 8, 1), 0)
    ink = max(ink, min(max(0.5 - (shackle(x, y) - 1.2) * 8, 0), 1))
    rgb = tuple(round(c + (w - c) * ink) for c, w in zip(bg, WHITE, strict=True))
    return (rgb[0], rgb[1], rgb[2], round(coverage * 255))


def png(size: int, maskable: bool) -> bytes:
    scale = 32 / size
    rows = b"".join(
        b"\0"
        + b"".join(
            bytes(pixel((i + 0.5) * scale, (j + 0.5) * scale, maskable)) for i in range(size)
        )
        for j in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "public" / "icons"
    out.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("icon-maskable-512.png", 512, True),
    ):
        (out / name).write_bytes(png(size, maskable))
        print(f"wrote {out / name}")
