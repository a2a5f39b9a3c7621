"""A short, bounded, coverage-guided fuzz run (atheris/libFuzzer) over parse_update.

libFuzzer ends its process when done, so the target runs as a child (atheris_parse_update.py).
A fixed seed and a fixed number of runs make the run the same every time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.updates import load_schema
from tests.helpers.support import ROOT, make_update

pytest.importorskip("atheris", reason="atheris is not installed (requirements-dev.txt)")

RUNS = 200_000  # about 4 s on one core
TARGET = Path(__file__).with_name("atheris_parse_update.py")


def dictionary_entry(token: bytes) -> str:
    """A libFuzzer dictionary line: the token quoted, with \\, " and non-printables escaped."""
    chars = [
        f"\\{chr(b)}" if chr(b) in '\\"' else chr(b) if 32 <= b < 127 else f"\\x{b:02X}"
        for b in token
    ]
    return '"' + "".join(chars) + '"'


def write_dictionary(path: Path) -> Path:
    # Field names of the spec let the fuzzer reach the update model, not just the JSON parser.
    schema = load_schema()
    names = set(schema.update_types) | set(schema.fields["Message"])
    names |= {
        name for kind in schema.fields if kind.startswith("Rich") for name in schema.fields[kind]
    }
    tokens = [f'"{name}":'.encode() for name in sorted(names)]
    tokens += [
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b"true",
        b"null",
        b"NaN",
        b"-Infinity",
        b"1e999",
        b"\\ud800",
        b"2147483648",
        b'"update_id": ',
        b"\xff",
        b"\xed\xa0\x80",
    ]
    path.write_text("\n".join(map(dictionary_entry, tokens)) + "\n")
    return path


def test_parse_update_only_ever_returns_or_rejects(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "message").write_text(json.dumps(make_update(1)))
    (corpus / "callback").write_text(json.dumps(make_update(2, kind="callback_query")))
    flags = [
        f"-runs={RUNS}",
        "-seed=1",
        "-max_len=4096",
        "-timeout=5",
        "-rss_limit_mb=1024",
        f"-dict={write_dictionary(tmp_path / 'json.dict')}",
        f"-artifact_prefix={tmp_path}/",
    ]
    result = subprocess.run(
        [sys.executable, str(TARGET), *flags, str(corpus)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert f"Done {RUNS} runs" in result.stderr
