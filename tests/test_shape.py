"""The shell's shape (issue 12): no import cycles, rooms of at most 20 modules, short chains.

The same rules as ``../shared/tools/imports.py``, computed here so that a checkout without
the shared tools checks them too, and one stricter: imports under ``if TYPE_CHECKING:``
count for cycles (a cycle of types is still a knot a reader must untie). When the shared
tool is present its verdict must agree.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("probes", "sla_engine", "statuspage", "slamon")
MAX_MODULES = 20
MAX_CHAIN = 10
SHARED_TOOL = ROOT.parent / "shared" / "tools" / "imports.py"


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _files() -> list[Path]:
    return [
        p
        for pkg in PACKAGES
        for p in sorted((ROOT / pkg).rglob("*.py"))
        if "migrations" not in p.parts and "node_modules" not in p.parts
    ]


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
            if name == "TYPE_CHECKING":
                for child in node.body:
                    lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


@cache
def _graphs() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Every import (types included), and the imports that run."""
    files = _files()
    modules = {_name(p) for p in files}

    def resolve(name: str) -> str | None:
        while name:
            if name in modules:
                return name
            name = name.rpartition(".")[0]
        return None

    every: dict[str, set[str]] = {m: set() for m in modules}
    running: dict[str, set[str]] = {m: set() for m in modules}
    for path in files:
        me = _name(path)
        package = me if path.name == "__init__.py" else me.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = _type_checking_lines(tree)
        for node in ast.walk(tree):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [resolve(a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [resolve(f"{base}.{a.name}") or resolve(base) for a in node.names]
            for target in targets:
                if target and target != me:
                    every[me].add(target)
                    if node.lineno not in typing_only:
                        running[me].add(target)
    return every, running


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                out.append(sorted(scc))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _longest_chain(graph: dict[str, set[str]], prefix: str) -> list[str]:
    memo: dict[str, list[str]] = {}

    def chain(v: str) -> list[str]:
        if v not in memo:
            memo[v] = [v]  # no cycles (tested), so this guard is never read back
            below = [chain(w) for w in graph[v] if w.startswith(prefix)]
            memo[v] = [v, *max(below, key=len, default=[])]
        return memo[v]

    return max((chain(v) for v in graph if v.startswith(prefix)), key=len, default=[])


def test_no_import_cycle_not_even_of_types() -> None:
    every, _ = _graphs()
    assert _cycles(every) == []


def test_no_room_holds_more_than_20_modules() -> None:
    per_folder: dict[str, int] = defaultdict(int)
    for path in _files():
        if path.name != "__init__.py":
            per_folder[str(path.parent.relative_to(ROOT))] += 1
    crowded = {folder: n for folder, n in per_folder.items() if n > MAX_MODULES}
    assert crowded == {}


def test_the_shell_is_at_most_10_modules_deep() -> None:
    _, running = _graphs()
    chain = _longest_chain(running, "slamon")
    assert len(chain) <= MAX_CHAIN, " -> ".join(chain)


def test_every_room_says_what_it_owns() -> None:
    for init in (ROOT / "slamon").rglob("__init__.py"):
        if "migrations" in init.parts:
            continue
        tree = ast.parse(init.read_text(encoding="utf-8"))
        doc = ast.get_docstring(tree)
        assert doc and len(doc.splitlines()) >= 2, f"{init}: say what the package owns"


def test_validating_a_config_loads_no_notifier_web_or_bus() -> None:
    code = (
        "import sys, slamon.config.load\n"
        "print('\\n'.join(m for m in sys.modules if m.startswith(('slamon', 'aiosmtplib'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    rooms = {m.split(".")[1] for m in loaded if m.startswith("slamon.")}
    assert rooms == {"config"}, sorted(rooms)
    assert not [m for m in loaded if m.startswith("aiosmtplib")]


def test_the_shared_tool_agrees() -> None:
    if not SHARED_TOOL.exists():  # a checkout without the team's shared folder: rules above
        return
    done = subprocess.run(
        [sys.executable, str(SHARED_TOOL), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout
    assert "crowded" not in done.stdout
    line = next(x for x in done.stdout.splitlines() if x.startswith("longest import chain"))
    assert int(line.split(": ")[1].split()[0]) <= MAX_CHAIN, line
