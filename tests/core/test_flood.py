"""The flood-shaping policy (core/flood.py): keys of a call, and GCRA decisions as tables."""

from __future__ import annotations

import asyncio

import pytest

from core.flood import (
    GLOBAL,
    FloodKey,
    FloodSettings,
    KeyState,
    block_key,
    decide,
    keys_of,
    method_class,
    wait_turn,
)
from core.storage import open_store

LIMITS = FloodSettings()
NOW = 1000.0


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("sendMessage", "send"),
        ("SENDPHOTO", "send"),
        ("forwardMessages", "send"),
        ("copyMessage", "send"),
        ("sendChatAction", "sendchataction"),
        ("editMessageText", "edit"),
        ("getChatMember", "getchatmember"),
        ("answerCallbackQuery", "answercallbackquery"),
    ],
)
def test_method_classes(method, expected):
    assert method_class(method) == expected


@pytest.mark.parametrize(
    ("method", "chat_id", "names", "interval"),
    [
        ("sendMessage", 42, ("sendmessage:42", GLOBAL, "send:42"), 1.0),
        ("sendMessage", "42", ("sendmessage:42", GLOBAL, "send:42"), 1.0),
        ("sendPhoto", -100123, ("sendphoto:-100123", GLOBAL, "send:-100123"), 3.0),
        ("sendMessage", "@news", ("sendmessage:@news", GLOBAL, "send:@news"), 3.0),
        ("editMessageText", 7, ("editmessagetext:7", GLOBAL, "edit:7"), 1.0),
        ("getChat", 7, ("getchat:7", GLOBAL), None),
        ("getMe", None, ("getme",), None),
        ("sendMessage", "", ("sendmessage",), None),
    ],
)
def test_keys_of_a_call(method, chat_id, names, interval):
    keys = keys_of(LIMITS, method, chat_id)
    assert tuple(key.name for key in keys) == names
    assert block_key(keys) == names[0]
    if interval is not None:
        assert keys[-1].interval == pytest.approx(interval)
    if len(keys) > 1:
        assert keys[1].interval == pytest.approx(1 / 30)


def test_limits_come_from_the_settings():
    slow = FloodSettings(flood_private_per_second=0.5, flood_group_per_minute=6)
    assert keys_of(slow, "sendMessage", 1)[-1].interval == pytest.approx(2.0)
    assert keys_of(slow, "sendMessage", -1)[-1].interval == pytest.approx(10.0)


CHAT = FloodKey("send:1", interval=1.0, tolerance=1.0)  # 1/s, burst 2
BLOCK = FloodKey("sendmessage:1")
OVERALL = FloodKey(GLOBAL, interval=0.1, tolerance=0.0)


@pytest.mark.parametrize(
    ("keys", "states", "max_wait", "wait", "refused", "tats"),
    [
        # fresh keys: at once, each rate key one interval on
        ((BLOCK, CHAT), {}, 10, 0.0, None, {"send:1": NOW + 1}),
        # within the burst: at once
        ((CHAT,), {"send:1": KeyState(tat=NOW + 1)}, 10, 0.0, None, {"send:1": NOW + 2}),
        # burst used up: wait until tat - tolerance
        ((CHAT,), {"send:1": KeyState(tat=NOW + 2)}, 10, 1.0, None, {"send:1": NOW + 3}),
        # an old tat is no credit beyond the burst
        ((CHAT,), {"send:1": KeyState(tat=NOW - 50)}, 10, 0.0, None, {"send:1": NOW + 1}),
        # a 429 block holds the call until it ends; its rate slots are booked then (`later`)
        ((BLOCK, CHAT), {"sendmessage:1": KeyState(blocked_until=NOW + 4)}, 10, 4.0, None, {}),
        # the chat's rate holds it: its slot booked now, the global one later
        ((CHAT, OVERALL), {"send:1": KeyState(tat=NOW + 2)}, 10, 1.0, None, {"send:1": NOW + 3}),
        # past the bound: refused with the whole seconds left, nothing booked
        ((BLOCK, CHAT), {"sendmessage:1": KeyState(blocked_until=NOW + 30.2)}, 10, 30.2, 31, {}),
        ((CHAT,), {"send:1": KeyState(tat=NOW + 13)}, 10, 12.0, 12, {}),
        # a block that is over holds nothing
        ((BLOCK,), {"sendmessage:1": KeyState(blocked_until=NOW - 1)}, 10, 0.0, None, {}),
        # the global key alone: GCRA without burst
        ((OVERALL,), {GLOBAL: KeyState(tat=NOW + 0.05)}, 10, 0.05, None, {GLOBAL: NOW + 0.15}),
    ],
)
def test_decide(keys, states, max_wait, wait, refused, tats):
    decision = decide(keys, states, NOW, max_wait)
    assert decision.wait == pytest.approx(wait)
    assert decision.refused_retry_after == refused
    assert dict(decision.tats) == pytest.approx(tats)


def test_a_blocked_call_books_its_rate_slots_only_when_the_block_is_over():
    states = {"sendmessage:1": KeyState(blocked_until=NOW + 5), GLOBAL: KeyState(tat=NOW)}
    decision = decide((BLOCK, OVERALL, CHAT), states, NOW, 10)
    assert decision.wait == pytest.approx(5.0)
    assert decision.later == (CHAT, OVERALL)
    assert decision.tats == ()


def test_a_call_its_chat_rate_holds_back_books_its_global_slot_later():
    decision = decide((BLOCK, OVERALL, CHAT), {"send:1": KeyState(tat=NOW + 3)}, NOW, 10)
    assert decision.wait == pytest.approx(2.0)
    assert decision.later == (OVERALL,)
    assert dict(decision.tats) == pytest.approx({"send:1": NOW + 4})


def test_the_global_key_is_booked_at_once_when_the_chat_is_free():
    decision = decide((BLOCK, OVERALL, CHAT), {}, NOW, 10)
    assert decision.later == ()
    assert dict(decision.tats)[GLOBAL] == pytest.approx(NOW + 0.1)


@pytest.fixture
def store(tmp_path):
    opened = open_store(str(tmp_path / "flood.db"))
    yield opened
    opened.close()


def test_wait_turn_sleeps_the_chat_wait_then_books_the_global_slot(store):
    clock = [NOW]
    store.record_flood("b", "sendmessage:1", NOW + 3)

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    decision = asyncio.run(
        wait_turn(store, "b", (BLOCK, OVERALL, CHAT), 10, lambda: clock[0], sleep)
    )
    assert decision.admitted and decision.wait == pytest.approx(3.0)
    # the global slot was booked at NOW + 3, so the next call of another chat goes then
    other = store.reserve_send("b", (OVERALL,), NOW + 3, 10)
    assert other.wait == pytest.approx(0.1)


def test_wait_turn_refuses_past_the_bound_without_sleeping(store):
    slept = []
    store.record_flood("b", "sendmessage:1", NOW + 60)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    decision = asyncio.run(wait_turn(store, "b", (BLOCK, CHAT), 10, lambda: NOW, sleep))
    assert decision.refused_retry_after == 60
    assert slept == []
