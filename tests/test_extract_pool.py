"""The extraction pool's processes live and die with their crawl, and a pool that cannot run pages says so."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.support import newsfarm
from tests.test_crawl import ROOT, crawl_command


def parents() -> dict[int, int]:
    """pid -> parent pid of every live process (zombies are dead: nobody may be left to reap them)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # ended meanwhile
                continue
            state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
            if state != "Z":
                found[int(entry.name)] = int(ppid)
    return found


def descendants(pid: int) -> set[int]:
    tree = parents()
    found: set[int] = set()
    while True:
        more = {child for child, parent in tree.items() if (parent == pid or parent in found) and child not in found}
        if not more:
            return found
        found |= more


def grandchildren(pid: int) -> set[int]:
    """The extraction workers: forked by the forkserver, a child of the crawl."""
    tree = parents()
    return {child for child, parent in tree.items() if tree.get(parent) == pid}


def still_alive(pids: set[int], within: float) -> set[int]:
    deadline = time.monotonic() + within
    while (alive := pids & set(parents())) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


def test_a_killed_crawl_leaves_no_extraction_process_behind(tmp_path: Path) -> None:
    with newsfarm.serve(articles=60, clusters=0, delay=0.5) as farm:
        seeds = farm.write_seeds(tmp_path / "farm.yaml", name="farm")
        command = crawl_command(seeds, tmp_path / "out", "DEDUP_STATE=False")
        crawl = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while len(grandchildren(crawl.pid)) < 2 and crawl.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)  # until both extraction workers run
            assert len(grandchildren(crawl.pid)) == 2, "the crawl started its two extraction workers"
            left = descendants(crawl.pid)  # resource tracker, forkserver, workers
            print("processes of the crawl:", sorted(left))
            os.kill(crawl.pid, signal.SIGKILL)
            crawl.wait(timeout=10)
            started = time.monotonic()
            alive = still_alive(left, within=20)
            print(f"the last of them ended {time.monotonic() - started:.2f} s after the kill")
        finally:
            crawl.kill()
            crawl.wait()
    try:
        assert not alive, f"processes of the killed crawl still alive: {sorted(alive)}"
    finally:
        for pid in alive:  # do not leave them to the rest of the suite
            os.kill(pid, signal.SIGKILL)
