"""Telegram-faithful fake Bot API: webhook delivery semantics, getWebhookInfo, faults, traffic.

Self-contained (stdlib + aiohttp). Start it in-process with `start_simulator()` or as
`python -m simulator`; see simulator/README.md.
"""

from simulator.admin_client import AdminClient, AdminError
from simulator.harness import Simulator, start_simulator
from simulator.state import SimConfig
from simulator.tokens import make_token

__all__ = ["AdminClient", "AdminError", "SimConfig", "Simulator", "make_token", "start_simulator"]
