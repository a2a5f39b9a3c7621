"""The users file and the Access decision (ops/access.py): roles, hashes, fail-closed."""

from __future__ import annotations

import base64
import hashlib

import pytest

from ops.access import Access, Principal, User, UsersFileError, hash_password, load_users

SCRYPT = hash_password("pa:ss word", b"0123456789abcdef", n=2**10)
SHA = "sha256:" + hashlib.sha256(b"viewer-pw").hexdigest()
USERS = (User("ann", "operator", SCRYPT), User("bea", "viewer", SHA))


def basic(name: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{name}:{password}".encode())


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (basic("ann", "pa:ss word"), Principal("ann", "operator")),  # a colon in the password
        (basic("bea", "viewer-pw"), Principal("bea", "viewer")),
        (basic("ann", "viewer-pw"), None),
        (basic("bea", "pa:ss word"), None),
        (basic("zed", "viewer-pw"), None),
        (basic("", ""), None),
        (b"Basic not-base64!", None),
        (b"Basic " + base64.b64encode(b"no-colon"), None),
        (b"Bearer tok-en", Principal("token", "operator")),
        (b"Bearer tok-e", None),
        (None, None),
    ],
)
def test_who_a_header_names(header, expected):
    assert Access(b"tok-en", USERS, loopback=False).principal(header) == expected


@pytest.mark.parametrize("loopback", [True, False])
def test_without_credentials_only_loopback_is_open(loopback):
    expected = Principal("local", "operator") if loopback else None
    assert Access(b"", (), loopback=loopback).principal(None) == expected
    assert Access(b"", (), loopback=loopback).principal(basic("ann", "x")) == expected


def test_a_users_file_is_read_with_comments_and_blank_lines(tmp_path):
    path = tmp_path / "users"
    path.write_text(f"# who\n\nann:operator:{SCRYPT}\n  bea:viewer:{SHA}  \n")
    assert load_users(str(path)) == USERS
    assert load_users("") == ()


@pytest.mark.parametrize(
    "line",
    [
        "ann:admin:" + SHA,
        "ann:viewer:md5:abc",
        "ann:viewer:sha256:zz",
        ":viewer:" + SHA,
        "ann:viewer:scrypt:1:2:salt:key",
        "ann:viewer:scrypt:x:8:1:00:00",
    ],
)
def test_a_malformed_line_is_refused_naming_the_line_not_the_hash(tmp_path, line):
    path = tmp_path / "users"
    path.write_text(f"# header\n{line}\n")
    with pytest.raises(UsersFileError, match="line 2") as raised:
        load_users(str(path))
    assert SHA.split(":")[1] not in str(raised.value)


def test_a_missing_users_file_is_refused(tmp_path):
    with pytest.raises(UsersFileError, match="TGWEBHOOK_OPS_USERS_FILE"):
        load_users(str(tmp_path / "absent"))
