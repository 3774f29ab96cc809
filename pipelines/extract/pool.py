"""WorkerPool: runs function calls in worker processes, each under a hard time limit, so that a task stuck in C
code or killing its worker costs that task only, and no worker outlives the process that started it."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

MAX_RESUBMITS = 3  # a task is dropped when its worker died more often than this before it started
MAX_START_ATTEMPTS = 6  # pool starts in a row that fail before the pool is given up
BACKOFF = 0.25  # seconds before a new pool after one that ran no task; doubled after each such pool in a row
BACKOFF_MAX = 30.0


class Lost(Exception):
    """The task is dropped for `reason`: timeout, worker_died (it killed its worker), pool_broken (its worker
    died before it started, more than MAX_RESUBMITS times)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


class Unavailable(Exception):
    """No pool could be started: no task can run."""


@dataclass
class _Pool:
    """A started executor and what became of it."""

    executor: ProcessPoolExecutor
    ready_at: float  # time.monotonic() once every worker runs: a task started after it started in this pool
    broken: bool = False
    fruitless: bool = False  # it broke before any task started in it


class _Broken(Exception):
    """The pool broke with the task in it, `started` or still waiting."""

    def __init__(self, pool: _Pool, started: bool) -> None:
        super().__init__()
        self.pool, self.started = pool, started


class WorkerPool:
    """Runs `function(*args)` tasks in `workers` processes, at most two per worker in the pool at once: every
    worker stays fed while the event loop is busy, and a broken pool sends few tasks back.

    Each task runs under a kernel timer that ends its worker (SIGALRM, default action), even in C code that never
    returns to Python (a regex or an lxml call stuck on a pathological page), which no timeout on the waiting side
    can do. A broken pool is replaced. Workers note when they start a task, so only a task that had started is
    blamed: lost when out of time (`timeout`), else run again alone, and lost if it kills its worker then
    (`worker_died`). Tasks that were only waiting go to the new pool; when no task had started, they run alone,
    and one whose worker dies before it starts more than MAX_RESUBMITS times is lost (`pool_broken`). A pool that
    ran nothing is replaced after a delay that doubles each time; after MAX_START_ATTEMPTS failed starts in a row,
    every task raises `Unavailable`. No worker outlives the process that started it (`die_with_parent`).
    """

    def __init__(
        self,
        workers: int,
        timeout: float,
        preload: Sequence[str] = (),
        on_restart: Callable[[], object] | None = None,
    ) -> None:
        self.workers = workers
        self.timeout = timeout  # seconds per task, 0 = none
        self.preload = ["pipelines.extract.forkserver", *preload]  # first: the server dies with its crawl from then on
        self.on_restart = on_restart  # called once per broken pool
        self._pool: asyncio.Future[_Pool] | None = None  # the current pool, once starting
        self._capacity = 2 * workers
        self._slots = asyncio.Semaphore(self._capacity)
        self._alone = asyncio.Lock()  # one task at a time runs alone
        self._free_slots = list(range(self._capacity))
        self._started = _CONTEXT.Array("d", self._capacity, lock=False)  # per slot: when a worker last started it
        self._fruitless = 0  # pools in a row that failed to start or broke before running any task
        self._failed_starts = 0  # starts in a row that failed
        self._unavailable: str | None = None  # why no pool can be started

    async def run(self, function: Callable[..., Any], *args: Any) -> tuple[Any, float]:
        """`function(*args)` in a worker: its result and the CPU seconds it took there. Raises `Lost` or
        `Unavailable`, or what the function raised."""
        alone, unstarted = False, 0
        while True:
            try:
                return await self._submit(function, args, alone)
            except _Broken as broken:
                if broken.started:
                    if alone:
                        raise Lost("worker_died", "its worker died") from None
                    alone = True  # any task beside it may have killed the worker: run it alone to know
                elif alone or broken.pool.fruitless:  # it, or any task waiting with it, may have killed the worker
                    unstarted += 1
                    if unstarted > MAX_RESUBMITS:
                        raise Lost("pool_broken", f"its worker died {unstarted} times before it started") from None
                    alone = True
                # else it was waiting while a task that had started broke the pool: submit it again

    async def close(self) -> None:
        """Stop the workers, in a thread: waiting for them must not block the event loop."""
        if self._pool is None:
            return
        starting, self._pool = self._pool, None
        try:
            pool = await starting
        except Exception:  # its start failed: there is no process to stop
            return
        await asyncio.to_thread(pool.executor.shutdown, wait=True, cancel_futures=True)

    async def _submit(self, function: Callable[..., Any], args: tuple[Any, ...], alone: bool) -> tuple[Any, float]:
        """Run once in the pool (`alone`: with no other task in it); raises `Lost` when the task ran out of time,
        `_Broken` when the pool broke otherwise with the task in it (the pool is then replaced)."""
        permits = self._capacity if alone else 1
        async with self._alone if alone else contextlib.nullcontext():
            for _ in range(permits):
                await self._slots.acquire()
        slot = self._free_slots.pop()
        try:
            pool = await self._ready()
            submitted = time.monotonic()
            try:
                return await asyncio.get_running_loop().run_in_executor(
                    pool.executor, _run_in_worker, function, args, self.timeout, slot
                )
            except BrokenProcessPool:
                self._replace(pool)
                started = self._started[slot]
                if started >= submitted and self.timeout and time.monotonic() - started >= self.timeout:
                    raise Lost("timeout", f"over {self.timeout:g} s") from None
                raise _Broken(pool, started=started >= submitted) from None
        finally:
            self._free_slots.append(slot)
            for _ in range(permits):
                self._slots.release()

    async def _ready(self) -> _Pool:
        """The current pool, started when there is none, started again when its start failed."""
        while True:
            if self._unavailable:
                raise Unavailable(self._unavailable)
            if self._pool is None:
                self._pool = asyncio.ensure_future(self._start())
            starting = self._pool
            try:
                return await asyncio.shield(starting)  # one task cancelled must not cancel the start for all
            except Exception as exc:
                if starting is self._pool:  # once per failed start
                    self._start_failed(exc)

    async def _start(self) -> _Pool:
        """A new pool, after the back-off its predecessors earned. Its workers start in a thread: they wait for
        the server they fork from, which loads the preloaded modules first (seconds)."""
        if self._fruitless:
            await asyncio.sleep(min(BACKOFF_MAX, BACKOFF * 2 ** (self._fruitless - 1)))
        _CONTEXT.set_forkserver_preload(self.preload)  # no effect once the server runs: it is one per process
        # The server dies when the thread that started it ends: this one, the event loop's, not a passing thread.
        multiprocessing.forkserver.ensure_running()
        pool = await asyncio.to_thread(self._new_pool)
        self._failed_starts = 0
        return pool

    def _new_pool(self) -> _Pool:
        executor = ProcessPoolExecutor(
            self.workers, mp_context=_CONTEXT, initializer=_worker_started, initargs=(self._started,)
        )
        try:
            # A pool starts a worker per task until it has them all; waiting for them tells a pool whose
            # workers cannot start from one that runs.
            for warm_up in [executor.submit(int) for _ in range(self.workers)]:
                warm_up.result()
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        return _Pool(executor, time.monotonic())

    def _start_failed(self, error: Exception) -> None:
        self._pool = None
        self._fruitless += 1
        self._failed_starts += 1
        if self._failed_starts >= MAX_START_ATTEMPTS:
            self._unavailable = f"no worker pool could be started ({self._failed_starts} attempts, last: {error!r})"
            logger.critical("Extraction stopped: %s", self._unavailable)
        else:
            logger.error("A worker pool could not be started (%r): trying again", error)

    def _replace(self, broken: _Pool) -> None:
        """A new pool for every task in flight, once per broken pool."""
        if broken.broken:
            return
        broken.broken = True
        broken.fruitless = max(self._started) < broken.ready_at
        self._fruitless = self._fruitless + 1 if broken.fruitless else 0
        logger.warning("A worker was stopped (time limit) or died: starting a new pool")
        self._pool = asyncio.ensure_future(self._start())
        broken.executor.shutdown(wait=False, cancel_futures=True)
        if self.on_restart:
            self.on_restart()


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int | None = None) -> None:
    """Have the kernel SIGKILL this process when the thread that started it ends (PR_SET_PDEATHSIG), so that a
    SIGKILLed crawl leaves no process behind: the server the workers fork from dies with the crawl, the workers
    with the server, and the resource tracker ends when no process holds its pipe. A worker stuck in C would see
    no softer notice. `parent`: the pid the parent must still have; if it is already gone, die now."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0):
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


# Forkserver: forking a process that runs a reactor and threads is unsafe.
_CONTEXT = multiprocessing.get_context("forkserver")
_started: Any = None  # in a worker: the pool's shared array of start times, one per slot


def _worker_started(started: Any) -> None:
    """In each worker: die with the server it forked from, keep the start-time array; SIGALRM keeps its default
    action, ending the process."""
    global _started
    server = sys.modules.get("pipelines.extract.forkserver")  # preloaded by that server: its pid is the server's
    die_with_parent(server.PID if server else None)
    _started = started
    signal.signal(signal.SIGALRM, signal.SIG_DFL)


def _run_in_worker(function: Callable[..., Any], args: tuple[Any, ...], timeout: float, slot: int) -> tuple[Any, float]:
    """Call the function under a kernel timer that ends this worker after `timeout` seconds (0: no limit);
    returns its result and the CPU time it took."""
    _started[slot] = time.monotonic()  # CLOCK_MONOTONIC: the same clock in every process
    signal.setitimer(signal.ITIMER_REAL, timeout)
    start = time.process_time()
    try:
        result = function(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return result, time.process_time() - start
