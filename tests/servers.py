"""Real servers as child processes on free loopback ports: an S3-compatible store (moto's
standalone server) and Redis. Independent of pytest; tests/conftest.py wraps them in fixtures.

boto3 and redis are imported where they are used, so a venv without them can still import this
module (and conftest.py) and skip, or under CI fail, only the tests that need a server.

Typical use::

    with S3Server() as s3:
        s3.create_bucket(s3.bucket)
        s3.client().put_object(Bucket=s3.bucket, Key="k", Body=b"v")
        s3.stop()  # the store goes away: requests fail to connect
        s3.start()  # back on the same port, empty (moto keeps everything in memory)
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Self

import httpx

from tests.dashboard_server import free_port

if TYPE_CHECKING:
    import redis
    from botocore.client import BaseClient

HOST = "127.0.0.1"
STARTUP_SECONDS = 20.0
"""How long a server may take to answer after it is started (moto_server needs ~2-3 s)."""

STOP_SECONDS = 10.0
"""How long a server may take to exit after SIGTERM before it is killed."""

_POLL_SECONDS = 0.1
_LOG_TAIL_BYTES = 4000


def _missing_modules(*modules: str) -> list[str]:
    """The top-level modules of `modules` that cannot be imported."""
    return [name for name in modules if importlib.util.find_spec(name) is None]


class _ServerProcess:
    """A server child process on a port fixed at construction, so it can be stopped and
    started again at the same address. Output goes to a temporary file, shown if it fails to
    start (a pipe nobody reads would fill and stall the server)."""

    name = "server"

    def __init__(self, port: int | None = None) -> None:
        self.port = port if port is not None else free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _answers(self) -> bool:
        """Whether the server answers a request now (False when it cannot be reached)."""
        raise NotImplementedError

    @property
    def running(self) -> bool:
        """Whether the child process was started and has not exited."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server on `self.port` and wait until it answers.

        Raises RuntimeError if it is already running, exits early (the port taken, say) or does
        not answer within STARTUP_SECONDS; the process is stopped in the last two cases.
        """
        if self.running:
            raise RuntimeError(f"{self.name} is already running on port {self.port}")
        self._close_log()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (open until stop() closes it)
        self._process = subprocess.Popen(
            self._command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            problem = self._wait_until_answering(self._process)
        except BaseException:
            self.stop()
            raise
        if problem is None:
            return
        log = self._log_tail()
        self.stop()
        raise RuntimeError(f"{self.name} on port {self.port} {problem}; its output:\n{log}")

    def _wait_until_answering(self, process: subprocess.Popen[bytes]) -> str | None:
        """None once the server answers; otherwise what went wrong."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while process.poll() is None:
            if self._answers() and process.poll() is None:
                return None
            if time.monotonic() > deadline:
                return f"did not answer within {STARTUP_SECONDS:g} s"
            time.sleep(_POLL_SECONDS)
        return f"exited with status {process.returncode}"

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after STOP_SECONDS) and wait for it to exit.
        Stopping a server that is not running does nothing."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._close_log()

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        size = self._log.seek(0, 2)
        self._log.seek(max(0, size - _LOG_TAIL_BYTES))
        return self._log.read().decode(errors="replace")

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        """Start the server (see `start`)."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server (see `stop`)."""
        self.stop()


class S3Server(_ServerProcess):
    """moto's standalone S3-compatible server (`moto_server`) on a free loopback port.

    moto keeps every bucket and object in memory: after `stop()` and `start()` the server
    answers on the same endpoint again but holds nothing, so buckets must be created again.
    `bucket` is a fresh name for the caller's use; nothing creates it until `create_bucket`.
    """

    name = "moto_server"
    ACCESS_KEY = "testing"
    SECRET_KEY = "testing"
    REGION = "us-east-1"

    def __init__(self, port: int | None = None, bucket: str | None = None) -> None:
        super().__init__(port)
        self.bucket = bucket if bucket is not None else f"chicrime-test-{uuid.uuid4().hex[:12]}"
        self._buckets: set[str] = set()

    @property
    def endpoint(self) -> str:
        """The server's URL, e.g. `http://127.0.0.1:38211`."""
        return f"http://{HOST}:{self.port}"

    @staticmethod
    def missing() -> str | None:
        """Why this machine cannot run the server (what to install), or None if it can."""
        absent = _missing_modules("moto", "flask", "flask_cors", "boto3")
        if absent:
            return (
                f"moto's S3 server cannot run (no {', '.join(absent)}): "
                "pip install 'moto[server]' boto3 (make install does it)"
            )
        return None

    def _command(self) -> list[str]:
        script = Path(sys.executable).with_name("moto_server")
        base = [str(script)] if script.is_file() else [sys.executable, "-m", "moto.server"]
        return [*base, "-H", HOST, "-p", str(self.port)]

    def _answers(self) -> bool:
        try:
            httpx.get(self.endpoint + "/", timeout=1)
        except httpx.TransportError:
            return False
        return True

    def start(self) -> None:
        """Start the server, empty (see `_ServerProcess.start`)."""
        self._buckets.clear()
        super().start()

    def environ(self, bucket: str | None = None) -> dict[str, str]:
        """The environment variables that point a chicrime process (any AWS SDK) at this server.

        Given a `bucket`, checks that it was created since the server last started (a restart
        empties moto) and raises ValueError if not; pass None for a bucket that must not exist.
        The variable naming the bucket is chicrime's own setting, left to the caller.
        """
        if bucket is not None and bucket not in self._buckets:
            raise ValueError(
                f"bucket {bucket!r} was not created since {self.name} last started: "
                "call create_bucket (a restart empties moto)"
            )
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": self.SECRET_KEY,
            "AWS_DEFAULT_REGION": self.REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self) -> BaseClient:
        """A boto3 S3 client for this server, configured explicitly (not from os.environ or
        ~/.aws beyond what boto3 always reads): path-style addressing, no retries and short
        timeouts, so a request to a stopped server fails at once with
        botocore.exceptions.EndpointConnectionError."""
        import boto3
        from botocore.config import Config

        config = Config(
            region_name=self.REGION,
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},
            connect_timeout=2,
            read_timeout=30,
        )
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.ACCESS_KEY,
            aws_secret_access_key=self.SECRET_KEY,
            region_name=self.REGION,
            config=config,
        )

    def create_bucket(self, name: str) -> None:
        """Create bucket `name` on the server (us-east-1: no location constraint)."""
        self.client().create_bucket(Bucket=name)
        self._buckets.add(name)


class RedisServer(_ServerProcess):
    """`redis-server` (from PATH) on a free loopback port, in memory only: no RDB snapshots,
    no append-only file, so it writes nothing to disk and a restart starts empty."""

    name = "redis-server"

    @property
    def url(self) -> str:
        """The server's URL with database 0, e.g. `redis://127.0.0.1:38211/0`."""
        return f"redis://{HOST}:{self.port}/0"

    @staticmethod
    def missing() -> str | None:
        """Why this machine cannot run the server (what to install), or None if it can."""
        if shutil.which("redis-server") is None:
            return "redis-server is not installed (apt-get install redis-server)"
        if _missing_modules("redis"):
            return "the redis package is not installed: pip install redis (make install does it)"
        return None

    def _command(self) -> list[str]:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError(f"{self.missing()}")
        return [
            executable,
            "--port",
            str(self.port),
            "--bind",
            HOST,
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
        ]

    def _answers(self) -> bool:
        import redis

        try:
            with self._connect(timeout=1) as probe:
                return probe.ping() is True
        except redis.exceptions.RedisError:  # refused, timed out, or not Redis answering
            return False

    def client(self) -> redis.Redis:
        """A client for database 0 returning bytes, with no retries and short timeouts, so a
        command to a stopped server fails at once with redis.exceptions.ConnectionError."""
        return self._connect(timeout=10)

    def _connect(self, timeout: float) -> redis.Redis:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        return redis.Redis.from_url(
            self.url,
            socket_connect_timeout=min(timeout, 2),
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
