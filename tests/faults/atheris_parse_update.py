"""atheris (libFuzzer) target: for any bytes, `receiver.parsing.parse_update` returns an update
or raises `Rejected` (a 400/413 answer); any other exception is a crash (a 5xx in the app).

Run by test_atheris_parse_update.py as `python atheris_parse_update.py [libFuzzer flags] CORPUS`
with the project root on PYTHONPATH.
"""

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from core.updates import load_schema
    from receiver.parsing import Rejected, parse_update

SCHEMA = load_schema()


def one_input(data: bytes) -> None:
    with contextlib.suppress(Rejected):
        parse_update(data, SCHEMA)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
