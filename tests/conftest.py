import json
import pathlib

import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
CORPUS = FIXTURES / "corpus"


@pytest.fixture(scope="session")
def record_schema():
    from harvester.report.schema import load_schema

    return load_schema()


def parse_cli(capsys, *args: str) -> tuple[int, list[dict], str]:
    """Run `harvester parse ARGS` in-process; return (exit status, records, stderr)."""
    from harvester.cli import main

    status = main(["parse", *args])
    out, err = capsys.readouterr()
    return status, [json.loads(line) for line in out.splitlines() if line.strip()], err
