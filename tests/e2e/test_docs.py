"""Every documented snippet runs as written.

The fenced code blocks of README.md, bindings/*/README.md and
examples/*/README.md that are marked runnable, by an HTML comment on the line
before the fence:

    <!-- test: c -->       a complete C program: compiled against the build
                           (pkg-config ctrule) and run from the repository root
    <!-- test: python -->  run with $CTRULE_PYTHON (the test venv, where the
                           package is installed) from the repository root
    <!-- test: go -->      a Go main package: built in a fresh module outside the
                           repository (requiring the binding of this checkout)
                           and run from the repository root
    <!-- test: sh -->      run by bash -euo pipefail in a clean clone of the
                           repository (HEAD), whose build/ is the build under test
                           and with the CLI under test on PATH as `ctrule`

Each must exit 0. Run by scripts/test.d/cli.sh (c, sh), python.sh (python)
and go.sh (go), each naming its kinds in CTRULE_DOCS_KINDS (default: all); a
kind whose toolchain is not given is skipped, unless CTRULE_REQUIRE_DOCS
lists it (e.g. "c,sh"). Under the sanitizers (CTRULE_CLI_SANITIZED) the
snippets are not run: they link the library as users do.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("CTRULE_CLI", REPO / "build" / "examples" / "cli" / "ctrule"))
BUILD = CLI.parents[2]
REQUIRED = set(filter(None, os.environ.get("CTRULE_REQUIRE_DOCS", "").split(",")))
KINDS = set(filter(None, os.environ.get("CTRULE_DOCS_KINDS", "c,python,go,sh").split(",")))
SANITIZED = os.environ.get("CTRULE_CLI_SANITIZED") == "1"
DOCS = [REPO / "README.md", *sorted(REPO.glob("bindings/*/README.md")), *sorted(REPO.glob("examples/*/README.md"))]
MARK = re.compile(r"^<!-- test: (\w+) -->\n```\w*\n(.*?)^```", re.M | re.S)


def snippets() -> list[tuple[str, str, str]]:
    out = []
    for doc in DOCS:
        text = doc.read_text()
        for i, m in enumerate(MARK.finditer(text)):
            line = text.count("\n", 0, m.start()) + 2
            out.append((f"{doc.relative_to(REPO)}:{line}", m.group(1), m.group(2)))
    return out


SNIPPETS = snippets()


def test_the_runnable_snippets_are_found() -> None:
    kinds = {k for _, k, _ in SNIPPETS}
    assert {"c", "python", "go", "sh"} <= kinds, kinds
    assert all(k in ("c", "python", "go", "sh") for k in kinds), kinds


def need(kind: str, ok: bool, why: str) -> None:
    if ok:
        return
    if kind in REQUIRED:
        pytest.fail(f"{kind} snippets required but {why}")
    pytest.skip(why)


def build_env() -> dict[str, str]:
    env = dict(os.environ)
    pc = BUILD / "meson-uninstalled"
    env["PKG_CONFIG_PATH"] = f"{pc}:{env['PKG_CONFIG_PATH']}" if env.get("PKG_CONFIG_PATH") else str(pc)
    env["LD_LIBRARY_PATH"] = str(BUILD / "libctrule")
    env["CGO_LDFLAGS"] = f"-Wl,-rpath,{BUILD / 'libctrule'}"
    env["CGO_ENABLED"] = "1"
    env.setdefault("GOTOOLCHAIN", "local")
    return env


def run(cmd: list[str], cwd: Path, env: dict[str, str], where: str, timeout: float = 600) -> str:
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{where}: {' '.join(cmd)} exited {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p.stdout


def go_binary() -> str | None:
    return shutil.which("go") or ("/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else None)


@pytest.mark.parametrize("where,kind,code", SNIPPETS, ids=[f"{k}:{w}" for w, k, _ in SNIPPETS])
def test_snippet_runs_as_written(where: str, kind: str, code: str, tmp_path: Path) -> None:
    if kind not in KINDS or SANITIZED:
        pytest.skip(f"{kind} snippets are run by another script" if not SANITIZED else "sanitized build")
    env = build_env()
    if kind == "c":
        need(kind, (BUILD / "meson-uninstalled" / "ctrule-uninstalled.pc").exists() and shutil.which("cc") is not None,
             f"no C compiler or no uninstalled library in {BUILD}")
        src = tmp_path / "snippet.c"
        src.write_text(code)
        flags = run(["pkg-config", "--cflags", "--libs", "ctrule"], REPO, env, where).split()
        run(["cc", "-std=c11", "-Wall", "-Werror", "-o", str(tmp_path / "snippet"), str(src), *flags], REPO, env, where)
        out = run([str(tmp_path / "snippet")], REPO, env, where)
        assert out.strip(), f"{where}: the program printed nothing"
        check_c_bad_rules(where, tmp_path, env)
    elif kind == "python":
        py = os.environ.get("CTRULE_PYTHON")
        need(kind, bool(py), "CTRULE_PYTHON (an interpreter with the ctrule package) is not set")
        src = tmp_path / "snippet.py"
        src.write_text(code)
        out = run([str(py), str(src)], REPO, env, where)
        assert out.strip(), f"{where}: the snippet printed nothing"
    elif kind == "go":
        go = go_binary()
        need(kind, go is not None and (BUILD / "meson-uninstalled").exists(), "no Go toolchain or no uninstalled library")
        mod = tmp_path / "mod"
        mod.mkdir()
        (mod / "main.go").write_text(code)
        (mod / "go.mod").write_text(
            "module docsnippet\n\ngo 1.24\n\nrequire github.com/libctrule/libctrule/bindings/go v0.0.0\n\n"
            f"replace github.com/libctrule/libctrule/bindings/go => {REPO / 'bindings' / 'go'}\n")
        env.setdefault("GOFLAGS", "-mod=mod")
        run([str(go), "build", "-o", str(tmp_path / "snippet"), "."], mod, env, where)
        out = run([str(tmp_path / "snippet")], REPO, env, where)
        assert out.strip(), f"{where}: the program printed nothing"
    else:
        need(kind, shutil.which("git") is not None and (REPO / ".git").exists(), "no git checkout to clone")
        go = go_binary()
        if "go build" in code:
            need(kind, go is not None, "the snippet needs Go")
            env["PATH"] = f"{Path(str(go)).parent}:{env['PATH']}"
        clone = tmp_path / "clone"
        run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(clone)], tmp_path, env, where)
        (clone / "build").symlink_to(BUILD)
        env["PATH"] = f"{CLI.parent}:{env['PATH']}"
        run(["bash", "-euo", "pipefail", "-c", code], clone, env, where)


def check_c_bad_rules(where: str, tmp_path: Path, env: dict[str, str]) -> None:
    """The README's C program given a bad rules file exits non-zero and says where."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("- rule: x\n  desc: d\n  condition: ct.name = (\n  output: o\n  priority: INFO\n")
    p = subprocess.run([str(tmp_path / "snippet"), "examples/data/cloudtrail-sample.json.gz", str(bad)], cwd=REPO,
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0, f"{where}: exit 0 on a bad rules file"
    assert re.search(re.escape(str(bad)) + r":3:\d+: error: ", p.stderr), p.stderr


def test_versions_agree() -> None:
    """CHANGELOG.md's policy: one version, set in meson.build, everywhere."""
    meson = re.search(r"^project\([^)]*?version\s*:\s*'([0-9.]+)'", (REPO / "meson.build").read_text(), re.S | re.M)
    header = re.search(r'#define CTR_VERSION_STRING "([0-9.]+)"', (REPO / "include" / "ctrule.h").read_text())
    parts = [re.search(rf"#define CTR_VERSION_{k} (\d+)", (REPO / "include" / "ctrule.h").read_text())
             for k in ("MAJOR", "MINOR", "PATCH")]
    assert meson and header and all(parts)
    assert meson.group(1) == header.group(1) == ".".join(p.group(1) for p in parts if p)
    changelog = (REPO / "CHANGELOG.md").read_text()
    released = re.findall(r"^## (\d+\.\d+\.\d+)$", changelog, re.M)
    assert "## Unreleased" in changelog and released and released[0] == meson.group(1)
    assert 'dynamic = ["version"]' in (REPO / "pyproject.toml").read_text(), "the wheel's version is meson's"
    out = subprocess.run([str(CLI), "--version"], capture_output=True, text=True, timeout=60).stdout
    assert re.search(rf"^ctrule {re.escape(meson.group(1))}$", out, re.M), out
