"""A throwaway PostgreSQL cluster for tests: initdb + pg_ctl in a temp dir, 127.0.0.1 only.

initdb refuses to run as root (tests run as root in CI), so the cluster belongs to an
unprivileged system user and every server command runs through `runuser`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.support import free_port

TEST_USER = "tgwebhook-test"
START_TIMEOUT = 30


def server_binary(name: str) -> str:
    """`initdb`/`pg_ctl` from PATH, else from Debian's versioned directory (newest first)."""
    found = shutil.which(name)
    if found:
        return found
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    raise RuntimeError(f"PostgreSQL's {name} not found: install the postgresql package")


def cluster_user() -> str | None:
    """None when not root; otherwise a system user that may own the cluster (created once)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
            check=True,
            timeout=30,
        )
    return TEST_USER


@dataclass
class Cluster:
    root: Path
    port: int
    user: str | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sockets(self) -> Path:
        return self.root / "sockets"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str, timeout: float = START_TIMEOUT) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        subprocess.run([*prefix, *argv], check=True, timeout=timeout, capture_output=True)

    def start(self) -> None:
        self._run(
            server_binary("pg_ctl"),
            "start",
            "-w",
            "-t",
            str(START_TIMEOUT),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200",
        )

    def stop(self, mode: str = "immediate") -> None:
        self._run(server_binary("pg_ctl"), "stop", "-w", "-m", mode, "-D", str(self.data))

    def fresh_url(self) -> str:
        """A fresh, empty namespace for one test: a schema, first on the URL's search_path
        (CREATE DATABASE takes ~0.4 s; a schema a few ms)."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return f"{self.url()}?options=-csearch_path%3D{name}"


def start_cluster() -> Cluster:
    user = cluster_user()
    root = Path(tempfile.mkdtemp(prefix="tgwebhook-pg-"))
    cluster = Cluster(root, free_port(), user)
    cluster.sockets.mkdir()
    if user:
        shutil.chown(root, user)
        shutil.chown(cluster.sockets, user)
        os.chmod(root, 0o700)
    cluster._run(
        server_binary("initdb"),
        "-D",
        str(cluster.data),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-sync",
    )
    cluster.start()
    return cluster


def remove_cluster(cluster: Cluster) -> None:
    with contextlib.suppress(subprocess.SubprocessError):
        cluster.stop()  # may be stopped already (a test stops it on purpose)
    shutil.rmtree(cluster.root, ignore_errors=True)


@contextlib.contextmanager
def own_cluster() -> Iterator[Cluster]:
    """A cluster for one test that stops and starts it (the session's is shared)."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        remove_cluster(cluster)


def add_password_user(cluster: Cluster, user: str, password: str) -> str:
    """A role that must give its password over TCP (the cluster trusts everyone else); its
    URL with `password`. The pg_hba line goes first: the first matching line wins."""
    import psycopg

    hba = cluster.data / "pg_hba.conf"
    line = f"host all {user} 127.0.0.1/32 scram-sha-256\n"
    prefix = ["runuser", "-u", cluster.user, "--"] if cluster.user else []
    subprocess.run(
        [
            *prefix,
            "sh",
            "-c",
            f"printf '%s' '{line}' | cat - {hba} > {hba}.new && mv {hba}.new {hba}",
        ],
        check=True,
        timeout=10,
    )
    cluster._run(server_binary("pg_ctl"), "reload", "-D", str(cluster.data))
    with psycopg.connect(cluster.url(), autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{password}'")
        conn.execute(f'GRANT ALL ON SCHEMA public TO "{user}"')  # PostgreSQL 15+: owner only
    deadline = time.monotonic() + 10  # the reload is asynchronous: wait until it applies
    while time.monotonic() < deadline:
        try:
            psycopg.connect(f"postgresql://{user}@127.0.0.1:{cluster.port}/postgres").close()
        except psycopg.OperationalError:
            break
        time.sleep(0.05)
    return f"postgresql://{user}:{password}@127.0.0.1:{cluster.port}/postgres"
