"""`python app.py serve` on PostgreSQL that stops (a) before serve starts, (b) while the web
workers boot, (c) under load, and a web worker killed while it is down: every answer is
200-and-stored or 503 (never a refused connection once /livez answered), and service resumes
without a restart when the same server comes back. A store that refuses us is exit 2 at start.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from core.telegram import SECRET_HEADER
from tests.helpers.pg_kit import Cluster, add_password_user, own_cluster
from tests.helpers.support import ROOT, SECRET, Served, is_ready, make_update, wait_until

RECOVERY_SECONDS = 10  # "ready within a few seconds of PostgreSQL coming up", with CI slack


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with own_cluster() as started:
        yield started


def post(served: Served, update_id: int, session: requests.Session) -> requests.Response:
    return session.post(
        f"{served.base_url}/webhook/default",
        json=make_update(update_id, chat_id=1000 + update_id % 7),
        headers={SECRET_HEADER: SECRET},
        timeout=15,
    )


def livez(served: Served) -> bool:
    if served.process.poll() is not None:
        raise AssertionError(f"appliance exited:\n{served.output()[-3000:]}")
    try:
        return requests.get(served.base_url + "/livez", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def stored_ids(cluster: Cluster) -> set[int]:
    with psycopg.connect(cluster.url(), connect_timeout=5) as conn:
        return {row[0] for row in conn.execute("SELECT update_id FROM updates")}


REFUSED, DROPPED = -1, -2  # no answer: connection refused / cut while the request was served


class Poster:
    """Posts updates one after another from a thread, on one kept-alive connection as Telegram
    does; every answer is kept."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.ids = itertools.count(1)
        self.answers: list[tuple[int, int, str | None]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Poster:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)

    def _run(self) -> None:
        with requests.Session() as session:
            while not self.stopping.is_set():
                update_id = next(self.ids)
                try:
                    answer = post(self.served, update_id, session)
                    outcome = (update_id, answer.status_code, answer.headers.get("Retry-After"))
                except requests.ConnectionError as exc:
                    refused = "refused" in str(exc).lower()
                    outcome = (update_id, REFUSED if refused else DROPPED, None)
                self.answers.append(outcome)
                time.sleep(0.005)

    def count(self, status: int) -> int:
        return sum(1 for _, code, _ in self.answers if code == status)


def assert_only_stored_or_503(
    poster: Poster, cluster: Cluster, allowed: frozenset | set = frozenset({200, 503})
) -> None:
    codes = {code for _, code, _ in poster.answers}
    assert codes <= allowed, f"unexpected answers {codes - allowed}"
    assert all(after for _, code, after in poster.answers if code == 503)  # Retry-After
    acknowledged = {update_id for update_id, code, _ in poster.answers if code == 200}
    assert acknowledged <= stored_ids(cluster)


def wait_ready(served: Served, timeout: float = RECOVERY_SECONDS) -> None:
    wait_until(lambda: is_ready(served), timeout=timeout, interval=0.1, what="ready again")


def test_serve_started_while_postgresql_is_down_comes_up_unready_and_recovers(cluster, serve):
    cluster.stop("fast")
    served = serve(env={"TGWEBHOOK_DB": cluster.url()}, workers=2, wait_ready=False)
    wait_until(lambda: livez(served), timeout=30, interval=0.1, what="/livez answering")
    assert requests.get(served.base_url + "/readyz", timeout=5).status_code == 503
    health = requests.get(served.base_url + "/health", timeout=10)
    assert health.status_code == 503 and health.json()["status"] == "fail"
    with requests.Session() as session:
        answer = post(served, 1, session)
        assert answer.status_code == 503 and answer.headers["Retry-After"]
    time.sleep(1.5)  # the forwarder and monitor retry meanwhile; none of them exits
    assert served.process.poll() is None
    cluster.start()
    came_back = time.monotonic()
    wait_ready(served)
    assert time.monotonic() - came_back < RECOVERY_SECONDS
    with requests.Session() as session:
        assert post(served, 2, session).status_code == 200
    assert 2 in stored_ids(cluster)
    log = served.output()
    assert "store reachable again" in log
    # Logged once per process when the outage began, not per request or retry.
    began = re.findall(r"\[(\d+)\] tgwebhook\.store: store unreachable", log)
    assert len(began) >= 4 and len(began) == len(set(began)), log[-3000:]
    assert "cannot renew the monitor lease" not in log


def test_postgresql_stopped_while_workers_boot_answers_503_then_recovers(cluster, serve):
    served = serve(env={"TGWEBHOOK_DB": cluster.url()}, workers=4, wait_ready=False)
    wait_until(lambda: livez(served), timeout=30, interval=0.02, what="/livez answering")
    cluster.stop("fast")
    with Poster(served) as poster:
        time.sleep(3)  # every worker has booted (or failed to) by now
        assert served.process.poll() is None
        cluster.start()
        wait_ready(served)
        wait_until(lambda: poster.answers and poster.answers[-1][1] == 200, timeout=5)
    assert poster.count(503) > 0
    assert_only_stored_or_503(poster, cluster)


def test_postgresql_stopped_under_load_with_a_worker_killed_recovers(cluster, serve):
    served = serve(env={"TGWEBHOOK_DB": cluster.url()}, workers=2)
    with Poster(served) as poster:
        wait_until(lambda: poster.count(200) >= 20, timeout=10, what="updates stored")
        cluster.stop("fast")
        wait_until(lambda: poster.count(503) >= 5, timeout=10, what="503 while down")
        worker = web_workers(served)[0]
        os.kill(worker, signal.SIGKILL)  # gunicorn boots a new one, without the store
        wait_until(
            lambda: worker not in web_workers(served) and len(web_workers(served)) == 2,
            timeout=15,
            what="worker replaced",
        )
        time.sleep(1)
        assert served.process.poll() is None
        cluster.start()
        wait_ready(served)
        before = poster.count(200)
        wait_until(lambda: poster.count(200) >= before + 20, timeout=10, what="stored again")
    # The one request the killed worker was serving may be cut (unacknowledged: Telegram
    # retries it); none is refused.
    assert poster.count(REFUSED) == 0 and poster.count(DROPPED) <= 1
    assert_only_stored_or_503(poster, cluster, allowed={200, 503, DROPPED})


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def web_workers(served: Served) -> list[int]:
    """The gunicorn workers: the children of serve's child that has children of its own."""
    masters = [pid for pid in children(served.process.pid) if children(pid)]
    return [pid for master in masters for pid in children(master)]


def test_wrong_password_is_exit_2_naming_the_setting_without_the_password(cluster, serve):
    url = add_password_user(cluster, "appuser", "right-pw").replace("right-pw", "wr0ng-pw-5512")
    served = serve(env={"TGWEBHOOK_DB": url}, wait_ready=False)
    assert served.process.wait(timeout=30) == 2
    output = served.output()
    assert "TGWEBHOOK_DB" in output and "password authentication failed" in output
    assert "wr0ng-pw-5512" not in output


def test_bad_sqlite_paths_are_exit_2_with_what_is_wrong(serve, tmp_path: Path):
    not_db = tmp_path / "notes.db"
    not_db.write_text("not a database\n" * 100)
    cases = {
        str(tmp_path / "absent" / "deeper" / "tgwebhook.db"): "does not exist",
        str(not_db): "not an SQLite database",
    }
    for db, message in cases.items():
        served = serve(env={"TGWEBHOOK_DB": db}, wait_ready=False)
        assert served.process.wait(timeout=30) == 2
        assert "TGWEBHOOK_DB" in served.output() and message in served.output()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".db") == ["notes.db"]
    assert not (tmp_path / "absent").exists()


@pytest.mark.parametrize("module", ["forwarder", "monitor"])
def test_each_process_started_alone_refuses_a_bad_sqlite_path(module: str, tmp_path: Path):
    not_db = tmp_path / "notes.db"
    not_db.write_text("not a database\n" * 100)
    env = {**os.environ, "TGWEBHOOK_DB": str(not_db), "TGWEBHOOK_SECRET_TOKEN": SECRET}
    done = subprocess.run(
        [sys.executable, "-m", module], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 2, output
    assert f"TGWEBHOOK_DB={not_db}" in output and "not an SQLite database" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]
