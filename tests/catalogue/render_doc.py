#!/usr/bin/env python3
"""Renders docs/bad-input.md from tests/catalogue/catalogue.json, the one
table the C, CLI, Python and Go catalogue tests all assert.

    python3 tests/catalogue/render_doc.py            # rewrite docs/bad-input.md
    python3 tests/catalogue/render_doc.py --check    # exit 1 if it is out of date

tests/e2e/test_catalogue.py runs the check, so the doc cannot drift from the
table, and the table cannot drift from what the library does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DOC = REPO / "docs" / "bad-input.md"

GO_ERR = {"ESYNTAX": "ErrSyntax", "EIO": "ErrIO", "EVERSION": "ErrVersion", "EDATA": "ErrData",
          "ELIMIT": "ErrLimit"}

INTRO = """\
# Bad input: what each interface tells you

A security tool reads attacker-influenced data (CloudTrail records carry attacker-chosen
strings) and rules written by many hands. libctrule never crashes, hangs or grows without bound
on bad input: every class of bad rule and bad event below produces a precise report, and a
scan carries on past a bad record. This page lists each class with exactly what the C API, the
`ctrule` CLI, the Python package and the Go module say.

It is generated from [`tests/catalogue/catalogue.json`](../tests/catalogue/catalogue.json) by
`python3 tests/catalogue/render_doc.py`; that same table drives `tests/test_catalogue.c` (C),
`tests/e2e/test_catalogue.py` (CLI, which also checks this page is current),
`bindings/python/tests/test_catalogue.py` and `bindings/go/ctrule/catalogue_test.go`, so every
entry is asserted in every interface.

## How each interface reports

**Bad rules** follow Falco's error model: a diagnostic with a stable code (`LOAD_ERR_*` for
errors, `LOAD_*` for warnings), the file, line and column (1-based; 0 when unknown), the item
(rule, macro or list) concerned, and a message. As in Falco, loading a file stops at its first
error.

| interface | error | warning |
|---|---|---|
| C | the add call (`ctr_compiler_add_string/_file`) or `ctr_compiler_compile` returns the status below; `ctr_compiler_diag()` gives the diagnostic; `ctr_diag_text()` is `file:line:col: error: message (in 'item')` | the call returns `CTR_OK`; the diagnostic has severity `CTR_SEVERITY_WARNING` |
| CLI | `ctrule validate FILE` (and `scan -r FILE`) print the diagnostic text (validate on stdout, scan on stderr); **exit 3** | printed as `file:line:col: warning: ...`; exit 0 (3 with `validate --werror`) |
| Python | `ctrule.RulesError` (a `ctrule.CtruleError`) with `.status_name`, and `.code`, `.file`, `.line`, `.column`, `.message` of the first error; `.diagnostics` has them all | no exception; in `Compiler.warnings` |
| Go | a `*ctrule.CompileError`; `errors.Is(err, ctrule.ErrSyntax)` (or the target below); `.Diagnostics` (`Code`, `File`, `Line`, `Column`, `Item`, `Message`) | no error; in `Compiler.Diagnostics()` |

**Bad events** are reported per record, with the record's index in the stream (from 0) and the
byte offset of its first byte in the decompressed stream, and the scan goes on with the next
record. A *stream* error (unreadable gzip, gzip bomb) ends that input instead; its offset is in
the compressed input.

| interface | bad record | record evaluated anyway | stream error |
|---|---|---|---|
| C | the error callback gets a `ctr_record_error` (status, index, offset, message, `evaluated == 0`); counted in `CTR_STAT_BAD_RECORDS`; feed/finish return `CTR_OK` | same with `evaluated == 1`; an incomplete record counted once in `CTR_STAT_INCOMPLETE` (before the callback); a rule a regex limit left undecided, or a correlation's match not counted, in no statistic | reported the same way (text `input at byte N: ...`); feed/finish return the status |
| CLI | stderr `ctrule: PATH: record N at byte M: message`; the scan goes on; **exit 4** | incomplete record: a count (`-v` lists them); a regex limit or a correlation's match not counted (an alert may be missing): `ctrule: warning: PATH: record N at byte M: message`; exit 0 | stderr `ctrule: PATH: input at byte M: message`; other inputs are still scanned; **exit 4** |
| Python | a `ctrule.RecordError` in `Scanner.errors` / `on_error`; with `strict=True`, `ctrule.BadRecordError` (`.index`, `.offset`, `.status_name`) | a `RecordError` with `evaluated=True`; never raised | `ctrule.StreamError` (`.status_name`) from `feed`/`finish` |
| Go | `OnRecordError` gets a `*ctrule.RecordError`; `errors.Is(err, ctrule.ErrData)` (or the target below) | a `*ctrule.RecordError` with `Evaluated: true` | `Write`/`Finish` return a `*ctrule.ScanError`; `errors.Is` as below |

**Wrong or empty input** follows one policy in every interface, once an input (a file, stdin,
a bytes object, a reader, an S3 object: one stream from its first byte to finish) was read to
its end. An input with no record in it at all (no bytes, only whitespace, `[]`,
`{"Records":[]}`, an empty gzip) is a *warning*: nothing was lost, but it is rarely what was
meant. An input with values in it but not one complete CloudTrail record (every value a bad
record, or JSON without the CloudTrail keys, e.g. `{"hello":"world"}` or text that is not JSON)
is an *error*, even where bad records alone are not: the data is not CloudTrail, and a scan that
reports no alert on it would say the wrong thing. An input in which something was recognised and
skipped (a digest file, CloudWatch Logs control messages) is neither. Records are counted, not
reports: a record without `awsRegion` whose match a correlation cannot count (no valid
`eventTime`) gets two reports and counts once, so one good record beside it makes the input
CloudTrail (`tests/test_correlate.c` `a_record_with_two_reports_counts_once`; Python
`test_a_record_reported_twice_counts_once`; Go `TestARecordReportedTwiceCountsOnce`; the CLI's
`test_a_record_reported_twice_counts_once` in tests/e2e).

| interface | empty input (warning) | no CloudTrail record (error) |
|---|---|---|
| C | `CTR_STAT_RECORDS` and `CTR_STAT_SKIPPED` did not grow over the stream | `CTR_STAT_BAD_RECORDS` + `CTR_STAT_INCOMPLETE` grew by `CTR_STAT_RECORDS` over the stream (each counts a record once); the library leaves the verdict to its caller |
| CLI | stderr `ctrule: warning: PATH: empty input: no record in it`; exit unchanged | stderr `ctrule: PATH: no CloudTrail record in this input (N values: B not a JSON record, I without the CloudTrail keys)`; **exit 4** |
| Python | `ctrule.EmptyInputWarning` (a `UserWarning`) through `warnings` from `finish`/`scan` | `ctrule.NoRecordsError` (a `ctrule.CtruleError`, status `EDATA`) raised by `finish`/`scan`/`Ruleset.scan` after the alerts found |
| Go | the `OnWarning` option's function gets `empty input: no record in it` | `Finish` (and `Scan`, `Alerts`, `Close`) return a `*ctrule.ScanError` for which `errors.Is(err, ctrule.ErrNoRecords)` and `errors.Is(err, ctrule.ErrData)` hold |
| SQS worker | logged at warning level; the message is done | the message fails (stage `scan`) after the alerts found were delivered, comes back, and reaches the dead-letter queue |

Not an error, as in Falco: a name inside a list literal that is no defined list is a string, so
`ct.name in (nosuch_list)` compares with the string `"nosuch_list"`; a mistyped list name is
therefore not reported (`ctrule list -v` shows each rule's condition).

Resource limits (`CTR_LIMIT_*`, each with a safe default, documented in `include/ctrule.h`)
are set with `ctr_compiler_set_limit` / `ctr_scanner_set_limit`, `--limit NAME=VALUE` in the
CLI, `limits={"name": value}` in Python (`Compiler`, `load`, `loads`, `builtin`, `Scanner`),
and `ctrule.WithLimit` / `ctrule.ScanLimit` in Go. The entries named *limit* below set a small
value to show the report; the defaults are far larger.
"""


def code_block(text: str, lang: str = "") -> str:
    shown = text.replace("\0", "\\0")
    return f"```{lang}\n{shown.rstrip(chr(10))}\n```\n"


def rule_section(e: dict) -> str:
    out = [f"### {e['title']} (`{e['id']}`)\n\n"]
    limits = ", ".join(f"`{k}={v}`" for k, v in e.get("limits", {}).items())
    if "path" in e:
        out.append(f"Input: a rules file path that does not exist (`{e['path']}`).\n\n")
    else:
        out.append("Input, as `bad.yaml`" + (f", with the limit {limits}" if limits else "") + ":\n\n")
        out.append(code_block(e["yaml"], "yaml") + "\n")
    file = e.get("path", "bad.yaml")
    pos = f"{e['line']}:{e['column']}:" if e["line"] else ""
    item = f" (in '{e['item']}')" if e["item"] else ""
    text = f"{file}:{pos} {e['severity']}: {e['message']}{item}"
    if "path" in e:
        step = "`ctr_compiler_add_file`"
    else:
        step = "`ctr_compiler_add_string`" if e["step"] == "add" else "`ctr_compiler_compile`"
    if e["status"] == "OK":
        c = f"{step} returns `CTR_OK`; warning `{e['code']}`"
        py = "no exception; the warning is in `Compiler.warnings`"
        go = "no error; the warning is in `Diagnostics()`"
    else:
        c = f"{step} returns `CTR_{e['status']}`; error `{e['code']}`"
        py = (f"`RulesError`: `status_name == \"{e['status']}\"`, `code == \"{e['code']}\"`, "
              f"`line == {e['line']}`, `column == {e['column']}`")
        go = f"`*ctrule.CompileError`, `errors.Is(err, ctrule.{GO_ERR[e['status']]})`"
    out.append("| interface | what the user sees |\n|---|---|\n")
    out.append(f"| diagnostic | `{text}` |\n")
    out.append(f"| C | {c} |\n")
    out.append(f"| CLI | exit {e['cli_exit']} |\n")
    out.append(f"| Python | {py} |\n")
    out.append(f"| Go | {go} |\n")
    return "".join(out)


def event_section(e: dict, cat: dict) -> str:
    out = [f"### {e['title']} (`{e['id']}`)\n\n"]
    limits = ", ".join(f"`{k}={v}`" for k, v in e.get("limits", {}).items())
    if "input_file" in e:
        out.append(f"Input: [`tests/catalogue/{e['input_file']}`](../tests/catalogue/{e['input_file']})")
    else:
        out.append("Input (`{GOOD}` stands for a complete CloudTrail record):\n\n"
                   + code_block(e["input"]).rstrip("\n"))
    if limits:
        out.append((", with" if "input_file" in e else "\n\nWith") + f" the limit {limits}")
    if "rules" in e:
        out.append(", scanned with the rule\n\n" + code_block(e["rules"], "yaml").rstrip("\n"))
    out.append("\n\n")
    if e["kind"] == "stream":
        where = f"input at byte {e['offset']}"
        c = f"feed/finish return `CTR_{e['status']}`; the error callback gets it too"
        cli = f"`ctrule: PATH: {where}: {e['message']}`, exit {e['cli_exit']}"
        py = f"`StreamError`, `status_name == \"{e['status']}\"`"
        go = f"`*ctrule.ScanError` from `Write`/`Finish`, `errors.Is(err, ctrule.{GO_ERR[e['status']]})`"
    else:
        where = f"record {e['index']} at byte {e['offset']}"
        ev = e["kind"] == "evaluated"
        c = (f"error callback: status `CTR_{e['status']}`, index {e['index']}, offset {e['offset']}, "
             f"evaluated {int(ev)}")
        if ev and e["status"] == "ELIMIT":
            cli = f"`ctrule: warning: PATH: {where}: {e['message']}`, exit {e['cli_exit']}"
        elif ev:
            cli = f"a count of incomplete records (`-v`: `PATH: {where}: ...`), exit {e['cli_exit']}"
        else:
            cli = f"`ctrule: PATH: {where}: {e['message']}`, exit {e['cli_exit']}"
        py = (f"`RecordError(status_name=\"{e['status']}\", index={e['index']}, offset={e['offset']}, "
              f"evaluated={ev})`" + ("" if ev else "; `strict=True` raises `BadRecordError`"))
        go = (f"`*ctrule.RecordError` to `OnRecordError`, `errors.Is(err, ctrule.{GO_ERR[e['status']]})`"
              + (", `Evaluated: true`" if ev else ""))
    out.append("| interface | what the user sees |\n|---|---|\n")
    out.append(f"| report | `{where}: {e['message']}` |\n")
    out.append(f"| C | {c} |\n")
    out.append(f"| CLI | {cli} |\n")
    out.append(f"| Python | {py} |\n")
    out.append(f"| Go | {go} |\n")
    out.append(f"| alerts | {e['alerts']} (the scan carried on) |\n" if e["kind"] != "stream"
               else f"| alerts | {e['alerts']} (from the records before the error) |\n")
    return "".join(out)


def attacks_section(cat: dict) -> str:
    rows = cat.get("attacks", [])
    if not rows:
        return ""
    out = ["\n## Attacks on the input, and what stops them\n\n",
           "Hostile or damaged input, what the library does with it, and the test that proves it "
           "(entries named here are in *Bad events* below).\n\n",
           "| attack | what the library does | test |\n|---|---|---|\n"]
    for r in rows:
        out.append(f"| {r['attack']} | {r['does']} | {r['test']} |\n")
    return "".join(out)


def render(cat: dict) -> str:
    parts = [INTRO, attacks_section(cat), "\n## Bad rules\n"]
    for e in cat["rules"]:
        parts.append("\n" + rule_section(e))
    parts.append("\n## Bad events\n")
    parts.append("\nRules used unless an entry says otherwise:\n\n" + code_block(cat["default_rules"], "yaml"))
    parts.append("\n`{GOOD}`:\n\n" + code_block(cat["good_record"], "json"))
    for e in cat["events"]:
        parts.append("\n" + event_section(e, cat))
    return "".join(parts)


def main() -> int:
    cat = json.loads((HERE / "catalogue.json").read_text())
    text = render(cat)
    if sys.argv[1:] == ["--check"]:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC} is out of date: run python3 tests/catalogue/render_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
