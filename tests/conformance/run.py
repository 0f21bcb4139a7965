#!/usr/bin/env python3
"""Falco conformance suite: runs every case of tests/conformance/cases/*.yaml
through the `ctrule` CLI and through the library (its public C API, by ctypes)
and compares both with Falco's outcome recorded in the case.

    python3 tests/conformance/run.py [--build DIR] [-v] [ID-PREFIX...]

Prints one line per disagreeing case, per-topic counts and
`conformance: X/Y agree`. Exits 1 if a case disagrees that is not listed in
known_failures.txt, or if a listed case now agrees (the list only shrinks),
or if the list names a case that does not exist; 2 on a malformed case file.
The case format is described in tests/conformance/README.md.
"""
import argparse
import ctypes
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

CASE_KEYS = {"id", "from", "falco", "condition", "defs", "rules", "events", "expect", "note"}
EXPECT_KEYS = {"load", "code", "match", "rules"}


class CaseError(Exception):
    pass


def wrap_condition(case):
    """The rules files of a case: `rules` as given, or `defs` + one rule
    around `condition`."""
    if "rules" in case:
        texts = case["rules"]
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise CaseError("rules: a string or a list of strings")
        return texts
    rule = {
        "rule": "conformance",
        "desc": "conformance case",
        "condition": case["condition"],
        "output": "hit",
        "priority": "WARNING",
        "source": "aws_cloudtrail",
    }
    text = yaml.safe_dump([rule], default_flow_style=False, allow_unicode=True, width=1 << 20, sort_keys=False)
    return [(case.get("defs") or "") + "\n" + text]


def events_ndjson(case):
    lines = []
    for ev in case.get("events") or []:
        if isinstance(ev, str):
            if "\n" in ev:
                raise CaseError("an event given as a string must be one line")
            lines.append(ev)
        elif isinstance(ev, dict):
            lines.append(json.dumps(ev, separators=(",", ":"), ensure_ascii=False))
        else:
            raise CaseError("events: maps or strings")
    return lines


def check_case(case, path):
    if not isinstance(case, dict):
        raise CaseError(f"{path}: a case must be a map")
    unknown = set(case) - CASE_KEYS
    if unknown:
        raise CaseError(f"{path}: {case.get('id')}: unknown keys {sorted(unknown)}")
    if not isinstance(case.get("id"), str):
        raise CaseError(f"{path}: a case without an id")
    if ("condition" in case) == ("rules" in case):
        raise CaseError(f"{path}: {case['id']}: exactly one of condition / rules")
    exp = case.get("expect")
    if not isinstance(exp, dict) or exp.get("load") not in ("ok", "error", "warning"):
        raise CaseError(f"{path}: {case['id']}: expect.load must be ok, error or warning")
    if set(exp) - EXPECT_KEYS:
        raise CaseError(f"{path}: {case['id']}: unknown expect keys {sorted(set(exp) - EXPECT_KEYS)}")
    if "match" in exp and len(exp["match"]) != len(case.get("events") or []):
        raise CaseError(f"{path}: {case['id']}: expect.match needs one entry per event")


# ---------------------------------------------------------------- outcomes
# An outcome: {"load": ok|error|warning, "codes": set or None, "match": [bool], "rules": set}


def load_verdict(errors, warnings):
    return "error" if errors else "warning" if warnings else "ok"


class Library:
    """The public C API through ctypes."""

    MATCH_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)

    def __init__(self, path):
        L = self.L = ctypes.CDLL(path)
        vp, sz = ctypes.c_void_p, ctypes.c_size_t
        for name, res, args in [
            ("ctr_compiler_new", ctypes.c_int, [ctypes.POINTER(vp)]),
            ("ctr_compiler_free", None, [vp]),
            ("ctr_compiler_add_string", ctypes.c_int, [vp, ctypes.c_char_p, sz, ctypes.c_char_p]),
            ("ctr_compiler_compile", ctypes.c_int, [vp, ctypes.POINTER(vp)]),
            ("ctr_compiler_diag_count", sz, [vp]),
            ("ctr_compiler_diag", vp, [vp, sz]),
            ("ctr_diag_severity", ctypes.c_int, [vp]),
            ("ctr_diag_code", ctypes.c_char_p, [vp]),
            ("ctr_diag_text", ctypes.c_char_p, [vp]),
            ("ctr_ruleset_unref", None, [vp]),
            ("ctr_scanner_new", ctypes.c_int, [vp, self.MATCH_FN, vp, ctypes.POINTER(vp)]),
            ("ctr_scanner_free", None, [vp]),
            ("ctr_scanner_feed", ctypes.c_int, [vp, ctypes.c_char_p, sz]),
            ("ctr_scanner_finish", ctypes.c_int, [vp]),
            ("ctr_match_rule", ctypes.c_char_p, [vp]),
            ("ctr_match_record_index", ctypes.c_uint64, [vp]),
        ]:
            f = getattr(L, name)
            f.restype, f.argtypes = res, args

    def run(self, texts, events):
        L = self.L
        c = ctypes.c_void_p()
        if L.ctr_compiler_new(ctypes.byref(c)) != 0:
            raise RuntimeError("ctr_compiler_new failed")
        try:
            for i, t in enumerate(texts):
                b = t.encode()
                if L.ctr_compiler_add_string(c, b, len(b), f"rules{i}.yaml".encode()) != 0:
                    break
            rs = ctypes.c_void_p()
            rc = L.ctr_compiler_compile(c, ctypes.byref(rs))
            errors = warnings = 0
            codes, texts_out = set(), []
            for i in range(L.ctr_compiler_diag_count(c)):
                d = L.ctr_compiler_diag(c, i)
                if L.ctr_diag_severity(d) == 0:
                    errors += 1
                else:
                    warnings += 1
                code = L.ctr_diag_code(d)
                if code:
                    codes.add(code.decode())
                texts_out.append(L.ctr_diag_text(d).decode(errors="replace"))
            if rc != 0 and not errors:
                errors = 1
                texts_out.append(f"compile returned {rc} without an error diagnostic")
        finally:
            L.ctr_compiler_free(c)
        out = {"load": load_verdict(errors, warnings), "codes": codes, "diags": texts_out, "match": [], "rules": set()}
        if rc != 0:
            return out
        hits = {}

        def on_match(m, _ud):
            hits.setdefault(L.ctr_match_record_index(m), set()).add(L.ctr_match_rule(m).decode())
            return 0

        cb = self.MATCH_FN(on_match)
        sc = ctypes.c_void_p()
        try:
            if L.ctr_scanner_new(rs, cb, None, ctypes.byref(sc)) != 0:
                raise RuntimeError("ctr_scanner_new failed")
            data = "".join(e + "\n" for e in events).encode()
            L.ctr_scanner_feed(sc, data, len(data))
            L.ctr_scanner_finish(sc)
        finally:
            if sc:
                L.ctr_scanner_free(sc)
            L.ctr_ruleset_unref(rs)
        out["match"] = [bool(hits.get(i)) for i in range(len(events))]
        for names in hits.values():
            out["rules"] |= names
        return out


DIAG_RE = re.compile(r"^.+?:\d+:\d+: (error|warning): ")
RECORD_RE = re.compile(r"^    .* record (\d+) at byte \d+$")


def cli_env():
    """The CLI's environment: without the sanitizer preload python needed,
    with CONFORMANCE_CLI_ASAN_OPTIONS as its ASAN_OPTIONS when set."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if "CONFORMANCE_CLI_ASAN_OPTIONS" in env:
        env["ASAN_OPTIONS"] = env["CONFORMANCE_CLI_ASAN_OPTIONS"]
    return env


def run_cli(cli, texts, events, tmp):
    paths = []
    for i, t in enumerate(texts):
        p = os.path.join(tmp, f"rules{i}.yaml")
        with open(p, "w", encoding="utf-8") as f:
            f.write(t)
        paths.append(p)
    v = subprocess.run([cli, "validate", "--no-builtin", *paths], capture_output=True, text=True, errors="replace",
                       timeout=60, env=cli_env())
    lines = v.stdout.splitlines()
    errors = sum(1 for l in lines if (m := DIAG_RE.match(l)) and m.group(1) == "error")
    warnings = sum(1 for l in lines if (m := DIAG_RE.match(l)) and m.group(1) == "warning")
    if v.returncode not in (0, 3):
        errors += 1
        lines.append(f"validate exited {v.returncode}: {v.stderr.strip()}")
    if v.returncode == 3 and not errors:
        errors = 1
    out = {"load": load_verdict(errors, warnings), "codes": None, "diags": lines, "match": [], "rules": set()}
    if errors or not events:
        out["match"] = [False] * len(events)
        return out
    ev = os.path.join(tmp, "events.ndjson")
    with open(ev, "w", encoding="utf-8") as f:
        f.write("".join(e + "\n" for e in events))
    args = [cli, "scan", "--no-builtin", "--color=never", "--no-progress"]
    for p in paths:
        args += ["-r", p]
    s = subprocess.run(args + [ev], capture_output=True, text=True, errors="replace", timeout=60, env=cli_env())
    if s.returncode not in (0, 4):
        out["diags"].append(f"scan exited {s.returncode}: {s.stderr.strip()}")
        out["load"] = "error"
    hits = {}
    header = None
    for line in s.stdout.splitlines():
        if not line.startswith(" "):
            header = line
            continue
        m = RECORD_RE.match(line)
        if m and header:
            # "TIME PRIORITY(padded to 8) RULE"
            t, rest = header.split(" ", 1)
            width = max(8, len(rest.split(" ", 1)[0]))
            hits.setdefault(int(m.group(1)), set()).add(rest[width + 1:])
    out["match"] = [bool(hits.get(i)) for i in range(len(events))]
    for names in hits.values():
        out["rules"] |= names
    return out


def compare(exp, got):
    """Why `got` differs from the expectation (empty: agrees)."""
    why = []
    if got["load"] != exp["load"]:
        why.append(f"load {got['load']} (Falco: {exp['load']})")
    if "code" in exp and got["codes"] is not None and exp["code"] not in got["codes"]:
        why.append(f"no {exp['code']} (got {sorted(got['codes'])})")
    if exp["load"] != "error" and got["load"] != "error":
        if "match" in exp and got["match"] != list(exp["match"]):
            why.append(f"match {got['match']} (Falco: {exp['match']})")
        if "rules" in exp and got["rules"] != set(exp["rules"]):
            why.append(f"rules {sorted(got['rules'])} (Falco: {sorted(exp['rules'])})")
    return why


def load_cases(only):
    cases, seen = [], {}
    for name in sorted(os.listdir(os.path.join(HERE, "cases"))):
        if not name.endswith(".yaml"):
            continue
        path = os.path.join(HERE, "cases", name)
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or []
        if not isinstance(data, list):
            raise CaseError(f"{path}: a file must be a YAML sequence of cases")
        for case in data:
            check_case(case, path)
            if case["id"] in seen:
                raise CaseError(f"{path}: duplicate id {case['id']} (also in {seen[case['id']]})")
            seen[case["id"]] = name
            if only and not any(case["id"].startswith(p) for p in only):
                continue
            cases.append((name[:-5], case))
    return cases, seen


def read_known(path):
    known = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.split("#", 1)[0].strip()
                if line:
                    known[line] = n
    return known


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="meson build directory (default: build)")
    ap.add_argument("--cli", help="ctrule executable (default: BUILD/examples/cli/ctrule)")
    ap.add_argument("--lib", help="libctrule shared library (default: BUILD/libctrule/libctrule.so)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the diagnostics of disagreeing cases")
    ap.add_argument("only", nargs="*", help="run only the cases whose id starts with one of these")
    a = ap.parse_args()
    cli = a.cli or os.path.join(a.build, "examples", "cli", "ctrule")
    lib = a.lib or os.path.join(a.build, "libctrule", "libctrule.so")
    for p in (cli, lib):
        if not os.path.exists(p):
            print(f"run.py: {p} does not exist (build first: ninja -C {a.build})", file=sys.stderr)
            return 2
    try:
        cases, all_ids = load_cases(a.only)
    except (CaseError, yaml.YAMLError) as e:
        print(f"run.py: {e}", file=sys.stderr)
        return 2
    known = read_known(os.path.join(HERE, "known_failures.txt"))
    library = Library(lib)
    per_topic, agree, regressions, fixed = {}, 0, [], []
    with tempfile.TemporaryDirectory(prefix="ctrule-conformance-") as tmp:
        for topic, case in cases:
            try:
                texts = wrap_condition(case)
                events = events_ndjson(case)
            except CaseError as e:
                print(f"run.py: {case['id']}: {e}", file=sys.stderr)
                return 2
            exp = case["expect"]
            why = []
            got_cli = run_cli(cli, texts, events, tmp)
            why += [f"cli: {w}" for w in compare(exp, got_cli)]
            got_lib = library.run(texts, events)
            why += [f"lib: {w}" for w in compare(exp, got_lib)]
            t = per_topic.setdefault(topic, [0, 0])
            t[1] += 1
            cid = case["id"]
            if not why:
                agree += 1
                t[0] += 1
                if cid in known:
                    fixed.append(cid)
                continue
            if cid not in known:
                regressions.append(cid)
            mark = "known" if cid in known else "FAIL"
            print(f"{mark} {cid}: " + "; ".join(why))
            if a.verbose:
                for d in got_lib["diags"]:
                    print(f"      {d}")
    for topic, (x, y) in sorted(per_topic.items()):
        print(f"  {topic}: {x}/{y}")
    total = sum(y for _, y in per_topic.values())
    print(f"conformance: {agree}/{total} agree")
    status = 0
    stale = [k for k in known if k not in all_ids]
    if stale:
        print(f"known_failures.txt names cases that do not exist: {', '.join(stale)}")
        status = 1
    if fixed:
        print(f"now agree, remove from known_failures.txt: {', '.join(fixed)}")
        status = 1
    if regressions:
        print(f"disagree and not in known_failures.txt: {', '.join(regressions)}")
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
