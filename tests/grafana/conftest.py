"""The live stack fixture; helpers live in grafana_kit.py and live_stack.py.

The stack is built once per module, not per test: a Prometheus that has scraped a running
appliance under traffic for a while is what every panel and rule check needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.helpers.live_stack import Live, build


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """Simulator, appliance, bot backend and Prometheus, all stopped at teardown."""
    with ExitStack() as stack:
        yield build(stack, tmp_path_factory.mktemp("live"))
