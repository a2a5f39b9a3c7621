"""Injected Bot API faults: errors (429 with retry_after, 401, 5xx ...), delays, dropped
connections.

A fault matches a method name (case-insensitive, "*" for all) and optionally one token. Every
matching fault applies and uses up one of its `times` (None = forever): delays add up, the first
matching error wins.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

from simulator.envelope import ApiError

_FIELDS = frozenset(
    {
        "method",
        "token",
        "error_code",
        "description",
        "retry_after",
        "parameters",
        "delay",
        "times",
        "disconnect",
        "raw_body",
    }
)


@dataclass
class Fault:
    id: int
    method: str = "*"
    token: str | None = None
    error_code: int | None = None
    description: str | None = None
    retry_after: int | None = None
    parameters: dict[str, Any] | None = None
    delay: float = 0.0
    times: int | None = None
    disconnect: bool = False
    raw_body: str | None = None

    def matches(self, token: str, method: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.token is not None and self.token != token:
            return False
        return self.method == "*" or self.method == method.lower()

    def error(self) -> ApiError | None:
        if self.error_code is None:
            return None
        return ApiError(self.error_code, self.description, self.retry_after, self.parameters)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FaultEffect:
    """What to do to one call: wait `delay`, then fail with `error`, drop, or answer raw."""

    delay: float = 0.0
    error: ApiError | None = None
    disconnect: bool = False
    raw_body: str | None = None


def parse_fault(spec: dict[str, Any], fault_id: int) -> Fault:
    """Validate an admin fault spec; raises ValueError with a readable reason."""
    unknown = set(spec) - _FIELDS
    if unknown:
        raise ValueError(f"unknown fault fields: {sorted(unknown)}")
    fault = Fault(id=fault_id, **spec)
    fault.method = str(fault.method).lower()
    if fault.error_code is not None and not 400 <= int(fault.error_code) <= 599:
        raise ValueError("error_code must be in 400..599")
    if fault.error_code == 429 and fault.retry_after is None:
        fault.retry_after = 1
    if fault.times is not None and int(fault.times) < 1:
        raise ValueError("times must be >= 1 (omit it for a permanent fault)")
    if float(fault.delay) < 0:
        raise ValueError("delay must be >= 0")
    effects = (fault.error_code, fault.delay, fault.disconnect, fault.raw_body)
    if not any(effects):
        raise ValueError("a fault needs error_code, delay, disconnect or raw_body")
    return fault


class FaultBook:
    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, Any]) -> Fault:
        fault = parse_fault(spec, next(self._ids))
        self.faults.append(fault)
        return fault

    def clear(self, token: str | None = None) -> int:
        before = len(self.faults)
        self.faults = [f for f in self.faults if token is not None and f.token != token]
        return before - len(self.faults)

    def remove(self, fault_id: int) -> bool:
        before = len(self.faults)
        self.faults = [f for f in self.faults if f.id != fault_id]
        return len(self.faults) < before

    def take(self, token: str, method: str) -> FaultEffect:
        """Apply every matching fault to one call, using up one of each one's times."""
        effect = FaultEffect()
        for fault in self.faults:
            if not fault.matches(token, method):
                continue
            if fault.times is not None:
                fault.times -= 1
            effect.delay += float(fault.delay)
            effect.disconnect = effect.disconnect or fault.disconnect
            if effect.error is None and effect.raw_body is None:
                effect.error = fault.error()
                effect.raw_body = fault.raw_body
        self.faults = [f for f in self.faults if f.times is None or f.times > 0]
        return effect
