"""Loading rules: files, strings, built-ins, selection, rule listing, and
rule errors with their exact positions."""

from __future__ import annotations

import errno

from pathlib import Path

import pytest

import ctrule
from ctrule import Priority, RulesError, Severity

from conftest import ENABLED, RULE_EVENTS


def test_version() -> None:
    major, minor, patch = ctrule.version()
    assert ctrule.__version__ == f"{major}.{minor}.{patch}"
    assert ctrule.ENGINE_VERSION.count(".") == 2
    assert ctrule.CLOUDTRAIL_PLUGIN_VERSION and ctrule.JSON_PLUGIN_VERSION


def test_status_enum_mirrors_library() -> None:
    assert ctrule.Status.OK == 0 and ctrule.Status.STOPPED == 1
    assert ctrule.Status.ESYNTAX.message == "invalid rules"
    err = ctrule.CtruleError(ctrule.Status.EDATA)
    assert err.status_name == "EDATA" and str(err) == "invalid event data"


def test_load_file(ruleset: ctrule.Ruleset, rules_path: Path) -> None:
    assert [r.name for r in ruleset.rules] == list(RULE_EVENTS)
    assert [r.name for r in ruleset.enabled_rules] == ENABLED
    assert ruleset.enabled_count == len(ENABLED)
    assert len(ruleset) == len(RULE_EVENTS)
    r = ruleset["Access Key Created"]
    assert r.priority is Priority.WARNING
    assert r.tags == ("aws", "iam", "persistence")
    assert r.desc == "An IAM access key was created."
    assert r.condition.strip() == "ct.name = CreateAccessKey"
    assert "%ct.user" in r.output and r.enabled
    assert ruleset["IAM Write"].condition.strip() == "iam_write"
    assert not ruleset["Role Assumed"].enabled
    assert "Console Login" in ruleset and "Nope" not in ruleset
    with pytest.raises(KeyError):
        ruleset["Nope"]
    # pathlib and str paths alike
    assert [r.name for r in ctrule.load(str(rules_path), builtins=())] == [r.name for r in ruleset]


def test_loads_string_and_bytes(rules_path: Path) -> None:
    text = rules_path.read_text()
    a = ctrule.loads(text)
    b = ctrule.loads(text.encode(), name="inline.yaml")
    assert [r.name for r in a] == [r.name for r in b] == list(RULE_EVENTS)


def test_builtin_rds() -> None:
    assert "rds" in ctrule.builtin_names()
    yaml = ctrule.builtin_yaml("rds")
    rs = ctrule.builtin("rds")
    assert len(rs) >= 1
    for rule in rs:
        assert rule.name in yaml
        assert "aws_rds" in rule.tags
    with pytest.raises(KeyError):
        ctrule.builtin_yaml("nope")
    with pytest.raises(RulesError) as ei:
        ctrule.builtin("nope")
    assert ei.value.status == ctrule.Status.ENOENT
    assert "rds" in str(ei.value)


def test_builtin_plus_file_in_order(rules_path: Path) -> None:
    rs = ctrule.load(rules_path, builtins=["rds"])
    names = [r.name for r in rs]
    rds = [r.name for r in ctrule.builtin()]
    # Sigma correlations come after every other rule (they are compiled last)
    corr = [r.name for r in ctrule.builtin() if "sigma.correlation" in r.tags]
    assert len(corr) == 3 and rds[-3:] == corr
    assert names == rds[:-3] + list(RULE_EVENTS) + corr


def enabled(rs: ctrule.Ruleset) -> set[str]:
    return {r.name for r in rs.enabled_rules}


def test_select_by_tag(rules_path: Path) -> None:
    assert enabled(ctrule.load(rules_path, builtins=(), tags=["iam"])) == {"Access Key Created", "IAM Write"}
    assert enabled(ctrule.load(rules_path, builtins=(), tags=["iam", "console"])) == {
        "Access Key Created", "IAM Write", "Console Login"}
    assert enabled(ctrule.load(rules_path, builtins=(), exclude_tags=["noise", "iam"])) == {
        "CloudTrail Logging Stopped", "Secret Value Read", "Console Login"}


def test_select_by_name(rules_path: Path) -> None:
    assert enabled(ctrule.load(rules_path, builtins=(), names=["C*"])) == {
        "CloudTrail Logging Stopped", "Console Login"}
    assert enabled(ctrule.load(rules_path, builtins=(), exclude_names=["*e?d"])) == set(ENABLED) - {
        "Secret Value Read"}
    # names and tags together: the union
    assert enabled(ctrule.load(rules_path, builtins=(), names=["Console*"], tags=["secrets"])) == {
        "Console Login", "Secret Value Read"}


def test_select_by_min_priority(rules_path: Path) -> None:
    cases: list[tuple[Priority | int | str, set[str]]] = [
        (Priority.CRITICAL, {"CloudTrail Logging Stopped"}),
        ("error", {"CloudTrail Logging Stopped", "IAM Write"}),
        ("Warning", {"CloudTrail Logging Stopped", "IAM Write", "Access Key Created"}),
        ("info", set(ENABLED) - {"Instances Described"}),
        (Priority.DEBUG, set(ENABLED)),
        (5, {"CloudTrail Logging Stopped", "IAM Write", "Access Key Created",
             "Secret Value Read"}),
    ]
    for level, expect in cases:
        assert enabled(ctrule.load(rules_path, builtins=(), min_priority=level)) == expect, level


def test_compiler_api(rules_path: Path) -> None:
    with ctrule.Compiler() as c:
        assert c.add_file(rules_path) == []
        c.select_name("*", False)
        c.select_tag("secrets")
        c.select_name("Console Login", True)
        c.select_name("Console Login", False)  # applied in order
        c.min_priority = "notice"
        assert c.min_priority is Priority.NOTICE
        rs = c.compile()
        assert c.diagnostics == [] and c.error_count == 0
    assert enabled(rs) == {"Secret Value Read"}
    with pytest.raises(ValueError, match="closed"):
        c.add_builtin()
    with pytest.raises(ValueError):
        ctrule.Compiler().min_priority = "loud"
    with pytest.raises(TypeError):
        ctrule.Compiler().add_string(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ctrule.Ruleset()


def test_priority_enum() -> None:
    assert [p.name for p in Priority] == ["EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING",
                                          "NOTICE", "INFORMATIONAL", "DEBUG"]
    assert list(Priority) == list(range(8))
    assert Priority.CRITICAL < Priority.WARNING  # lower is more severe
    assert Priority.INFORMATIONAL.label == "Informational"
    assert Priority.parse("INFO") is Priority.INFORMATIONAL
    assert Priority.parse("critical") is Priority.CRITICAL
    assert Priority.parse(3) is Priority.ERROR
    for bad in ("loud", 8, -1):
        with pytest.raises(ValueError):
            Priority.parse(bad)
    with pytest.raises(TypeError):
        Priority.parse(1.5)  # type: ignore[arg-type]


def test_fields_listing() -> None:
    fields = {f.name: f for f in ctrule.fields()}
    for name in ("ct.user", "ct.name", "ct.region", "ct.srcip", "json.value", "evt.time"):
        assert name in fields, name
    assert all(f.type in ("string", "uint64", "list") and f.desc for f in fields.values())


# ------------------------------------------------------------ rule errors


def position(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the n-th occurrence of needle in text."""
    at = -1
    for _ in range(occurrence):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


RULE_HEAD = "- rule: Bad\n  desc: d\n  output: o %ct.user\n  priority: WARNING\n"


def test_unknown_field_position(tmp_path: Path) -> None:
    text = RULE_HEAD + "  condition: ct.name = CreateUser and ct.nosuchfield = x\n"
    path = tmp_path / "bad_field.yaml"
    path.write_text(text)
    with pytest.raises(RulesError) as ei:
        ctrule.load(path, builtins=())
    err = ei.value
    assert err.status == ctrule.Status.ESYNTAX and err.status_name == "ESYNTAX"
    assert (err.file, err.line, err.column) == (str(path), *position(text, "ct.nosuchfield"))
    assert err.code and err.message and "nosuchfield" in err.message
    assert err.errors[0].item == "Bad" and err.errors[0].severity is Severity.ERROR
    assert f"{path}:{err.line}:{err.column}: error:" in str(err)


def test_condition_error_in_block_scalar() -> None:
    text = (RULE_HEAD + "  condition: >\n"
            "    ct.name = CreateUser\n"
            "    and (ct.user = alice\n"
            "         or ct.user startswith)\n")
    with pytest.raises(RulesError) as ei:
        ctrule.loads(text, name="block.yaml")
    err = ei.value
    assert err.file == "block.yaml"
    # the operator missing its operand, on the third line of a folded scalar
    assert (err.line, err.column) == position(text, "startswith")


def test_undefined_macro_position() -> None:
    text = RULE_HEAD + "  condition: ct.name = CreateUser and not_a_macro\n"
    with pytest.raises(RulesError) as ei:
        ctrule.loads(text, name="macro.yaml")
    assert (ei.value.line, ei.value.column) == position(text, "not_a_macro")
    assert "not_a_macro" in str(ei.value)


def test_yaml_syntax_error_position() -> None:
    text = "- rule: Bad\n  desc: [unclosed\n  condition: ct.name = X\n"
    with pytest.raises(RulesError) as ei:
        ctrule.loads(text, name="syntax.yaml")
    err = ei.value
    assert err.file == "syntax.yaml" and err.code == "LOAD_ERR_YAML_PARSE"
    assert err.line >= 2 and err.column >= 1


def test_invalid_regex_position() -> None:
    text = RULE_HEAD + "  condition: ct.name = CreateUser and ct.user regex \"a(b\"\n"
    with pytest.raises(RulesError) as ei:
        ctrule.loads(text, name="re.yaml")
    assert (ei.value.line, ei.value.column) == position(text, '"a(b"')


def test_missing_file() -> None:
    for load in (lambda p: ctrule.load(p), lambda p: ctrule.Compiler().add_file(p)):
        with pytest.raises(FileNotFoundError) as ei:
            load("/nonexistent/rules.yaml")
        err = ei.value
        assert isinstance(err, ctrule.RulesFileNotFoundError) and isinstance(err, RulesError)
        assert err.errno == errno.ENOENT and err.filename == "/nonexistent/rules.yaml"
        assert err.status == ctrule.Status.EIO
        assert err.code == "LOAD_ERR_FILE_READ" and err.file == "/nonexistent/rules.yaml"
        assert "/nonexistent/rules.yaml" in str(err)


def test_unreadable_file_is_not_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as ei:
        ctrule.load(tmp_path)  # a directory: exists, cannot be read as rules
    assert not isinstance(ei.value, FileNotFoundError)


def test_load_puts_the_builtin_rules_first_like_the_cli(tmp_path: Path) -> None:
    # A tuning file that overrides a built-in rule, as docs/rds-rules.md shows.
    tuning = tmp_path / "tuning.yaml"
    tuning.write_text("- rule: RDS Instance Stopped\n  enabled: false\n  override:\n    enabled: replace\n")
    rs = ctrule.load(tuning)
    builtin = ctrule.builtin("rds")
    assert [r.name for r in rs] == [r.name for r in builtin]
    assert not rs["RDS Instance Stopped"].enabled and builtin["RDS Instance Stopped"].enabled
    with pytest.raises(RulesError):  # standalone, there is nothing to override
        ctrule.load(tuning, builtins=())


def test_warnings_are_reported_not_raised() -> None:
    text = RULE_HEAD.replace("rule: Bad", "rule: Warned") + \
        "  condition: ct.name = CreateUser\n  frobnicate: yes\n"
    c = ctrule.Compiler()
    diags = c.add_string(text, "warn.yaml")
    assert diags and all(not d.is_error for d in diags)
    w = diags[0]
    assert (w.severity, w.file, w.line) == (Severity.WARNING, "warn.yaml",
                                           position(text, "frobnicate")[0])
    assert str(w) == w.text and "warning" in w.text
    rs = c.compile()
    assert [r.name for r in rs] == ["Warned"]
    assert c.warnings == diags


def test_errors_across_files_accumulate(rules_path: Path) -> None:
    c = ctrule.Compiler()
    c.add_file(rules_path)
    with pytest.raises(RulesError) as first:
        c.add_string("- rule: [broken\n", "second.yaml")
    assert first.value.file == "second.yaml"
    assert c.error_count >= 1
    with pytest.raises(RulesError) as ei:
        c.compile()
    assert ei.value.file == "second.yaml"
    assert all(d.file == "second.yaml" for d in ei.value.errors)
