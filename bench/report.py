"""Tables, the results section of docs/benchmarks.md, and plots, from one hotpath run."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from servers import REFERENCE

Row = dict[str, Any]
START, END = "<!-- bench:results -->", "<!-- /bench:results -->"
SEALCHAT = ("sealchat", "sealchat-pg")


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def ratio(mine: float | None, reference: float | None, suffix: str = "") -> str:
    if not mine or not reference:
        return "-"
    return f"{mine / reference:.2f}{suffix}"


def short_error(error: str) -> str:
    """A failed cell's error, short enough for a table cell."""
    code = re.search(r'"code": ?"(\w+)"', error)
    phase = re.match(r".*?'message': '(\w[\w -]*):", error)
    if code:
        where = f" in the {phase.group(1)} phase" if phase else ""
        return f"failed: a send was refused{where} (`{code.group(1)}`)"
    return "failed: " + error.replace("|", "/").replace("\n", " ")[:100]


def median_rows(
    rows: list[Row], size_key: str, metric: str, own_medians: tuple[str, ...] = ()
) -> list[Row]:
    """One row per (size, server), in first-seen order: the run whose ``metric`` is the
    median of that cell's runs (the lower one of an even count; failed runs left out, a
    cell whose runs all failed keeps its first), with every run's ``metric`` in ``runs``
    (None for a failed run) and, for fan-out, every run's busy stall in ``runStalls``.

    ``own_medians``: figures that are the median of their own across the cell's runs, not
    the chosen run's (a latency percentile is not tied to the run of median CPU), with
    every run's value in ``runs_<name>``."""
    cells: dict[tuple[int, str], list[Row]] = {}
    for row in rows:
        cells.setdefault((row[size_key], row["server"]), []).append(row)
    chosen = []
    for runs in cells.values():
        good = sorted(
            (r for r in runs if "error" not in r and r.get(metric) is not None),
            key=lambda r: float(r[metric]),
        )
        row = dict(good[(len(good) - 1) // 2]) if good else dict(runs[0])
        if len(runs) > 1:
            row["runs"] = [None if "error" in r else r.get(metric) for r in runs]
            if "busyLagMax" in row:
                row["runStalls"] = [r.get("lagMax") for r in runs]
                row["runBusyStalls"] = [_busiest(r) for r in runs]
            for name in own_medians:
                values = [r.get(name) if "error" not in r else None for r in runs]
                row[f"runs_{name}"] = values
                present = sorted(float(v) for v in values if v is not None)
                if present:
                    row[name] = present[(len(present) - 1) // 2]
        chosen.append(row)
    return chosen


def _busiest(row: Row) -> float | None:
    """The longest stall of a fan-out run that the server spent on its own CPU."""
    values = [v for v in (row.get("busyLagMax"), row.get("pacedBusyLagMax")) if v is not None]
    return max(values, default=None)


def repeats_note(small: list[Row], fanout: list[Row], repeat: int) -> str:
    """What each cell's runs gave, when every cell ran more than once."""

    def runs(row: Row, digits: int) -> str:
        return " / ".join("failed" if v is None else fmt(v, digits) for v in row["runs"])

    parts = [
        f"Every cell ran {repeat} times, the servers taking turns; the tables show each "
        "cell's median run (small rooms by messages/s, fan-out by CPU µs per delivery), "
        "except the paced p50 and p99, which are the medians of their own over the runs. "
        "All runs:"
    ]
    for r in small:
        if "runs" in r:
            parts.append(f"room of {r['members']} {r['server']} {runs(r, 0)} messages/s;")
    for r in fanout:
        if "runs" in r:
            stalls = " / ".join(fmt(v) for v in r.get("runStalls", []))
            paced = " / ".join(
                "failed" if v is None else fmt(v) for v in r.get("runs_pacedP99", [])
            )
            details = [f"stall {stalls} ms"] if stalls else []
            details += [f"paced p99 {paced} ms"] if paced else []
            parts.append(
                f"{r['recipients']} receivers {r['server']} {runs(r, 2)} µs"
                + (f" ({', '.join(details)});" if details else ";")
            )
    return " ".join(parts)


def _by(rows: list[Row], size_key: str) -> dict[int, dict[str, Row]]:
    cells: dict[int, dict[str, Row]] = {}
    for row in rows:
        cells.setdefault(row[size_key], {})[row["server"]] = row
    return dict(sorted(cells.items()))


def small_rooms_table(rows: list[Row], servers: list[str]) -> str:
    lines = [
        "| members | server | messages/s | vs node | p50 ms | p99 ms "
        "| server / load / others CPU | first failed at | steps |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size, cell in _by(rows, "members").items():
        ref = cell.get(REFERENCE, {}).get("rate")
        for name in servers:
            r = cell.get(name)
            if r is None:
                continue
            if "error" in r:
                lines.append(f"| {size} | {name} | {short_error(r['error'])} |||||| |")
                continue
            flag = " ⚠ load-bound" if r["loadBound"] else ""
            shares = " / ".join(
                "-" if r.get(key) is None else f"{r[key]:.0%}"
                for key in ("serverCpu", "loadCpu", "otherCpu")
            )
            lines.append(
                f"| {size} | {name} | {fmt(r['rate'], 0)}{flag} | "
                f"{ratio(r['rate'], ref) if name != REFERENCE else '-'} | {fmt(r['p50'])} | "
                f"{fmt(r['p99'])} | {shares} | {fmt(r['firstFailed'], 0)} | "
                f"{len(r['steps'])} |"
            )
    return "\n".join(lines)


def fanout_table(rows: list[Row], servers: list[str]) -> str:
    lines = [
        "| receivers | server | CPU µs/delivery | vs node | vs floor | deliveries/s "
        "| loop stall max ms (saturated / paced) | paced msg/s | paced p50 / p99 ms "
        "| p99 vs node | idle p50 / p99 ms | server / load / others CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size, cell in _by(rows, "recipients").items():
        ref, floor = cell.get(REFERENCE, {}), cell.get("floor", {})
        for name in servers:
            r = cell.get(name)
            if r is None:
                continue
            if "error" in r:
                lines.append(f"| {size} | {name} | {short_error(r['error'])} ||||||||| |")
                continue
            flag = " ⚠ load-bound" if r["loadBound"] else ""
            lines.append(
                f"| {size} | {name} | {fmt(r['cpuUsPerDelivery'], 2)} | "
                f"{ratio(r['cpuUsPerDelivery'], ref.get('cpuUsPerDelivery'), 'x')} | "
                f"{ratio(r['cpuUsPerDelivery'], floor.get('cpuUsPerDelivery'), 'x')} | "
                f"{fmt(r['deliveriesPerSecond'], 0)}{flag} | "
                f"{fmt(r['lagMax'])} / {fmt(r['pacedLagMax'])}{_busy(r)} | "
                f"{fmt(r['pacedRate'], 0)} | "
                f"{fmt(r['pacedP50'])} / {fmt(r['pacedP99'])} | "
                f"{ratio(r['pacedP99'], ref.get('pacedP99'), 'x')} | "
                f"{fmt(r['p50'])} / {fmt(r['p99'])} | "
                f"{r['serverCpu']:.0%} / {r['loadCpu']:.0%} / {r['otherCpu']:.0%} |"
            )
    return "\n".join(lines)


def _busy(row: dict[str, Any]) -> str:
    """The part of the stalls the server's loop spent on the CPU (Sealchat's probe only)."""
    if row.get("busyLagMax") is None:
        return ""
    return f" (busy {fmt(row['busyLagMax'])} / {fmt(row.get('pacedBusyLagMax'))})"


def _mark(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "**not met**")


def targets_table(small: list[Row], fanout: list[Row]) -> str:
    """Targets 1-2 of issue 7 for Sealchat (SQLite), from this run's numbers."""
    lines = ["| target | measured (sealchat vs node) | |", "|---|---|---|"]

    failed: set[tuple[str, int]] = set()

    def get(rows: list[Row], key: str, size: int, name: str, field: str) -> float | None:
        for r in rows:
            if r[key] == size and r["server"] == name:
                if "error" in r:
                    failed.add((name, size))
                    return None
                value = r.get(field)
                return None if value is None else float(value)
        return None

    def line(
        label: str,
        mine: float | None,
        ref: float | None,
        ok: Callable[..., bool],
        digits: int = 2,
    ) -> None:
        if ("sealchat", size) in failed:
            lines.append(f"| {label} | sealchat's cell failed (below) | **not met** |")
        elif mine is None or ref is None:
            lines.append(f"| {label} | not measured | - |")
        else:
            lines.append(
                f"| {label} | {fmt(mine, digits)} vs {fmt(ref, digits)} ({ratio(mine, ref, 'x')}) "
                f"| {_mark(ok(mine, ref))} |"
            )

    for size in sorted({r["members"] for r in small}):
        line(
            f"1. messages/s, room of {size}, p99 ≤ 50 ms, ≥ node",
            get(small, "members", size, "sealchat", "rate"),
            get(small, "members", size, REFERENCE, "rate"),
            lambda a, b: a >= b,
            digits=0,
        )
    for size in sorted({r["recipients"] for r in fanout}):
        line(
            f"2. CPU µs per delivery, {size} receivers, ≤ node",
            get(fanout, "recipients", size, "sealchat", "cpuUsPerDelivery"),
            get(fanout, "recipients", size, REFERENCE, "cpuUsPerDelivery"),
            lambda a, b: a <= b,
        )
        line(
            f"2. p99 ms at {size} receivers, paced, ≤ node",
            get(fanout, "recipients", size, "sealchat", "pacedP99"),
            get(fanout, "recipients", size, REFERENCE, "pacedP99"),
            lambda a, b: a <= b,
            digits=1,
        )
    biggest = max((r["recipients"] for r in fanout), default=None)
    if biggest is not None:
        stall = get(fanout, "recipients", biggest, "sealchat", "lagMax")
        node = get(fanout, "recipients", biggest, REFERENCE, "lagMax")
        mark = _mark(None if stall is None else stall < 10)
        if ("sealchat", biggest) in failed:
            mark = "**not met** (the cell failed)"
        row = next(
            (r for r in fanout if r["recipients"] == biggest and r["server"] == "sealchat"), {}
        )
        busy = _busiest(row)
        if row.get("runStalls"):  # repeated: the worst run counts, not the median one
            stall = max((v for v in row["runStalls"] if v is not None), default=stall)
            busy = max((v for v in row["runBusyStalls"] if v is not None), default=busy)
            mark = _mark(None if stall is None else stall < 10)
        if busy is not None and stall is not None and stall >= 10:
            mark += (
                f"; of it on the server's CPU at most {fmt(busy)} ms (the rest: other processes)"
            )
        lines.append(
            f"| 2. longest event-loop stall, {biggest} receivers, < 10 ms "
            f"| {fmt(stall)} ms (node {fmt(node)} ms) | {mark} |"
        )
    return "\n".join(lines)


def render(result: dict[str, Any]) -> str:
    meta, servers = result["meta"], result["meta"]["servers"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    flags = [
        f"{r['server']} ({r.get('members') or r.get('recipients')})"
        for r in result["smallRooms"] + result["fanout"]
        if r.get("loadBound")
    ]
    parts = [
        f"`{meta['command']}`, {meta['date']}, {meta['mode']} mode, "
        f"{meta['seconds']:.0f} s. Machine: {meta['cpu']}, {meta['cores']} cores, "
        f"{meta['pinning']}; machine load average at the start {meta['loadavg']}.",
        "",
        f"Versions: {versions}.",
        "",
        "**Targets** (issue 7; Sealchat on SQLite against the Node reference that stores):",
        "",
        targets_table(result["smallRooms"], result["fanout"]),
        "",
        "**1. Small rooms**: the highest offered messages/s served with p99 ≤ 50 ms and "
        "nothing lost (every member sending, acks on):",
        "",
        small_rooms_table(result["smallRooms"], servers),
        "",
        f"**2. Fan-out**: paced load {meta['fanoutRate']:,.0f} deliveries/s "
        "(messages/s = that / receivers):",
        "",
        fanout_table(result["fanout"], servers),
    ]
    if meta.get("repeat", 1) > 1:
        parts += ["", repeats_note(result["smallRooms"], result["fanout"], meta["repeat"])]
    if flags:
        parts += [
            "",
            "⚠ load-bound: the load generator used over 90 % of its core in "
            + ", ".join(flags)
            + "; there the load, not the server, may have been the limit.",
        ]
    if result["notes"]:
        parts += ["", *[f"- {note}" for note in result["notes"]]]
    if result["plots"]:
        parts += ["", *[f"![{Path(p).stem}]({Path(p).name})" for p in result["plots"]]]
    return "\n".join(parts)


def write_docs(doc: Path, section: str) -> None:
    text = doc.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{doc} has no {START} … {END} markers")
    doc.write_text(pattern.sub(lambda _: f"{START}\n{section}\n{END}", text))


def plot(result: dict[str, Any], directory: Path) -> tuple[list[Path], str | None]:
    """Throughput against offered load and latency percentiles, as PNGs (matplotlib)."""
    try:
        # Optional (the `bench` extra): imported by name so mypy need not know it.
        importlib.import_module("matplotlib").use("Agg")
        plt = importlib.import_module("matplotlib.pyplot")
        ticker = importlib.import_module("matplotlib.ticker")
    except ImportError:
        return [], "matplotlib is not installed (`pip install -e '.[bench]'`): no plots written"
    servers = result["meta"]["servers"]
    plain = ticker.FuncFormatter(lambda value, _: f"{value:,.0f}")
    # On log axes, label the minor ticks at 2 and 5 times a power of ten only.
    sparse = ticker.FuncFormatter(
        lambda value, _: f"{value:,.0f}" if f"{value:.0e}"[0] in "25" else ""
    )
    small = [r for r in result["smallRooms"] if "error" not in r]
    sizes = sorted({r["members"] for r in small})
    written = []
    if sizes:
        fig, axes = plt.subplots(2, len(sizes), figsize=(5.5 * len(sizes), 8), squeeze=False)
        for column, size in enumerate(sizes):
            top, bottom = axes[0][column], axes[1][column]
            for name in servers:
                steps = [
                    s
                    for r in small
                    if r["server"] == name and r["members"] == size
                    for s in r["steps"]
                ]
                steps.sort(key=lambda s: s["offered"])
                if not steps:
                    continue
                offered = [s["offered"] for s in steps]
                top.plot(offered, [s["messagesPerSecond"] for s in steps], "o-", label=name)
                bottom.plot(offered, [s["p99"] or float("nan") for s in steps], "o-", label=name)
            top.set(
                title=f"Room of {size}: throughput",
                xlabel="offered messages/s",
                ylabel="completed messages/s",
                xscale="log",
                yscale="log",
            )
            bottom.axhline(50, color="grey", linestyle="--", linewidth=1)
            bottom.set(
                title=f"Room of {size}: p99 latency",
                xlabel="offered messages/s",
                ylabel="p99 ms (ack and deliveries)",
                xscale="log",
                yscale="log",
            )
            for axis in (top, bottom):
                axis.xaxis.set_major_formatter(plain)
                axis.xaxis.set_minor_formatter(sparse)
                axis.yaxis.set_major_formatter(plain)
                axis.grid(alpha=0.3)
                axis.legend(fontsize=8)
        fig.tight_layout()
        path = directory / "bench-small-rooms.png"
        fig.savefig(path, dpi=100)
        written.append(path)
    fanout = [r for r in result["fanout"] if "error" not in r]
    receivers = sorted({r["recipients"] for r in fanout})
    if receivers:
        fig, axes = plt.subplots(2, len(receivers), figsize=(5 * len(receivers), 8), squeeze=False)
        for axis, size in zip(axes[1], receivers, strict=True):
            cell = {r["server"]: r for r in fanout if r["recipients"] == size}
            names = [n for n in servers if n in cell]
            axis.bar(names, [cell[n]["cpuUsPerDelivery"] for n in names])
            axis.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
            axis.set(title=f"{size} receivers, saturated", ylabel="server CPU µs per delivery")
            axis.grid(alpha=0.3, axis="y")
        for axis, size in zip(axes[0], receivers, strict=True):
            names = [
                n
                for n in servers
                if any(r["server"] == n and r["recipients"] == size for r in fanout)
            ]
            cell = {r["server"]: r for r in fanout if r["recipients"] == size}
            xs = range(len(names))
            for offset, (key, label) in enumerate(
                (("pacedP50", "p50"), ("pacedP99", "p99"), ("pacedMax", "max"))
            ):
                values = [cell[n].get(key) or float("nan") for n in names]
                axis.bar([x + (offset - 1) * 0.27 for x in xs], values, 0.27, label=label)
            axis.set_xticks(list(xs), names, rotation=30, ha="right", fontsize=8)
            axis.set(title=f"{size} receivers, paced", ylabel="send-to-delivery ms", yscale="log")
            axis.grid(alpha=0.3, axis="y")
            axis.legend(fontsize=8)
        fig.tight_layout()
        path = directory / "bench-fanout.png"
        fig.savefig(path, dpi=100)
        written.append(path)
    return written, None


def save_json(path: Path, result: dict[str, Any]) -> None:
    path.write_text(json.dumps(result, indent=2, default=str))
