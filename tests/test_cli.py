"""Every CLI command through a real subprocess, as a script or a person would use it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from media_jobs_testing.helpers import REPO
from media_jobs_testing.web_client import POLL_KEYS
from media_jobs_testing.workers import TIMINGS, Served, cli, timings

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"

COMMANDS = [
    "run",
    "submit",
    "status",
    "list",
    "cancel",
    "resubmit",
    "history",
    "watch",
    "fetch",
    "demo",
    "prune",
    "serve",
]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("TURSO_")},
        "JOBS_DB_PATH": str(tmp_path / "jobs.db"),
        "SUPERVISOR_STORAGE_URL": f"file://{tmp_path / 'files'}",
    }


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = open(tmp_path / "worker.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "supervisor", "run", *TIMINGS],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=log,
    )
    yield proc
    proc.terminate()
    proc.wait(30)
    log.close()


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "7", "--json"],
        ["--handlers", "status", "submit", "tone", "--payload", "{}", "--max-attempts", "3"],
        ["list", "--status", "failed", "--limit", "5", "--json"],
        ["--handlers=mine", "serve", "--port", "0"],
        ["submit", "tone", "--handlers", "mine"],
        ["cancel", "12"],
        ["resubmit", "3"],
        ["history", "4"],
        ["watch", "5", "--interval", "0.1"],
        ["run", "--poll-interval", "0.2", "--worker-id", "w"],
        ["serve", "--port", "0"],
        ["prune", "--dry-run"],
        ["demo"],
    ],
)
def test_a_one_shot_parses_as_the_whole_parser_would(argv: list[str]) -> None:
    """A call parses with only its sub-command's parser (building them all took 15 ms of a
    one-shot call); what it reads is exactly what the whole parser reads."""
    from supervisor._cli import _command_in, build_parser

    named = [w for w in argv if w in COMMANDS]
    assert _command_in(argv) == named[-1]  # (--handlers status: a module named status)
    assert build_parser(_command_in(argv)).parse_args(argv) == build_parser().parse_args(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["list", "--handlers", "mine"],
        ["--handlers", "mine", "list"],
        ["status", "7", "--handlers=mine"],
        ["--handlers=mine", "cancel", "12"],
        ["demo", "--handlers", "mine"],
        ["--handlers", "mine", "watch", "5"],
        ["fetch", "5", "--handlers", "mine"],
    ],
)
def test_handlers_is_refused_by_the_commands_that_ignore_it(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Only run, submit and serve load a handlers module: elsewhere the option would be
    silently ignored, so it is a usage error naming where it belongs."""
    from supervisor._cli import main

    with pytest.raises(SystemExit) as refused:
        main(argv)
    assert refused.value.code == 2
    assert "--handlers applies to run, submit and serve only" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--handlers", "mine"],
        ["--handlers", "mine", "run"],
        ["--handlers", "mine"],
        ["submit", "tone", "--handlers", "mine"],
        ["--handlers=mine", "serve"],
    ],
)
def test_handlers_is_offered_before_or_after_run_submit_and_serve(argv: list[str]) -> None:
    from supervisor._cli import _command_in, build_parser

    assert build_parser(_command_in(argv)).parse_args(argv).handlers == "mine"


def test_help_offers_handlers_only_where_it_matters(capsys: pytest.CaptureFixture[str]) -> None:
    from supervisor._cli import build_parser

    offered = []
    for command in ("run", "submit", "serve", "list", "status", "demo", "fetch", "prune"):
        with pytest.raises(SystemExit):
            build_parser(command).parse_args([command, "--help"])
        if "--handlers" in capsys.readouterr().out:
            offered.append(command)
    assert offered == ["run", "submit", "serve"]


def test_a_one_shot_usage_error_lists_every_command(env: dict[str, str]) -> None:
    """The parser built for one command prints the same usage as the whole one."""
    result = cli(env, "status", "7", "extra")
    assert result.returncode == 2
    assert "unrecognized arguments: extra" in result.stderr
    assert "{" + ",".join(COMMANDS) + "}" in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(env: dict[str, str], command: str) -> None:
    """`COMMAND --help` explains itself and exits 0."""
    result = cli(env, command, "--help")
    assert result.returncode == 0
    assert "usage:" in result.stdout


def test_submit_prints_only_the_id_and_status_json_has_the_poll_keys(
    env: dict[str, str],
) -> None:
    """submit's stdout is exactly the id; status --json and list --json are parseable."""
    result = cli(env, "submit", "tone", "--payload", '{"seconds": 1}')
    assert result.returncode == 0
    assert result.stdout.strip().isdigit()
    job_id = result.stdout.strip()
    assert result.stdout == f"{job_id}\n"
    status = json.loads(cli(env, "status", job_id, "--json").stdout)
    assert POLL_KEYS <= set(status)
    assert status["status"] == "pending"
    assert status["queue_position"] == 1
    assert status["stages"] is None
    listing = json.loads(cli(env, "list", "--json", "--status", "pending").stdout)
    assert [v["id"] for v in listing] == [int(job_id)]
    human = cli(env, "status", job_id)
    assert "pending, 0 ahead" in human.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["status", "42"], "job 42 not found"),
        (["status", "abc"], "a job id is a positive integer"),
        (["cancel", "-1"], "a job id is a positive integer"),
        (["submit", "nope"], "unknown job type 'nope'"),
        (["submit", "tone", "--payload", "{bad json"], "--payload is not valid JSON"),
        (["submit", "tone", "--payload", '{"x": "' + "y" * 70_000 + '"}'], "over the limit"),
        (["resubmit", "7"], "job 7 not found"),
        (["run", "--heartbeat-interval", "30", "--stale-after", "40"], "stale_after"),
        (["run", "--http", "8000"], "--http takes HOST:PORT"),
        (["serve", "--host", "0.0.0.0"], "refusing to serve on 0.0.0.0 without SUPERVISOR_API"),
        (["run", "--http", "[::]:0"], "refusing to serve on :: without SUPERVISOR_API_TOKEN"),
    ],
)
def test_errors_are_one_clear_line(env: dict[str, str], args: list[str], message: str) -> None:
    """Bad input: one line on stderr naming the problem, exit 2, no traceback."""
    result = cli(env, *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert message in lines[0]
    assert "Traceback" not in result.stderr


DEEP = "[" * 3000 + "]" * 3000


@pytest.mark.parametrize(
    "args, message",
    [
        (["submit", "tone", "--payload", '"\\ud800"'], "not valid Unicode"),
        (["submit", "tone", "--payload", "9" * 5000], "--payload is not valid JSON"),
        (["submit", "tone", "--payload", DEEP], "--payload is nested too deeply"),
        (["status", "9" * 25], "positive integer below 2**63"),
        (["cancel", "9" * 25], "positive integer below 2**63"),
        (["watch", "1", "--interval", "-1"], "--interval"),
        (["watch", "1", "--interval", "0"], "--interval"),
        (["run", "--worker-id", "a\tb"], "printable"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    env: dict[str, str], args: list[str], message: str
) -> None:
    """Input the store cannot take is refused with one line, exit 2, and no row written."""
    result = cli(env, *args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1
    assert message in lines[0]
    assert "Traceback" not in result.stderr
    assert json.loads(cli(env, "list", "--json").stdout) == []


@pytest.mark.parametrize("command", [["list"], ["run"]])
def test_a_database_path_that_is_not_sqlite_is_one_line(
    env: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    """JOBS_DB_PATH naming another kind of file: one line, exit 2, the file untouched."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 200)
    result = cli({**env, "JOBS_DB_PATH": str(notes)}, *command)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "is not a SQLite database" in result.stderr
    assert notes.read_text() == "not a database\n" * 200


def test_a_token_with_a_line_break_is_one_line(env: dict[str, str]) -> None:
    """A malformed TURSO_AUTH_TOKEN is refused at once, named, and never shown."""
    bad = {**env, "TURSO_DATABASE_URL": "http://127.0.0.1:9", "TURSO_AUTH_TOKEN": "tok-X\r\n"}
    for command in (["list"], ["run"]):
        result = cli(bad, *command)
        assert result.returncode == 2
        assert "TURSO_AUTH_TOKEN" in result.stderr
        assert result.stderr.count("\n") == 1
        assert "tok-X" not in result.stderr


def test_bad_timing_variable_is_refused(env: dict[str, str]) -> None:
    """A malformed SUPERVISOR_* variable names itself."""
    result = cli({**env, "SUPERVISOR_POLL_INTERVAL": "soon"}, "run")
    assert result.returncode == 2
    assert "SUPERVISOR_POLL_INTERVAL" in result.stderr


def test_watch_exit_status_says_how_the_job_ended(
    env: dict[str, str], worker: subprocess.Popen[bytes]
) -> None:
    """watch exits 0 for completed, 1 for failed, 3 for cancelled; cancel and resubmit work."""
    ok = cli(env, "submit", "tone", "--payload", '{"seconds": 1}').stdout.strip()
    bad = cli(env, "submit", "fail", "--payload", '{"message": "bad input: demo"}').stdout.strip()
    watched = cli(env, "watch", ok)
    assert watched.returncode == 0
    assert "completed" in watched.stderr
    failed = cli(env, "watch", bad)
    assert failed.returncode == 1
    assert "failed: bad input: demo (permanent)" in failed.stderr
    again = cli(env, "resubmit", bad).stdout.strip()
    assert again.isdigit()
    assert again != bad
    assert json.loads(cli(env, "status", again, "--json").stdout)["status"] in (
        "pending",
        "running",
        "failed",
    )
    long = cli(env, "submit", "tone", "--payload", '{"seconds": 60, "realtime": true}').stdout
    cancel = cli(env, "cancel", long.strip())
    assert cancel.returncode == 0
    assert cancel.stdout.startswith(f"job {long.strip()}: ")
    assert cli(env, "watch", long.strip()).returncode == 3
    history = cli(env, "history", long.strip()).stdout
    assert "cancelled" in history
    times = [line.split()[0] for line in history.splitlines()]
    assert times, history
    assert all(re.fullmatch(ISO, t) for t in times), history


def test_demo_finishes_on_its_own(env: dict[str, str], tmp_path: Path) -> None:
    """demo runs a worker in-process and three real jobs to their ends, then exits 0."""
    result = cli({**env, "CWD": str(tmp_path)}, "demo", timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "cancelled while running" in out
    assert "completed in" in out
    assert "failed: input not found: no-such-recording.wav (permanent)" in out


def test_handlers_module_names_the_served_types(env: dict[str, str], tmp_path: Path) -> None:
    """--handlers (or SUPERVISOR_HANDLERS) loads a module's JOB_TYPES; a bad module is one
    clear line."""
    (tmp_path / "my_handlers.py").write_text(
        "from supervisor import JobType\n"
        "async def shout(ctx, payload):\n"
        "    await ctx.set_stage('shouting', 100)\n"
        "    return payload['text'].upper()\n"
        "JOB_TYPES = [JobType('shout', shout, stages=('shouting',))]\n"
    )
    env = {**env, "PYTHONPATH": str(tmp_path)}
    assert cli(env, "--handlers", "my_handlers", "submit", "tone").returncode == 2
    job = cli(
        env, "--handlers", "my_handlers", "submit", "shout", "--payload", '{"text": "hi"}'
    ).stdout.strip()
    assert watched_with_a_worker({**env, "SUPERVISOR_HANDLERS": "my_handlers"}, [], job) == 0
    status = json.loads(cli(env, "status", job, "--json").stdout)
    assert status["stages"] == ["shouting"]
    assert status["progress"] == 100
    missing = cli(env, "--handlers", "no_such_module", "submit", "x")
    assert missing.returncode == 2
    assert "cannot import handlers module" in missing.stderr


def watched_with_a_worker(env: dict[str, str], run_args: list[str], job: str) -> int:
    """`watch JOB`'s exit status while a `run` worker (with ``run_args``) serves the job."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "supervisor", "run", *run_args, *TIMINGS],
        cwd=REPO,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        return cli(env, "watch", job).returncode
    finally:
        worker.terminate()
        worker.wait(30)


def test_one_shot_commands_load_neither_trio_nor_sqlalchemy(env: dict[str, str]) -> None:
    """status, submit, cancel and list run without importing Trio, SQLAlchemy or the worker
    (a one-shot call is mostly Python's start-up; those imports would triple it)."""
    code = (
        "import sys\n"
        "from supervisor._cli import main\n"
        "codes = [main(a) for a in (['submit', 'tone'], ['status', '1', '--json'],\n"
        "         ['list'], ['cancel', '1'])]\n"
        "heavy = [m for m in ('trio', 'sqlalchemy', 'actors', 'libsql') if m in sys.modules]\n"
        "print(codes, heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[0, 0, 0, 0] []", result.stderr


def test_prune_deletes_only_jobs_past_their_retention(env: dict[str, str]) -> None:
    """prune --dry-run counts, prune deletes finished jobs older than SUPERVISOR_RETAIN_*
    (with their history); pending jobs and younger finished ones stay."""
    done = [cli(env, "submit", "tone").stdout.strip() for _ in range(3)]
    for job in done:
        assert cli(env, "cancel", job).returncode == 0
    waiting = cli(env, "submit", "tone").stdout.strip()
    time.sleep(5)
    young = cli(env, "submit", "tone").stdout.strip()
    cli(env, "cancel", young)
    short = {**env, "SUPERVISOR_RETAIN_CANCELLED": "4"}
    dry = cli(short, "prune", "--dry-run")
    assert dry.returncode == 0
    assert "would delete 0 completed, 3 cancelled, 0 failed" in dry.stdout
    assert len(json.loads(cli(env, "list", "--json").stdout)) == 5
    real = cli(short, "prune")
    assert real.returncode == 0
    assert "deleted 0 completed, 3 cancelled, 0 failed" in real.stdout
    left = {v["id"] for v in json.loads(cli(env, "list", "--json").stdout)}
    assert left == {int(waiting), int(young)}
    off = {
        **env,
        **dict.fromkeys(
            (
                "SUPERVISOR_RETAIN_COMPLETED",
                "SUPERVISOR_RETAIN_CANCELLED",
                "SUPERVISOR_RETAIN_FAILED",
                "SUPERVISOR_RETAIN_UPLOADS",
            ),
            "0",
        ),
    }
    assert "retention is off" in cli(off, "prune").stdout


def test_json_logs_carry_the_fields_and_never_the_token(
    env: dict[str, str], tmp_path: Path
) -> None:
    """SUPERVISOR_LOG_FORMAT=json: one JSON object per line with the key=value fields
    (worker, job_id, ...); the token appears nowhere."""
    job = cli(env, "submit", "sleep", "--payload", '{"seconds": 0.2}').stdout.strip()
    token = "tok-JSON-SECRET-77"
    proc = subprocess.Popen(
        [sys.executable, "-m", "supervisor", "run", *TIMINGS],
        cwd=REPO,
        env={**env, "SUPERVISOR_LOG_FORMAT": "json", "TURSO_AUTH_TOKEN": token},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert cli(env, "watch", job).returncode == 0
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    records = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert records
    assert token not in err
    started = next(r for r in records if r["message"] == "worker started")
    assert {"time", "level", "logger", "worker", "types", "timings"} <= set(started)
    done = next(r for r in records if r["message"] == "job completed")
    assert done["job_id"] == int(job)
    assert done["job_type"] == "sleep"
    assert done["attempt"] == 1
    bad = cli({**env, "SUPERVISOR_LOG_FORMAT": "xml"}, "list")
    assert bad.returncode == 2
    assert "SUPERVISOR_LOG_FORMAT" in bad.stderr


def test_handlers_may_follow_the_command(env: dict[str, str], tmp_path: Path) -> None:
    """`submit --handlers M` and `run --handlers M` work like `--handlers M submit`."""
    (tmp_path / "after_handlers.py").write_text(
        "from supervisor import JobType\n"
        "async def hello(ctx, payload):\n"
        "    await ctx.set_stage('greeting', 100)\n"
        "    return 'hello'\n"
        "JOB_TYPES = [JobType('hello', hello, stages=('greeting',))]\n"
    )
    env = {**env, "PYTHONPATH": str(tmp_path)}
    submitted = cli(env, "submit", "--handlers", "after_handlers", "hello")
    assert submitted.returncode == 0, submitted.stderr
    job = submitted.stdout.strip()
    assert watched_with_a_worker(env, ["--handlers", "after_handlers"], job) == 0
    assert cli(env, "submit", "hello", "--handlers", "no_such_module").returncode == 2


def test_serve_with_a_token_answers_and_stops_on_sigterm(
    env: dict[str, str], tmp_path: Path
) -> None:
    """`serve` on $PORT (0: any free port) with a token: health is open, the API needs the
    token; SIGTERM stops it with exit 0; the token is never printed."""
    token = "tok-cli-SECRET-9f8e7d6c5b4a"
    served = Served(
        {**env, "PORT": "0", "SUPERVISOR_API_TOKEN": token}, ["serve"], tmp_path / "s.log"
    )
    try:
        assert served.request("/healthz") == (200, {"status": "ok"})
        assert served.request("/api/jobs")[0] == 401
        status, page = served.request("/api/jobs", token=token)
        assert status == 200
        assert page["jobs"] == []
        assert page["next"] is None
        assert served.request("/metrics")[0] == 401
        scrape = urllib.request.Request(
            served.url + "/metrics", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(scrape, timeout=30) as response:
            assert response.headers["Content-Type"].startswith("text/plain")
            assert 'media_jobs_jobs{status="pending"} 0.0' in response.read().decode()
    finally:
        assert served.stop() == 0
    log = served.log.read_text()
    assert token not in log
    assert "server stopped" in log


def test_a_short_token_or_a_bad_port_is_one_line(env: dict[str, str]) -> None:
    """A token too short to be safe, a malformed $PORT, or a taken port: exit 2, one line."""
    short = cli({**env, "SUPERVISOR_API_TOKEN": "hunter2"}, "serve")
    assert short.returncode == 2
    assert "at least 16" in short.stderr
    assert "hunter2" not in short.stderr
    bad = cli({**env, "PORT": "eighty"}, "serve")
    assert bad.returncode == 2
    assert "PORT must be a port number" in bad.stderr
    for result in (short, bad):
        assert len(result.stderr.strip().splitlines()) == 1


def test_serve_on_a_taken_port_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    """A second server on the same port says it cannot listen, exit 2."""
    first = Served(env, ["serve", "--port", "0"], tmp_path / "first.log")
    try:
        port = first.url.rsplit(":", 1)[1]
        second = cli(env, "serve", "--port", port)
        assert second.returncode == 2, second.stderr
        assert f"cannot serve on 127.0.0.1:{port}" in second.stderr.strip().splitlines()[-1]
    finally:
        assert first.stop() == 0


def test_run_http_wakes_its_own_worker_at_once(env: dict[str, str], tmp_path: Path) -> None:
    """With `run --http`, a job created through the API starts at once, although the
    worker would otherwise poll only every 30 s; a scrape of the live worker's /metrics
    over HTTP then counts its run and reads the job counts from the table."""
    args = ["run", "--http", "127.0.0.1:0", *timings(poll_interval=30)]
    served = Served(env, args, tmp_path / "w.log")
    try:
        time.sleep(1)  # the worker's first idle claim is behind it: now it waits 30 s
        started = time.monotonic()
        status, view = served.request("/api/jobs", json.dumps({"type": "sleep"}).encode())
        assert status == 201
        while view["status"] != "completed":
            assert time.monotonic() - started < 20, view
            time.sleep(0.1)
            view = served.request(f"/api/jobs/{view['id']}")[1]
        with urllib.request.urlopen(served.url + "/metrics", timeout=30) as response:
            assert response.headers["Content-Type"].startswith("text/plain")
            scraped = response.read().decode()
        assert 'media_jobs_runs_total{outcome="completed",type="sleep"} 1.0' in scraped
        assert 'media_jobs_jobs{status="completed"} 1.0' in scraped
        assert 'media_jobs_jobs{status="pending"} 0.0' in scraped
        assert 'media_jobs_queue_wait_seconds_count{type="sleep"} 1.0' in scraped
        assert "media_jobs_store_up 1.0" in scraped
        assert f'="{view["id"]}"' not in scraped
        assert "job_id" not in scraped  # no id label
    finally:
        assert served.stop() == 0


def test_a_dry_run_counts_every_job_past_its_retention(env: dict[str, str]) -> None:
    """prune --dry-run counts the whole backlog, not one batch of 1,000."""
    job = cli(env, "submit", "tone").stdout.strip()
    code = (
        "import trio, time\n"
        "from stores import get_job_store\n"
        "async def main():\n"
        "    s = get_job_store()\n"
        "    jobs = await s.create_many('tone', [{}] * 1500)\n"
        "    for j in jobs:\n"
        "        await s.cancel(j.id)\n"
        "    await s.aclose()\n"
        "trio.run(main)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True)
    time.sleep(2.5)
    short = {**env, "SUPERVISOR_RETAIN_CANCELLED": "2"}
    dry = cli(short, "prune", "--dry-run")
    assert "would delete 0 completed, 1500 cancelled, 0 failed" in dry.stdout, dry.stdout
    assert "deleted 0 completed, 1500 cancelled" in cli(short, "prune").stdout
    assert json.loads(cli(env, "status", job, "--json").stdout)["status"] == "pending"


HANDLER_MISTAKES = {
    "plain": (
        "def handler(ctx, payload):\n    return 'ok'\nJOB_TYPES = [JobType('plain', handler)]\n",
        "job type 'plain': its handler plain.handler is a plain function; "
        "write it as `async def handler(ctx, payload)`",
    ),
    "dupes": (
        "async def a(ctx, payload):\n    return 1\n"
        "async def b(ctx, payload):\n    return 2\n"
        "JOB_TYPES = [JobType('same', a), JobType('same', b)]\n",
        "two job types are named 'same' (dupes.a and dupes.b): give each a name of its own",
    ),
    "stages": (
        "async def a(ctx, payload):\n    return 1\n"
        "JOB_TYPES = [JobType('st', a, stages=('one', 'two', 'one'))]\n",
        "job type 'st': stage 'one' is listed twice in its stages ('one', 'two', 'one')",
    ),
}


@pytest.mark.parametrize("module", sorted(HANDLER_MISTAKES))
def test_a_mistake_in_a_handlers_module_is_refused_at_start(
    env: dict[str, str], tmp_path: Path, module: str
) -> None:
    """A plain `def` handler, two types of one name, a stage listed twice: `run` refuses
    to start, in one line naming the mistake, exit 2."""
    source, message = HANDLER_MISTAKES[module]
    (tmp_path / f"{module}.py").write_text(f"from supervisor import JobType\n{source}")
    result = cli({**env, "PYTHONPATH": str(tmp_path)}, "run", "--handlers", module, timeout=20)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"supervisor: handlers module {module!r}: {message}"]


def test_a_handlers_module_that_is_not_importable_says_where_it_was_looked_for(
    env: dict[str, str], tmp_path: Path
) -> None:
    """`--handlers myjobs` from a folder that does not hold it: one line saying the module
    must be importable, from where it was looked for, and how to fix it."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli({**env, "CWD": str(elsewhere)}, "run", "--handlers", "myjobs", timeout=20)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "handlers module 'myjobs': the module must be importable" in line
    assert f"looked for in the current folder ({elsewhere}) and sys.path ['{elsewhere}', " in line
    assert line.endswith(
        "run from the folder that holds myjobs.py, or add that folder to PYTHONPATH"
    )


def test_a_handlers_module_missing_a_dependency_names_the_dependency(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A module that is found but imports something missing says what is missing."""
    (tmp_path / "needs_numpy.py").write_text("import no_such_dependency_xyz\n")
    result = cli({**env, "PYTHONPATH": str(tmp_path)}, "run", "--handlers", "needs_numpy")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "supervisor: handlers module 'needs_numpy' imports 'no_such_dependency_xyz', which "
        "is not installed in this environment (" + sys.prefix + ")"
    ]


def test_submit_refuses_a_payload_the_types_own_check_refuses(
    env: dict[str, str], tmp_path: Path
) -> None:
    """With a handlers module, `submit` runs the type's declared payload check: a bad
    payload is one line naming the key, exit 2, and no job is created."""
    (tmp_path / "checked.py").write_text(
        "from supervisor import JobType\n"
        "def check(payload):\n"
        "    if not isinstance((payload or {}).get('n'), int):\n"
        "        raise ValueError(\"payload 'n' must be an integer\")\n"
        "async def count(ctx, payload):\n"
        "    return payload['n']\n"
        "JOB_TYPES = [JobType('count', count, validate=check)]\n"
    )
    env = {**env, "PYTHONPATH": str(tmp_path), "SUPERVISOR_HANDLERS": "checked"}
    refused = cli(env, "submit", "count", "--payload", '{"n": "3"}')
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "supervisor: job type 'count': payload 'n' must be an integer"
    ]
    assert json.loads(cli(env, "list", "--json").stdout) == []
    assert cli(env, "submit", "count", "--payload", '{"n": 3}').stdout.strip() == "1"


def test_run_http_refuses_a_bad_reference_payload_naming_the_key(
    env: dict[str, str], tmp_path: Path
) -> None:
    """`run --http` checks a payload by its own type's rules before creating the job:
    `"seconds": true` for `tone` answers 400 naming the key; nothing is created."""
    served = Served(env, ["run", "--http", "127.0.0.1:0", *TIMINGS], tmp_path / "w.log")
    try:
        body = json.dumps({"type": "tone", "payload": {"seconds": True}}).encode()
        status, answer = served.request("/api/jobs", body)
        listed = served.request("/api/jobs")[1]["jobs"]
    finally:
        assert served.stop() == 0
    assert (status, answer) == (
        400,
        {
            "error": "payload 'seconds' must be a number above 0 and up to 3600, "
            "got true (a boolean)"
        },
    )
    assert listed == []


def test_a_closed_pipe_ends_a_command_quietly(env: dict[str, str]) -> None:
    """`status ID | head -1`: when the reader has gone, the command stops without a
    traceback, with the exit status of a command killed by SIGPIPE (141)."""
    for _ in range(3):
        cli(env, "submit", "sleep")
    for command in (["status", "1"], ["list"], ["history", "1"], ["status", "1", "--json"]):
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader is gone before the first line is written
        try:
            result = cli(env, *command, stdout=write_end)
        finally:
            os.close(write_end)
        assert (command, result.returncode, result.stderr) == (command, 141, "")


def test_an_empty_list_says_so_on_a_terminal_only(env: dict[str, str]) -> None:
    """`list` with nothing to show says so on stderr when a person reads stdout (a TTY);
    piped, it prints nothing at all."""
    import pty

    leader, follower = pty.openpty()
    try:
        on_tty = cli(env, "list", "--status", "failed", stdout=follower)
    finally:
        os.close(follower)
        os.close(leader)
    assert (on_tty.returncode, on_tty.stderr) == (0, "no jobs (status failed)\n")
    piped = cli(env, "list")
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, "", "")


def _until(check: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return value


def _beat_age(url: str, worker_id: str) -> float:
    with urllib.request.urlopen(url + "/metrics", timeout=30) as response:
        text = response.read().decode()
    found = re.search(rf'media_jobs_worker_beat_age_seconds{{worker="{worker_id}"}} (\S+)', text)
    assert found, text
    return float(found.group(1))


def test_serve_sees_a_killed_worker_die_and_a_stopped_one_leave(
    env: dict[str, str], tmp_path: Path
) -> None:
    """`serve` beside a `run` worker: while the worker lives its types are accepted; once
    it is SIGKILLed, it reads as dead within three reaper rounds, /metrics gives its growing
    beat age, and its type is refused with 422. A worker stopped with SIGTERM leaves the
    registry at once."""
    served = Served(env, ["serve", "--port", "0"], tmp_path / "serve.log")
    log = open(tmp_path / "worker.log", "wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "supervisor", "run", *TIMINGS], cwd=REPO, env=env, stderr=log
    )
    try:
        (seen,) = _until(lambda: served.request("/api/workers")[1]["workers"])
        assert seen["live"]
        assert "tone" in seen["types"]
        assert served.request("/api/jobs", b'{"type": "sleep"}')[0] == 201
        worker.kill()
        worker.wait(30)
        _until(lambda: not served.request("/api/workers")[1]["workers"][0]["live"])
        first = _beat_age(served.url, seen["id"])
        time.sleep(1)
        assert _beat_age(served.url, seen["id"]) >= first + 0.9
        status, body = served.request("/api/jobs", b'{"type": "sleep"}')
        assert status == 422
        assert "no live worker serves job type 'sleep'" in body["error"]
        clean = subprocess.Popen(
            [sys.executable, "-m", "supervisor", "run", *TIMINGS], cwd=REPO, env=env, stderr=log
        )
        _until(lambda: len(served.request("/api/workers")[1]["workers"]) == 2)
        clean.send_signal(signal.SIGTERM)
        assert clean.wait(30) == 0
        (left,) = served.request("/api/workers")[1]["workers"]
        assert left["id"] == seen["id"]
    finally:
        if worker.poll() is None:
            worker.kill()
        log.close()
        assert served.stop() == 0


def test_submit_with_an_idempotency_key_makes_one_job(env: dict[str, str]) -> None:
    """`submit --idempotency-key K` twice prints the same id; K with another payload is
    refused in one line, exit non-zero."""
    args = ["submit", "sleep", "--payload", '{"seconds": 1}', "--idempotency-key", "nightly-7"]
    first, again = cli(env, *args), cli(env, *args)
    assert (first.returncode, again.returncode) == (0, 0)
    assert first.stdout == again.stdout
    other = cli(env, "submit", "sleep", "--payload", "{}", "--idempotency-key", "nightly-7")
    assert other.returncode != 0
    assert "first used for another request" in other.stderr
    assert len(other.stderr.strip().splitlines()) == 1
    listed = json.loads(cli(env, "list", "--json").stdout)
    assert [job["id"] for job in listed] == [int(first.stdout)]
