"""The forwarder holds two SQLite stores in one process (its own and the no-wait twin its event
loop uses inline). Opening the second must not cost the first its POSIX locks: closing any
descriptor of the database file drops all of this process's locks on it, and then another
process closing the database takes itself for the last user, checkpoints and deletes the WAL
under us, and our connections never see a new row again (updates stay pending, never claimed,
not even by the safety-net poll: the stall bisected to 2b6fefc, fixed by 7285715)."""

from __future__ import annotations

import subprocess
import sys

from core.storage import PENDING, open_store
from tests.helpers.forward_kit import states
from tests.helpers.support import ROOT

# Another process (a web worker) stores one update and closes its store.
WRITER = (
    "import sys\n"
    "from core.storage import open_store\n"
    "from tests.helpers.forward_kit import enqueue\n"
    "store = open_store(sys.argv[1])\n"
    "enqueue(store, int(sys.argv[2]), 5)\n"
    "store.close()\n"
)


def store_elsewhere(path: str, update_id: int) -> None:
    subprocess.run(
        [sys.executable, "-c", WRITER, path, str(update_id)], cwd=ROOT, check=True, timeout=30
    )


def test_rows_other_processes_commit_stay_visible_after_the_no_wait_twin_opens(tmp_path):
    path = str(tmp_path / "queue.db")
    store = open_store(path)
    try:
        assert states(store) == {}  # this thread's connection is open and holds its locks
        twin = store.without_waiting()
        try:
            assert states(twin) == {}
            for update_id in (1, 2, 3):
                store_elsewhere(path, update_id)
            assert states(store) == {PENDING: 3}
            assert states(twin) == {PENDING: 3}
        finally:
            twin.close()
    finally:
        store.close()
