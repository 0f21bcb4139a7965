"""The bad-input catalogue (tests/catalogue/catalogue.json, documented in
docs/bad-input.md) through the Python package: every bad rule raises
RulesError (or warns) with the catalogued status, code, position and
message; every bad event yields the catalogued RecordError (or StreamError),
strict mode raises BadRecordError, and the good records are still scanned.
Also the limits API: limit_defaults, limits= on Compiler/load/loads/builtin
and Scanner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import ctrule

REPO = Path(__file__).resolve().parents[3]
CATALOGUE_DIR = REPO / "tests" / "catalogue"
CATALOGUE = json.loads((CATALOGUE_DIR / "catalogue.json").read_text())


def _first(diags: list[ctrule.Diagnostic], severity: str) -> ctrule.Diagnostic:
    want = ctrule.Severity.ERROR if severity == "error" else ctrule.Severity.WARNING
    return next(d for d in diags if d.severity == want)


def _assert_diag(d: ctrule.Diagnostic, entry: dict[str, Any], file: str) -> None:
    assert (d.code, d.line, d.column, d.message, d.item, d.file) == (
        entry["code"], entry["line"], entry["column"], entry["message"], entry["item"], file)


@pytest.mark.parametrize("entry", CATALOGUE["rules"], ids=[e["id"] for e in CATALOGUE["rules"]])
def test_bad_rule(entry: dict[str, Any]) -> None:
    c = ctrule.Compiler(limits=entry.get("limits"))
    file = entry.get("path", "bad.yaml")

    def add() -> None:
        if "path" in entry:
            c.add_file(file)
        else:
            c.add_string(entry["yaml"].encode(), file)

    if entry["status"] == "OK":
        add()
        c.compile()
        _assert_diag(_first(c.warnings, "warning"), entry, file)
        return
    if entry["step"] == "add":
        with pytest.raises(ctrule.RulesError) as info:
            add()
    else:
        add()
        with pytest.raises(ctrule.RulesError) as info:
            c.compile()
    err = info.value
    assert err.status_name == entry["status"]
    assert (err.code, err.line, err.column, err.message, err.file) == (
        entry["code"], entry["line"], entry["column"], entry["message"], file)
    _assert_diag(err.errors[0], entry, file)


def _event_bytes(entry: dict[str, Any]) -> bytes:
    if "input_file" in entry:
        return (CATALOGUE_DIR / entry["input_file"]).read_bytes()
    return entry["input"].replace("{GOOD}", CATALOGUE["good_record"]).encode()


def _ruleset(entry: dict[str, Any]) -> ctrule.Ruleset:
    return ctrule.loads(entry.get("rules", CATALOGUE["default_rules"]))


@pytest.mark.parametrize("entry", CATALOGUE["events"], ids=[e["id"] for e in CATALOGUE["events"]])
def test_bad_event(entry: dict[str, Any]) -> None:
    rs = _ruleset(entry)
    alerts: list[ctrule.Alert] = []
    sc = ctrule.Scanner(rs, alerts.append, limits=entry.get("limits"))
    data = _event_bytes(entry)
    if entry["kind"] == "stream":
        with pytest.raises(ctrule.StreamError) as info:
            sc.feed(data)
            sc.finish()
        assert info.value.status_name == entry["status"]
        assert entry["message"] in str(info.value)
        assert info.value.offset == entry["offset"]
    else:
        sc.feed(data)
        sc.finish()
    assert len(alerts) == entry["alerts"]
    assert len(sc.errors) == 1
    err = sc.errors[0]
    assert (err.status_name, err.offset, err.message) == (entry["status"], entry["offset"], entry["message"])
    assert err.evaluated == (entry["kind"] == "evaluated")
    if entry["kind"] != "stream":
        assert err.index == entry["index"]


@pytest.mark.parametrize("entry", [e for e in CATALOGUE["events"] if e["kind"] == "record"],
                         ids=[e["id"] for e in CATALOGUE["events"] if e["kind"] == "record"])
def test_bad_record_in_strict_mode(entry: dict[str, Any]) -> None:
    sc = ctrule.Scanner(_ruleset(entry), limits=entry.get("limits"), strict=True)
    with pytest.raises(ctrule.BadRecordError) as info:
        sc.feed(_event_bytes(entry))
        sc.finish()
    err = info.value
    assert (err.status_name, err.index, err.offset) == (entry["status"], entry["index"], entry["offset"])
    assert entry["message"] in str(err)


# ------------------------------------------------------------------ limits API


def test_limit_defaults() -> None:
    defaults = ctrule.limit_defaults()
    assert defaults == {
        "record_bytes": 16 << 20, "json_depth": 64, "gzip_output": 64 << 30,
        "yaml_aliases": 10000, "yaml_nodes": 2000000, "condition_bytes": 262144,
        "macro_depth": 64, "condition_nodes": 100000, "rules": 20000,
        "regex_match": 100000, "regex_depth": 10000, "list_items": 100000, "gzip_ratio": 200,
        "correlation_events": 100000, "correlation_lateness": 900,
    }


TWO_RULES = ("- rule: a\n  desc: d\n  condition: ct.name exists\n  output: o\n  priority: INFO\n"
             "- rule: b\n  desc: d\n  condition: ct.name exists\n  output: o\n  priority: INFO\n")


def test_limits_on_loads_load_and_builtin(tmp_path: Path) -> None:
    with pytest.raises(ctrule.RulesError) as info:
        ctrule.loads(TWO_RULES, "two.yaml", limits={"rules": 1})
    assert (info.value.file, info.value.line, info.value.column) == ("two.yaml", 6, 9)
    assert "(limit rules)" in info.value.message
    assert len(ctrule.loads(TWO_RULES, limits={"rules": 2})) == 2
    path = tmp_path / "two.yaml"
    path.write_text(TWO_RULES)
    with pytest.raises(ctrule.RulesError):
        ctrule.load(path, builtins=(), limits={"rules": 1})
    with pytest.raises(ctrule.RulesError) as info:
        ctrule.builtin("rds", limits={"rules": 3})
    assert info.value.file == "<builtin:rds>"
    assert len(ctrule.builtin("rds", limits={"rules": 0})) > 3  # 0: the default


def test_compiler_set_limits_between_files() -> None:
    c = ctrule.Compiler()
    c.add_string(TWO_RULES, "first.yaml")
    c.set_limits({"rules": 2})  # bounds what comes next: a third rule is one too many
    with pytest.raises(ctrule.RulesError) as info:
        c.add_string("- rule: c\n  desc: d\n  condition: ct.name exists\n  output: o\n  priority: INFO\n",
                     "second.yaml")
    assert (info.value.file, info.value.line) == ("second.yaml", 1)


def test_limit_names_and_values_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown limit 'nosuch'"):
        ctrule.Compiler(limits={"nosuch": 1})
    with pytest.raises(ValueError, match="cannot be set on a compiler"):
        ctrule.Compiler(limits={"record_bytes": 10})
    with pytest.raises(ValueError, match="non-negative int"):
        ctrule.Compiler(limits={"rules": -1})
    with pytest.raises(ValueError, match="non-negative int"):
        ctrule.Compiler(limits={"rules": True})
    rs = ctrule.loads(TWO_RULES)
    with pytest.raises(ValueError, match="cannot be set on a scanner"):
        ctrule.Scanner(rs, limits={"macro_depth": 3})
    with pytest.raises(ValueError, match="out of range"):
        ctrule.Scanner(rs, limits={"regex_match": 1 << 40})


def test_scanner_regex_limit_overrides_the_ruleset() -> None:
    entry = next(e for e in CATALOGUE["events"] if e["id"] == "regex_limit")
    data = _event_bytes(entry)
    # set on the compiler: the ruleset carries it to every scanner
    rs = ctrule.loads(entry["rules"], limits={"regex_match": 1000})
    sc = ctrule.Scanner(rs)
    sc.feed(data)
    sc.finish()
    assert [e.status_name for e in sc.errors] == ["ELIMIT"]
    # a scanner raises it for itself: the regex decides (no match: the name ends in "b")
    sc = ctrule.Scanner(rs, limits={"regex_match": 10 ** 8})
    sc.feed(data)
    sc.finish()
    assert sc.errors == []
