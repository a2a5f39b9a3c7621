"""The pure getUpdates rules (proxy/polling.py) and parameter reading (proxy/params.py)."""

from __future__ import annotations

import pytest

from proxy.params import Params, parse
from proxy.polling import Previous, allowed_kinds, offset_is_sane, poll_request, throttled

KNOWN = ("message", "edited_message", "chat_member", "message_reaction", "message_reaction_count")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, (0, 100, 0)),
        ({"limit": "0", "timeout": "-5"}, (0, 1, 0)),
        ({"limit": "500", "timeout": "90"}, (0, 100, 50)),
        ({"limit": "abc", "timeout": "x", "offset": "junk"}, (0, 1, 0)),
        ({"limit": "12abc", "offset": "-3"}, (-3, 12, 0)),
    ],
)
def test_values_are_clamped_never_rejected(values, expected):
    request = poll_request(Params(values), KNOWN)
    assert (request.offset, request.limit, request.timeout) == expected


@pytest.mark.parametrize(("since", "expected"), [(0.2, (1, 3)), (1.0, (100, 3)), (3.5, (100, 0))])
def test_the_same_offset_again_soon_is_slowed_down(since, expected):
    request = poll_request(Params({"offset": "7"}), KNOWN)
    slowed = throttled(request, Previous(7, 100.0), 100.0 + since)
    assert (slowed.limit, slowed.timeout) == expected
    assert throttled(request, Previous(8, 100.0), 100.1) == request


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("not json", None),
        ('{"a": 1}', None),
        ('["MESSAGE", "chat_member"]', ("message", "chat_member")),
        ("[]", ("message", "edited_message")),
        ('["nonsense"]', ("message", "edited_message")),
    ],
)
def test_allowed_updates_as_telegram_reads_them(raw, expected):
    assert allowed_kinds(raw, KNOWN) == expected


@pytest.mark.parametrize(
    ("offset", "newest", "sane"),
    [(5, 4, True), (15, 4, True), (16, 4, False), (1, 3_000_000, False), (20, None, False)],
)
def test_offsets_far_from_the_queue_are_ignored(offset, newest, sane):
    assert offset_is_sane(offset, newest) is sane


def test_parameters_come_from_query_form_json_or_multipart():
    form = b"offset=3&limit=2"
    multipart = (
        b'--XX\r\nContent-Disposition: form-data; name="offset"\r\n\r\n3\r\n'
        b'--XX\r\nContent-Disposition: form-data; name="limit"\r\n\r\n2\r\n--XX--\r\n'
    )
    sources = [
        parse(b"offset=3&limit=2", "", b""),
        parse(b"", "application/x-www-form-urlencoded", form),
        parse(b"", "application/json", b'{"offset": 3, "limit": "2"}'),
        parse(b"", "multipart/form-data; boundary=XX", multipart),
    ]
    assert [(p.integer("offset"), p.integer("limit")) for p in sources] == [(3, 2)] * 4
    assert parse(b"", "application/json", b'{"drop_pending_updates": true}').flag(
        "drop_pending_updates"
    )
