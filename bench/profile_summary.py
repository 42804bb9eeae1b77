"""Summarize a py-spy raw profile (``hotpath.py --profile DIR``) of the event-loop thread.

    python bench/profile_summary.py bench/results/profile/sealchat-2000.txt [--top 30]

Only the main thread is read: it runs the event loop, and py-spy's idle detection is
reliable there (the SQLite driver's worker threads look busy while blocked on their
queue; their real CPU time is in the results' ``mainThreadCpuSeconds`` split instead).
Prints the share of the loop's busy samples spent under each frame (inclusive), and the
frames where the time itself is spent (self). Record with py-spy's default (blocking)
sampling: --nonblocking drops many samples under uvloop.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

LOOP_ENTRY = "Runner.run (asyncio/runners.py"


def read_main_thread(path: Path) -> list[tuple[list[str], int]]:
    """Stacks of the main thread, cut below the event loop's entry point.

    Under uvloop, callbacks are entered from C, so most stacks start at the callback;
    the others start at ``<module>`` and run through ``Runner.run``: their frames above
    it (the CLI, uvicorn's startup) are dropped, and time whose innermost frame is
    ``Runner.run`` itself is the loop's own C code (uvloop, libuv, syscalls).
    """
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        thread, *frames = stack.split(";")
        if "MainThread" not in thread or not frames:
            continue
        entry = [i for i, frame in enumerate(frames) if frame.startswith(LOOP_ENTRY)]
        if entry:
            frames = frames[entry[-1] :]
            if len(frames) > 1:
                frames = frames[1:]
            else:
                frames = ["(event loop internals: uvloop, libuv, syscalls)"]
        stacks.append((frames, int(count)))
    return stacks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()

    stacks = read_main_thread(args.profile)
    total = sum(count for _, count in stacks)
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    print(f"{args.profile}: {total} busy samples of the event-loop thread\n")
    print("inclusive")
    for frame, count in inclusive.most_common(args.top):
        print(f"{count / total:6.1%}  {frame}")
    print("\nself")
    for frame, count in own.most_common(args.top):
        print(f"{count / total:6.1%}  {frame}")


if __name__ == "__main__":
    main()
