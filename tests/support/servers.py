"""Real S3-compatible (Ceph RGW) and Redis servers for the test suite.

The project rule is that storage tests talk to real server processes over
loopback, never to mocks, so that auth, error codes and outages behave as in
production.  Each class here builds a throwaway server in a temporary
directory, waits until it answers a real request, and tears it down again.
The binaries come from the Debian packages that
``scripts/install-test-services.sh`` installs; when they are missing,
``start()`` raises instead of letting tests skip.

Every daemon runs in the foreground as a direct child of the harness, so it is
stopped through its process handle (no stale pid files, no pid reuse) and its
output lands in a log file quoted by startup errors.  Each child gets its own
session (a Ctrl-C in the terminal reaches pytest, which then stops the
daemons in order) and ``PR_SET_PDEATHSIG``, so the kernel kills it even when
the harness is SIGKILLed; an ``atexit`` hook stops whatever a caller forgot.
The death signal fires when the *thread* that started the daemon ends, so
start servers from the main thread (as pytest fixtures are).
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import redis
from botocore.client import BaseClient
from botocore.config import Config

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
_PR_SET_PDEATHSIG = 1
_LOG_TAIL_LINES = 30
# Resolved before any fork: loading a library in a forked child can deadlock.
_libc = ctypes.CDLL(None, use_errno=True)


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that is free on ``host`` right now.

    The kernel picks it, so parallel runs do not fight over fixed ports; another
    process could still take it before the server binds it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child before exec: have the kernel SIGKILL it if the harness dies."""
    if _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def _require_binaries(*names: str) -> None:
    """Fail with an actionable message when a server binary is not installed."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        raise RuntimeError(
            f"missing test-service binaries: {', '.join(missing)}; "
            "run scripts/install-test-services.sh"
        )


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    """The last lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def _tails(paths: Sequence[Path]) -> str:
    return "\n".join(f"--- {path} ---\n{_tail(path)}" for path in paths)


class _Daemon:
    """One foreground server process whose stdout/stderr go to a log file."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        logger.debug("started %s pid=%d: %s", name, self.process.pid, " ".join(argv))

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def check_alive(self) -> None:
        """Raise at once if the daemon died, instead of waiting out a timeout."""
        if not self.running:
            raise RuntimeError(
                f"{self.name} exited with status {self.process.returncode}; "
                f"log tail ({self.log_path}):\n{_tail(self.log_path)}"
            )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if the daemon has not exited after ``timeout`` s."""
        if not self.running:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("%s pid=%d ignored SIGTERM; killing", self.name, self.process.pid)
            self.process.kill()
            self.process.wait()


def _wait_for(
    what: str,
    probe: Callable[[], object],
    deadline: float,
    daemons: Sequence[_Daemon],
    logs: Callable[[], str],
    interval: float = 0.1,
) -> None:
    """Call ``probe`` until it stops raising; fail with the logs at ``deadline``."""
    while True:
        for daemon in daemons:
            daemon.check_alive()
        try:
            probe()
            return
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            if time.monotonic() >= deadline:
                raise RuntimeError(f"timed out waiting for {what}: {exc!r}\n{logs()}") from exc
        time.sleep(interval)


_running: set[CephRGW | RedisServer] = set()


@atexit.register
def _stop_all() -> None:
    """Stop servers a caller forgot, so no daemon outlives a normal exit."""
    for server in list(_running):
        server.stop()


# Single node: one monitor, one OSD keeping objects in memory, no manager.
# "paxos propose interval" cuts each pool creation from ~2 s to ~0.1 s (startup
# 12.7 s -> 1.7 s); "ms mon client mode = crc" is needed because daemons such as
# radosgw default to "secure", which auth "none" cannot provide; without
# tcp_nodelay a GET takes ~45 ms instead of ~5 ms.
_CEPH_CONF = """\
[global]
fsid = {fsid}
mon host = {mon_addr}
public addr = {host}
cluster addr = {host}
ms bind ipv4 = true
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
osd crush chooseleaf type = 0
run dir = {root}/run
log file = {root}/log/$name.log
crash dir = {root}/crash
keyring = {root}/keyring

[mon]
mon data = {root}/mon.$id
mon cluster log file = {root}/log/$cluster.$channel.log
paxos propose interval = 0.05
paxos min wait = 0.01

[osd]
osd data = {root}/osd.$id
osd objectstore = memstore
memstore device bytes = 2147483648
osd max object name len = 256
osd max object namespace len = 64
osd crush update on start = false

[client.rgw.a]
rgw data = {root}/rgw.a
rgw frontends = beast endpoint={host}:{rgw_port} tcp_nodelay=1
"""


class CephRGW:
    """A single-node Ceph cluster (one monitor, one memstore OSD) plus radosgw.

    Ceph RGW is a production S3 implementation, so tests see real S3 auth,
    error codes and outages.  All state lives in a temporary directory and in
    the OSD's memory; the gateway alone can be stopped and started again on the
    same port to simulate storage going away mid-crawl without losing data.
    """

    region = "us-east-1"
    _MON_ID = "a"
    _RGW_NAME = "client.rgw.a"

    def __init__(self, workdir: Path | None = None, startup_timeout: float = 90.0) -> None:
        """Prepare, not start; ``workdir`` is where the temp dir goes (default: system temp)."""
        self._workdir = workdir
        self._startup_timeout = startup_timeout
        self._root: Path | None = None
        self._daemons: dict[str, _Daemon] = {}
        self.endpoint_url = ""
        self.access_key = ""
        self.secret_key = ""

    @property
    def root(self) -> Path:
        """The cluster's temporary directory (ceph.conf, logs, monitor store)."""
        if self._root is None:
            raise RuntimeError("CephRGW is not started")
        return self._root

    @property
    def _conf(self) -> str:
        return str(self.root / "ceph.conf")

    def _log_tails(self) -> str:
        return _tails(sorted((self.root / "log").glob("*.log")))

    def start(self) -> CephRGW:
        """Build the cluster, create an S3 user and wait for an authenticated request."""
        _require_binaries("monmaptool", "ceph-mon", "ceph-osd", "ceph", "radosgw", "radosgw-admin")
        if self._root is not None:
            raise RuntimeError("CephRGW is already started")
        begin = time.monotonic()
        if self._workdir is not None:
            self._workdir.mkdir(parents=True, exist_ok=True)
        self._root = Path(tempfile.mkdtemp(prefix="ceph-rgw-", dir=self._workdir))
        _running.add(self)
        try:
            self._bootstrap(begin + self._startup_timeout)
        except BaseException:
            self.stop()
            raise
        logger.info("Ceph RGW ready at %s in %.1f s", self.endpoint_url, time.monotonic() - begin)
        return self

    def _bootstrap(self, deadline: float) -> None:
        root = self.root
        for name in ("run", "log", "crash", "rgw.a"):
            (root / name).mkdir()
        fsid = str(uuid.uuid4())
        mon_addr = f"[v2:{LOOPBACK}:{free_port()}]"
        rgw_port = free_port()
        self.endpoint_url = f"http://{LOOPBACK}:{rgw_port}"
        (root / "ceph.conf").write_text(
            _CEPH_CONF.format(
                fsid=fsid, mon_addr=mon_addr, host=LOOPBACK, rgw_port=rgw_port, root=root
            )
        )

        monmap = str(root / "monmap")
        self._run(
            deadline, "monmaptool", "--create", "--fsid", fsid, "--addv", self._MON_ID, mon_addr,
            "--enable-all-features", "--set-min-mon-release", "pacific", monmap,
        )  # fmt: skip
        self._run(deadline, "ceph-mon", "-c", self._conf, "--mkfs", "-i", self._MON_ID, "--monmap", monmap)
        self._spawn("mon", "ceph-mon", "-f", "-c", self._conf, "-i", self._MON_ID)

        osd_uuid = str(uuid.uuid4())
        osd_id = self._ceph(deadline, "osd", "new", osd_uuid).strip()
        (root / f"osd.{osd_id}").mkdir()
        self._run(deadline, "ceph-osd", "-c", self._conf, "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid)
        self._ceph(deadline, "osd", "crush", "add", f"osd.{osd_id}", "1", "root=default", "host=localhost")
        self._spawn("osd", "ceph-osd", "-f", "-c", self._conf, "-i", osd_id)

        # radosgw-admin creates the RGW pools, so it also waits for the OSD to serve them.
        self.access_key = "TEST" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self._run(
            deadline, "radosgw-admin", "-c", self._conf, "user", "create", "--uid=newsdedup-test",
            "--display-name=newsdedup tests", f"--access-key={self.access_key}",
            f"--secret={self.secret_key}",
        )  # fmt: skip
        self._start_gateway(deadline)

    def _ceph(self, deadline: float, *args: str) -> str:
        return self._run(deadline, "ceph", "-c", self._conf, "--connect-timeout", "30", *args)

    def _run(self, deadline: float, *argv: str) -> str:
        """Run a setup command; on failure include its output and the daemon logs."""
        timeout = max(0.1, deadline - time.monotonic())
        command = " ".join(argv)
        try:
            result = subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"timed out after {timeout:.1f} s: {command}\n{self._log_tails()}") from exc
        if result.returncode != 0:
            raise RuntimeError(
                f"{command} exited {result.returncode}:\n{result.stdout}{result.stderr}\n{self._log_tails()}"
            )
        return result.stdout

    def _spawn(self, role: str, *argv: str) -> None:
        self._daemons[role] = _Daemon(argv[0], argv, self.root / "log" / f"{role}.stdout.log")

    def _start_gateway(self, deadline: float) -> None:
        if "rgw" in self._daemons:
            raise RuntimeError("radosgw is already running")
        self._spawn("rgw", "radosgw", "-f", "-c", self._conf, "-n", self._RGW_NAME)
        probe = self.client(config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5))
        _wait_for(
            f"radosgw at {self.endpoint_url}",
            probe.list_buckets,
            deadline,
            list(self._daemons.values()),
            self._log_tails,
        )

    def start_gateway(self) -> None:
        """Start radosgw again on the same port and wait until S3 answers."""
        self._start_gateway(time.monotonic() + self._startup_timeout)

    def stop_gateway(self) -> None:
        """Stop only radosgw: S3 requests then fail to connect; data stays in the OSD."""
        daemon = self._daemons.pop("rgw", None)
        if daemon is not None:
            daemon.stop()

    def restart_gateway(self) -> None:
        """Stop and start radosgw on the same port."""
        self.stop_gateway()
        self.start_gateway()

    def pids(self) -> dict[str, int]:
        """PIDs of the running daemons by role ("mon", "osd", "rgw")."""
        return {role: d.process.pid for role, d in self._daemons.items() if d.running}

    def stop(self) -> None:
        """Stop the gateway, then the OSD and monitor, and delete the temp dir."""
        for role in ("rgw", "osd", "mon"):
            daemon = self._daemons.pop(role, None)
            if daemon is not None:
                daemon.stop()
        _running.discard(self)
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def client(
        self,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        config: Config | None = None,
    ) -> BaseClient:
        """A boto3 S3 client for this gateway, as the test user unless keys are given.

        Path-style addressing because loopback has no wildcard DNS; checksums
        only when required because boto3's default CRC32 headers are not what
        every S3-compatible store accepts; no proxies so loopback traffic never
        leaves the machine.  ``config`` is merged over these defaults (e.g. to
        cut retries in outage tests).
        """
        defaults = Config(
            region_name=self.region,
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            proxies={},
        )
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key if access_key is None else access_key,
            aws_secret_access_key=self.secret_key if secret_key is None else secret_key,
            region_name=self.region,
            config=defaults if config is None else defaults.merge(config),
        )

    def create_bucket(self, name: str) -> None:
        """Create a bucket owned by the test user."""
        self.client().create_bucket(Bucket=name)

    def __enter__(self) -> CephRGW:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class RedisServer:
    """A throwaway ``redis-server`` on loopback with persistence off."""

    def __init__(self, workdir: Path | None = None, startup_timeout: float = 15.0) -> None:
        """Prepare, not start; ``workdir`` is where the temp dir goes (default: system temp)."""
        self._workdir = workdir
        self._startup_timeout = startup_timeout
        self._root: Path | None = None
        self._daemon: _Daemon | None = None
        self.port = 0
        self.url = ""

    def start(self) -> RedisServer:
        """Start redis-server and wait until it answers PING."""
        _require_binaries("redis-server")
        if self._root is not None:
            raise RuntimeError("RedisServer is already started")
        begin = time.monotonic()
        if self._workdir is not None:
            self._workdir.mkdir(parents=True, exist_ok=True)
        root = self._root = Path(tempfile.mkdtemp(prefix="redis-", dir=self._workdir))
        self.port = free_port()
        self.url = f"redis://{LOOPBACK}:{self.port}/0"
        _running.add(self)
        log = root / "redis.log"
        try:
            # Foreground (--daemonize no) so the harness owns the process; see module doc.
            self._daemon = _Daemon(
                "redis-server",
                [
                    "redis-server", "--bind", LOOPBACK, "--port", str(self.port),
                    "--save", "", "--appendonly", "no", "--daemonize", "no",
                    "--pidfile", str(root / "redis.pid"), "--dir", str(root),
                ],
                log,
            )  # fmt: skip
            _wait_for(
                f"redis-server at {self.url}",
                self._ping,
                begin + self._startup_timeout,
                [self._daemon],
                lambda: _tails([log]),
                interval=0.05,
            )
        except BaseException:
            self.stop()
            raise
        logger.info("Redis ready at %s in %.2f s", self.url, time.monotonic() - begin)
        return self

    def _ping(self) -> None:
        with self.client(socket_connect_timeout=1) as client:
            client.ping()

    def stop(self) -> None:
        """Stop the server and delete its temp dir."""
        if self._daemon is not None:
            self._daemon.stop()
            self._daemon = None
        _running.discard(self)
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def client(self, **kwargs: Any) -> redis.Redis:
        """A redis-py client for this server; ``kwargs`` go to ``Redis.from_url``."""
        return redis.Redis.from_url(self.url, **kwargs)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
