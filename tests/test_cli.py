"""The `chicrime` command as users run it: a real process, real env, real exit codes."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import polars as pl
import pytest

from chicrime.store.lock import run_lock
from tests.conftest import api_row
from tests.dashboard_server import free_port
from tests.servers import S3Server
from tests.socrata_server import SocrataDataset, SocrataServer

ROOT = Path(__file__).resolve().parent.parent
CHICRIME = str(Path(sys.executable).with_name("chicrime"))


def run_cli(
    *args: str, env: dict[str, str], cwd: Path, module: str | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", module, *args] if module else [CHICRIME, *args]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SODA_", "CHI_"))}
    # A nearly full disk on the test machine must not make every `status` unhealthy.
    defaults = {"STATUS_MIN_FREE_MB": "0"}
    return subprocess.run(
        command,
        env={**clean, **defaults, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def upstream() -> SocrataServer:
    rows = [api_row(i, f"2024-0{1 + i % 5}-0{1 + i % 8}T12:00:00.000") for i in range(1, 8)]
    with SocrataServer({"ijzp-q8t2": SocrataDataset(rows)}) as server:
        yield server


def env_for(server: SocrataServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "SODA_BASE_URL": server.base_url,
        "DATA_DIR": str(tmp_path / "data"),
        "START_DATE": "2024-01-01",
        "PAGE_LIMIT": "2",
        **extra,
    }


@pytest.mark.parametrize(
    ("variable", "value", "accepted"),
    [
        ("BACKFILL_DAYS", "-3", "a whole number of days from 0 to 3650"),
        ("START_DATE", "yesterday", "a date as YYYY-MM-DD"),
        ("PAGE_LIMIT", "0", "a whole number of rows from 1 to 1000000"),
    ],
)
def test_bad_setting_exits_2_with_one_line_naming_it(
    tmp_path: Path, variable: str, value: str, accepted: str
) -> None:
    """A bad env value stops the command before any work, on one clear line."""
    result = run_cli("ingest", "--once", env={variable: value}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"chicrime: {variable}={value!r} is not valid: expected {accepted}\n"
    assert not (tmp_path / "data").exists()


def test_bad_setting_in_dotenv_file_is_reported_the_same_way(tmp_path: Path) -> None:
    """`.env` in the working directory is read and validated too."""
    (tmp_path / ".env").write_text("PAGE_LIMIT=lots\n")
    result = run_cli("status", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert "PAGE_LIMIT='lots' is not valid" in result.stderr


def test_ingest_once_then_runs_and_status(upstream: SocrataServer, tmp_path: Path) -> None:
    """`ingest --once` fills the lake; `runs` and `status --json` report it."""
    env = env_for(upstream, tmp_path, SODA_APP_TOKEN="tok-123-secret")
    result = run_cli("ingest", "--once", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("run 1: fetched 7 rows, wrote 7 (7 new), deleted 0")
    assert "fetching rows: done done=7 unit=rows total=7 percent=100.0" in result.stderr
    assert "run finished run_id=1 rows_fetched=7" in result.stderr
    assert "tok-123-secret" not in result.stderr + result.stdout

    runs = run_cli("runs", "--json", env=env, cwd=tmp_path)
    (record,) = json.loads(runs.stdout)
    assert (record["run_id"], record["status"], record["rows_written"]) == (1, "success", 7)

    table = run_cli("runs", env=env, cwd=tmp_path).stdout.splitlines()
    assert table[0].split()[:4] == ["run", "kind", "status", "started"]
    assert table[1].split()[:3] == ["1", "ingest", "success"]

    status = json.loads(run_cli("status", "--json", env=env, cwd=tmp_path).stdout)
    assert status["lake"]["rows"] == 7
    assert status["watermark_max_date"] == "2024-05-05T12:00:00"
    assert status["last_run"]["status"] == "success"


def test_python_dash_m_chicrime_ingest_once_works(upstream: SocrataServer, tmp_path: Path) -> None:
    """`python -m chicrime.ingest --once` is the same command."""
    result = run_cli(
        "--once", env=env_for(upstream, tmp_path), cwd=tmp_path, module="chicrime.ingest"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("run 1: fetched 7 rows")


def test_second_concurrent_run_exits_75_at_once(upstream: SocrataServer, tmp_path: Path) -> None:
    """While a run holds the lock, another exits 75 without touching anything."""
    env = env_for(upstream, tmp_path)
    with run_lock(tmp_path / "data" / "state" / "ingest.lock"):
        result = run_cli("ingest", "--once", env=env, cwd=tmp_path)
    assert result.returncode == 75
    assert result.stderr.startswith(
        f"chicrime: another ingestion run is in progress (pid {os.getpid()}"
    )
    assert upstream.requests == []


def test_failed_run_exits_1_with_the_reason(tmp_path: Path) -> None:
    """An unreachable API fails the run with exit code 1 and a line saying what to check."""
    env = {
        "SODA_BASE_URL": "http://127.0.0.1:9",
        "DATA_DIR": str(tmp_path / "data"),
        "RETRY_ATTEMPTS": "2",
        "RETRY_MAX_SECONDS": "5",
    }
    result = run_cli("ingest", "--once", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "gave up after 2 attempt(s)" in result.stderr.splitlines()[-1]
    runs = json.loads(run_cli("runs", "--json", env=env, cwd=tmp_path).stdout)
    assert [r["status"] for r in runs] == ["failed"]


def test_status_before_any_run_says_what_to_do(tmp_path: Path) -> None:
    """With no state yet, status explains the next step (and exits 1: nothing succeeded yet)."""
    result = run_cli("status", env={"DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path)
    assert result.returncode == 1
    assert "run `chicrime ingest --once` to populate the lake" in result.stdout
    assert "0 rows in 0 partitions" in result.stdout


def test_json_log_format_gives_one_object_per_line(upstream: SocrataServer, tmp_path: Path) -> None:
    """LOG_FORMAT=json makes every stderr line a JSON object with the event's fields."""
    env = env_for(upstream, tmp_path, LOG_FORMAT="json")
    result = run_cli("ingest", "--once", env=env, cwd=tmp_path)
    events = [json.loads(line) for line in result.stderr.splitlines()]
    finished = next(e for e in events if e["msg"] == "run finished")
    assert finished["rows_written"] == 7
    assert finished["level"] == "INFO"


def test_data_dir_that_is_a_file_gives_a_clear_error(tmp_path: Path) -> None:
    """A DATA_DIR that cannot hold directories fails with exit 1 and says what to check."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = run_cli("ingest", "--once", env={"DATA_DIR": str(blocker)}, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("chicrime: file system error: [Errno 20] Not a directory")
    assert "Check that DATA_DIR is a writable directory" in result.stderr
    assert blocker.read_text() == ""


def test_terminal_gets_a_progress_bar(upstream: SocrataServer, tmp_path: Path) -> None:
    """With stderr on a terminal, ingest draws a bar of rows fetched out of the API's count."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SODA_", "CHI_"))}
    child = subprocess.Popen(
        [CHICRIME, "ingest", "--once"],
        env={**clean, **env_for(upstream, tmp_path)},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closes when the child exits
            break
        if not chunk:
            break
        output += chunk
    assert child.wait(timeout=60) == 0
    os.close(controller)
    text = output.decode(errors="replace")
    assert "fetching rows: 100%" in text
    assert "7.00/7.00" in text
    assert "rewriting partitions: 100%" in text
    assert "fetching rows: done" not in text


def test_ingest_refuses_a_demo_lake(upstream: SocrataServer, tmp_path: Path) -> None:
    """Real records are never mixed into a synthetic demo lake: exit 2, nothing fetched."""
    env = env_for(upstream, tmp_path)
    demo = run_cli("demo", "--years", "0.1", "--end", "2024-06-30", env=env, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    result = run_cli("ingest", "--once", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "holds a synthetic lake written by `chicrime demo`" in result.stderr
    assert upstream.requests == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("serve", "--port", "0"), "argument --port: '0' is not a whole number from 1 to 65,535"),
        (("serve", "--port", "70000"), "'70000' is not a whole number from 1 to 65,535"),
        (("serve", "--port", "http"), "'http' is not a whole number from 1 to 65,535"),
        (("serve", "--workers", "0"), "'0' is not a whole number from 1 to 64"),
        (("runs", "--limit", "-3"), "argument --limit: '-3' is not a whole number from 1 to"),
    ],
)
def test_numeric_options_out_of_range_exit_2_naming_the_range(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    result = run_cli(*args, env={"DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert not (tmp_path / "data").exists()


def test_ingest_publishes_to_lake_url_and_publish_finds_it_there(
    upstream: SocrataServer, s3_server: S3Server, tmp_path: Path
) -> None:
    """With LAKE_URL, `ingest --once` publishes the version it committed; `chicrime publish`
    then finds the store already serving it, and `status` names what was published."""
    env = env_for(
        upstream,
        tmp_path,
        **s3_server.environ(s3_server.bucket),
        LAKE_URL=f"s3://{s3_server.bucket}/lake",
    )
    result = run_cli("ingest", "--once", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    version = (tmp_path / "data/lake/crimes").readlink().name
    published = f"published {version} to s3://{s3_server.bucket}/lake: "
    assert result.stdout.splitlines()[1].startswith(published)

    again = run_cli("publish", env=env, cwd=tmp_path)
    assert (again.returncode, again.stdout) == (
        0,
        f"s3://{s3_server.bucket}/lake already serves {version}\n",
    )
    status = run_cli("status", env=env, cwd=tmp_path)
    assert f"published      s3://{s3_server.bucket}/lake: {version}, published " in status.stdout


def test_an_unreachable_store_fails_the_command_after_the_local_commit(
    upstream: SocrataServer, tmp_path: Path
) -> None:
    """A store that cannot be reached fails `ingest` (exit 1) with a line naming it, after the
    lake was committed locally; `status` is unhealthy until a publish succeeds."""
    env = env_for(
        upstream,
        tmp_path,
        LAKE_URL="s3://nowhere-bucket",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    result = run_cli("ingest", "--once", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("run 1: fetched 7 rows, wrote 7 (7 new)")
    error = result.stderr.splitlines()[-1]
    assert error.startswith("chicrime: s3://nowhere-bucket: could not read current.json: ")
    assert error.endswith(
        "The local lake is committed; `chicrime publish` (or the next run) publishes it."
    )
    status = json.loads(run_cli("status", "--json", env=env, cwd=tmp_path).stdout)
    assert status["lake"]["rows"] == 7
    assert status["publish"]["version"] is None
    assert [p for p in status["problems"] if p.startswith("publishing to s3://nowhere-bucket")]


def test_a_missing_aws_profile_is_one_line_naming_it(tmp_path: Path) -> None:
    """boto3's own settings gone wrong (a profile that does not exist) fail the publish after
    `demo` with one line saying what to check, not a traceback."""
    env = {
        "DATA_DIR": str(tmp_path / "data"),
        "LAKE_URL": "s3://some-bucket",
        "AWS_PROFILE": "no-such-profile",
    }
    demo = run_cli("demo", "--years", "0.05", "--revision-days", "0", env=env, cwd=tmp_path)
    assert demo.returncode == 1
    assert demo.stderr.splitlines()[-1] == (
        "chicrime: cannot set up the S3 client for LAKE_URL: The config profile "
        "(no-such-profile) could not be found. Check AWS_PROFILE, AWS_ENDPOINT_URL, "
        "AWS_DEFAULT_REGION and ~/.aws/config. The local lake is committed; `chicrime publish` "
        "(or the next run) publishes it."
    )


def test_publish_without_lake_url_exits_2(tmp_path: Path) -> None:
    """`chicrime publish` needs LAKE_URL, and says so."""
    result = run_cli("publish", env={"DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("chicrime: LAKE_URL='' is not valid: expected an S3 address")


def test_help_and_runs_load_no_data_or_network_libraries(tmp_path: Path) -> None:
    """`chicrime --help` and `chicrime runs` answer without importing polars, httpx, stamina,
    numpy, duckdb, dash, boto3 or redis: each command imports what it needs when it runs."""
    probe = (
        "import sys\n"
        "from chicrime.cli import main\n"
        "for argv in (['--help'], ['runs']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ('polars', 'httpx', 'stamina', 'numpy', 'duckdb', 'dash', 'pyarrow', 'boto3',"
        " 'redis')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "DATA_DIR": str(tmp_path / "data")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_changes_and_export_as_of_a_past_run(tmp_path: Path) -> None:
    """`changes` lists what a run revised; `export --as-of` writes the lake a past run left."""
    rows = [api_row(i, f"2024-05-0{i}T12:00:00.000") for i in range(1, 4)]
    dataset = SocrataDataset(rows)
    with SocrataServer({"ijzp-q8t2": dataset}) as server:
        env = env_for(server, tmp_path)
        assert run_cli("ingest", "--once", env=env, cwd=tmp_path).returncode == 0
        dataset.upsert(
            [api_row(2, "2024-05-02T12:00:00.000", "2024-06-09T00:00:00.000", primary_type="THEFT")]
        )
        dataset.delete([3])
        second = run_cli("ingest", "--once", env=env, cwd=tmp_path)
    assert "revised 2 record(s)" in second.stdout, second.stderr

    table = run_cli("changes", env=env, cwd=tmp_path).stdout.splitlines()
    assert [line.split()[0] for line in table] == ["run", "2", "2"]
    assert table[1].split()[3:] == [
        "reclassified", "2", "JA000002", "2024-05-02", "12:00", "primary_type", "BATTERY", "THEFT"
    ]  # fmt: skip
    assert table[2].split()[3:] == [
        "removed", "3", "JA000003", "2024-05-03", "12:00", "record", "BATTERY", "removed"
    ]  # fmt: skip
    lines = run_cli("changes", "--field", "primary_type", "--json", env=env, cwd=tmp_path)
    records = [json.loads(line) for line in lines.stdout.splitlines()]
    assert [(r["id"], r["label"], r["before"], r["after"]) for r in records] == [
        (2, "reclassified", "BATTERY", "THEFT"),
        (3, "removed", "BATTERY", "removed"),
    ]
    assert (
        run_cli("changes", "--id", "1", env=env, cwd=tmp_path).stdout
        == "no revisions match (the record history begins with run 1)\n"
    )

    exported = run_cli("export", str(tmp_path / "as-of-1"), "--as-of", "1", env=env, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith("exported the lake as of run 1: 3 rows in 1 partition(s)")
    files = sorted((tmp_path / "as-of-1").glob("year=*/month=*/*.parquet"))
    first = pl.read_parquet(files).sort("id")
    assert first.select("id", "primary_type").rows() == [
        (1, "BATTERY"),
        (2, "BATTERY"),
        (3, "BATTERY"),
    ]
    again = run_cli("export", str(tmp_path / "as-of-1"), env=env, cwd=tmp_path)
    assert again.returncode == 1
    assert "already exists; export writes a new directory only" in again.stderr
    # A date: the last run that had finished by the end of that day in Chicago.
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).date().isoformat()
    latest = run_cli("export", str(tmp_path / "latest"), "--as-of", tomorrow, env=env, cwd=tmp_path)
    assert latest.stdout.startswith("exported the lake as of run 2: 2 rows in 1 partition(s)")
    early = run_cli(
        "export", str(tmp_path / "early"), "--as-of", "2001-01-01", env=env, cwd=tmp_path
    )
    assert early.returncode == 1
    assert "no run had finished by the end of 2001-01-01 (Chicago time)" in early.stderr
    assert not (tmp_path / "early").exists()
    bad = run_cli("export", str(tmp_path / "x"), "--as-of", "last week", env=env, cwd=tmp_path)
    assert bad.returncode == 2
    assert "'last week' is neither a run id nor a date" in bad.stderr
