"""Shared fixtures of the ctrule test suite.

The real CloudTrail data lives next to the repository, in
<repo>/../shared/data/cloudtrail (override with CTRULE_TEST_DATA)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

import ctrule

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parents[2]
DATA = Path(os.environ.get("CTRULE_TEST_DATA", REPO.parent / "shared" / "data" / "cloudtrail"))
RULES = TESTS / "data" / "rules.yaml"

# What each test rule matches (their conditions test eventName only).
RULE_EVENTS: dict[str, set[str]] = {
    "Access Key Created": {"CreateAccessKey"},
    "IAM Write": {"CreateAccessKey", "CreateUser"},
    "CloudTrail Logging Stopped": {"StopLogging"},
    "Secret Value Read": {"GetSecretValue"},
    "Console Login": {"ConsoleLogin"},
    "Instances Described": {"DescribeInstances"},
    "Role Assumed": {"AssumeRole"},  # enabled: false
}
ENABLED = [r for r in RULE_EVENTS if r != "Role Assumed"]


@dataclasses.dataclass(frozen=True)
class Record:
    """One line of records.ndjson."""

    index: int
    offset: int
    raw: bytes
    doc: dict[str, Any]


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"test data missing: {path} (set CTRULE_TEST_DATA)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def ndjson_path() -> Path:
    return _need(DATA / "records.ndjson")


@pytest.fixture(scope="session")
def gz_path() -> Path:
    return _need(DATA / "records.json.gz")


@pytest.fixture(scope="session")
def partial_path() -> Path:
    return _need(DATA / "partial.ndjson")


@pytest.fixture(scope="session")
def ndjson_bytes(ndjson_path: Path) -> bytes:
    return ndjson_path.read_bytes()


@pytest.fixture(scope="session")
def records(ndjson_bytes: bytes) -> list[Record]:
    out: list[Record] = []
    offset = 0
    for line in ndjson_bytes.split(b"\n"):
        if line.strip():
            out.append(Record(len(out), offset, line, json.loads(line)))
        offset += len(line) + 1
    return out


def expected_matches(records: list[Record], rules: list[str] | None = None) -> list[tuple[int, str]]:
    """(record index, rule) of every alert the test rules must produce, sorted."""
    rules = ENABLED if rules is None else rules
    return sorted((r.index, rule) for r in records for rule in rules
                  if r.doc.get("eventName") in RULE_EVENTS[rule])


def keys(alerts: list[ctrule.Alert]) -> list[tuple[int, str]]:
    return sorted((a.record_index, a.rule) for a in alerts)


@pytest.fixture(scope="session")
def rules_path() -> Path:
    return RULES


@pytest.fixture(scope="session")
def ruleset() -> ctrule.Ruleset:
    return ctrule.load(RULES, builtins=())


@pytest.fixture(scope="session")
def expected(records: list[Record]) -> list[tuple[int, str]]:
    exp = expected_matches(records)
    assert len(exp) > 100, "the test rules should match plenty of the real records"
    return exp
