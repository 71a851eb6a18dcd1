#!/usr/bin/env python3
"""Prints the module import graph of each crate of the workspace and its import cycles.

For every crate (`crates/*/src`, `migration/src`, `bench/src`) the script walks the module tree
from `lib.rs` / `main.rs` through the `mod` declarations (honouring `#[path]` and inline
`mod x { ... }` blocks), then resolves every path a file names to the file that defines it:

- `use` trees (`use crate::a::{b, c::D}`, `use super::*`, `use self::x`, `use child::Y`),
- paths in code (`crate::a::f()`, `super::x::Y`, or a path that starts with a module or item
  brought into scope by a `use`, or with a child module),
- attribute strings that are whole paths (`#[sea_orm(has_many = "super::todo::Entity")]`).

Re-exports are followed: `crate::AppState`, re-exported by `lib.rs` from `state.rs`, counts as
an edge to `state.rs` (and `lib.rs`'s own `pub use state::AppState` as an edge lib.rs -> state.rs).
An edge `crate: a.rs -> b.rs` means file a.rs names something defined in file b.rs; only edges
between different files of the same crate count. A parent's `mod child;` declaration is not an
edge. Test modules (`#[cfg(test)] mod tests`) count like any other code unless --skip-tests.

Output: one line per edge, sorted, then one line per import cycle (strongly connected component
of more than one file), e.g. `cycle graphql (3 files): a.rs b.rs c.rs`.

Usage:
    scripts/import-graph.py [--root DIR] [--check] [--allow CRATE:GLOB ...] [--skip-tests]

    --root   the workspace root (default: the parent of this script's directory)
    --check  exit 1 when a cycle is not allowed
    --allow  CRATE:GLOB allows a cycle of CRATE whose files all match GLOB (fnmatch, relative to
             the crate's src/); repeatable. The sea-orm relation pairs of the entity crate:
             `--allow 'entity:*'`.
    --skip-tests  leaves out the code of `#[cfg(test)]` modules (to tell a cycle that only tests
             make from one of the product code)

The crate name is its directory (`graphql` for crates/graphql/src, `migration`, `bench`).
Unit tests: `python3 -m unittest discover -s scripts -p 'test_import_graph.py'`.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

# ---------------------------------------------------------------------------------------------
# Lexing: identifiers, `::`, single punctuation and string literals. Comments disappear, char
# literals and lifetimes are skipped, so that a path in a comment never becomes an edge.

IDENT_START = re.compile(r"[A-Za-z_]")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RAW_STRING = re.compile(r'(?:b|c)?r(#*)"')


@dataclass
class Token:
    kind: str  # "ident", "punct" or "string"
    text: str


def lex(source: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c.isspace():
            i += 1
        elif source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
        elif source.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if source.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif source.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif (raw := RAW_STRING.match(source, i)) is not None:
            closing = '"' + raw.group(1)
            end = source.find(closing, raw.end())
            end = n if end < 0 else end
            tokens.append(Token("string", source[raw.end() : end]))
            i = end + len(closing)
        elif c == '"' or (c in "bc" and source.startswith('"', i + 1)):
            i += 1 if c == '"' else 2
            start = i
            while i < n and source[i] != '"':
                i += 2 if source[i] == "\\" else 1
            tokens.append(Token("string", source[start:i]))
            i += 1
        elif c == "'" or (c == "b" and source.startswith("'", i + 1)):
            i += 1 if c == "'" else 2
            if i < n and source[i] == "\\":  # escaped char literal: '\n', '\u{..}', '\''
                i += 2
                while i < n and source[i] != "'":
                    i += 1
                i += 1
            elif i + 1 < n and source[i + 1] == "'":  # plain char literal 'x'
                i += 2
            # otherwise a lifetime or label: the identifier that follows is lexed as usual
        elif source.startswith("r#", i) and i + 2 < n and IDENT_START.match(source[i + 2]):
            m = IDENT.match(source, i + 2)
            tokens.append(Token("ident", m.group()))
            i = m.end()
        elif IDENT_START.match(c):
            m = IDENT.match(source, i)
            tokens.append(Token("ident", m.group()))
            i = m.end()
        elif c.isdigit():
            m = re.compile(r"[0-9][0-9A-Za-z_]*").match(source, i)
            i = m.end()
        elif source.startswith("::", i):
            tokens.append(Token("punct", "::"))
            i += 2
        else:
            tokens.append(Token("punct", c))
            i += 1
    return tokens


# ---------------------------------------------------------------------------------------------
# The module tree of one crate root and what each module defines, imports and names.

ITEM_KEYWORDS = {"fn", "struct", "enum", "trait", "type", "const", "static", "union"}
WHOLE_PATH_STRING = re.compile(r"^(crate|super|self)(::[A-Za-z_][A-Za-z0-9_]*)+$")


@dataclass
class Module:
    key: tuple[str, ...]
    file: Path
    parent: tuple[str, ...] | None
    test_only: bool = False  # under `#[cfg(test)]`
    children: dict[str, tuple[str, ...]] = field(default_factory=dict)
    defs: set[str] = field(default_factory=set)
    bindings: dict[str, list[list[str]]] = field(default_factory=dict)
    globs: list[list[str]] = field(default_factory=list)
    # Every path this module's code names, as written (resolved later, once all modules exist).
    references: list[list[str]] = field(default_factory=list)


@dataclass
class UseLeaf:
    path: list[str]
    name: str | None  # the name it binds, None for globs and `as _`
    glob: bool


def parse_use_tree(tokens: list[Token], i: int, prefix: list[str]) -> tuple[list[UseLeaf], int]:
    """Parses one use tree starting at tokens[i]; returns its leaves and the index after it."""
    segs = list(prefix)
    if i < len(tokens) and tokens[i].text == "::":  # `use ::std::x`: an external crate
        segs.append("")
        i += 1
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind == "ident":
            segs.append(tok.text)
            i += 1
            if i < len(tokens) and tokens[i].text == "::":
                i += 1
                continue
            name = segs[-1]
            if segs[-1] == "self":  # `use a::b::{self}` binds b
                segs.pop()
                name = segs[-1] if segs else None
            if i + 1 < len(tokens) and tokens[i].text == "as":
                alias = tokens[i + 1].text
                name = None if alias == "_" else alias
                i += 2
            return [UseLeaf(segs, name, False)], i
        if tok.text == "*":
            return [UseLeaf(segs, None, True)], i + 1
        if tok.text == "{":
            leaves: list[UseLeaf] = []
            i += 1
            while i < len(tokens) and tokens[i].text != "}":
                if tokens[i].text == ",":
                    i += 1
                    continue
                sub, i = parse_use_tree(tokens, i, segs)
                leaves.extend(sub)
            return leaves, i + 1
        return [], i + 1  # not Rust we understand: skip the token
    return [], i


def is_mod_rs(path: Path) -> bool:
    return path.name in ("mod.rs", "lib.rs", "main.rs")


class CrateTree:
    """The modules reachable from one crate root file, each knowing its file."""

    def __init__(self, src: Path, root_file: Path, warn, skip_tests=False):
        self.src = src
        self.skip_tests = skip_tests
        self.modules: dict[tuple[str, ...], Module] = {}
        self.warn = warn
        self._load_file((), root_file, None, False)

    def _load_file(self, key, path: Path, parent, test_only):
        self.modules[key] = Module(key, path, parent, test_only)
        tokens = lex(path.read_text(encoding="utf-8"))
        self._parse(tokens, key, path)

    def _child_dir(self, file: Path, inline_names: list[str]) -> Path:
        base = file.parent if is_mod_rs(file) else file.parent / file.stem
        return base.joinpath(*inline_names)

    def _parse(self, tokens: list[Token], file_key, file: Path):
        # scopes: (module key, brace depth inside the module's braces, inline names since file)
        scopes = [(file_key, 0, [])]
        depth = 0
        path_attr = None
        cfg_test = False  # the next item is under `#[cfg(test)]`
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            key, scope_depth, inline = scopes[-1]
            module = self.modules[key]
            nxt = tokens[i + 1] if i + 1 < len(tokens) else Token("punct", "")
            prev = tokens[i - 1] if i > 0 else Token("punct", "")
            if tok.text == "{":
                depth += 1
            elif tok.text == "}":
                depth -= 1
                if len(scopes) > 1 and depth < scopes[-1][1]:
                    scopes.pop()
            if tok.text in ("{", "}", ";"):
                path_attr, cfg_test = None, False
            if tok.text == "#" and nxt.text == "[" and i + 4 < len(tokens):
                # `#[path = "x.rs"]` or `#[cfg(test)]` before a `mod` declaration
                if tokens[i + 2].text == "path" and tokens[i + 3].text == "=":
                    path_attr = tokens[i + 4].text
                if [t.text for t in tokens[i + 2 : i + 7]] == ["cfg", "(", "test", ")", "]"]:
                    cfg_test = True
                    i += 7
                    continue
            elif tok.kind == "ident" and tok.text == "pub" and nxt.text == "(":
                # `pub(in crate::a)` names a module for visibility only: not an import
                close = i + 1
                while close < len(tokens) and tokens[close].text != ")":
                    close += 1
                i = close + 1
                continue
            elif tok.kind == "ident" and tok.text == "mod" and nxt.kind == "ident":
                after = tokens[i + 2].text if i + 2 < len(tokens) else ""
                child_key = key + (nxt.text,)
                module.children[nxt.text] = child_key
                test_only = module.test_only or cfg_test
                if after == "{":
                    self.modules[child_key] = Module(child_key, file, key, test_only)
                    depth += 1
                    scopes.append((child_key, depth, inline + [nxt.text]))
                    i += 3
                    path_attr, cfg_test = None, False
                    continue
                if after == ";":
                    base = self._child_dir(file, inline)
                    if path_attr is not None:
                        candidates = [(file.parent if not inline else base) / path_attr]
                    else:
                        candidates = [base / f"{nxt.text}.rs", base / nxt.text / "mod.rs"]
                    found = next((c for c in candidates if c.is_file()), None)
                    if found is None:
                        self.warn(f"no file for `mod {nxt.text};` in {file}")
                        del module.children[nxt.text]
                    else:
                        self._load_file(child_key, found, key, test_only)
                    path_attr, cfg_test = None, False
                    i += 3
                    continue
            elif tok.kind == "ident" and tok.text == "use" and prev.text != "::":
                leaves, i = parse_use_tree(tokens, i + 1, [])
                for leaf in leaves:
                    if not leaf.path:
                        continue
                    module.references.append(leaf.path)
                    if leaf.glob:
                        module.globs.append(leaf.path)
                    elif leaf.name is not None:
                        module.bindings.setdefault(leaf.name, []).append(leaf.path)
                continue
            elif tok.kind == "ident" and depth == scope_depth and nxt.kind == "ident":
                if tok.text in ITEM_KEYWORDS:
                    module.defs.add(nxt.text)
            elif tok.kind == "ident" and tok.text == "macro_rules" and nxt.text == "!":
                if i + 2 < len(tokens):
                    module.defs.add(tokens[i + 2].text)
            if tok.kind == "string" and WHOLE_PATH_STRING.match(tok.text):
                module.references.append(tok.text.split("::"))
            elif tok.kind == "ident" and nxt.text == "::" and prev.text not in ("::", "$"):
                segs = [tok.text]
                j = i + 1
                while j + 1 < len(tokens) and tokens[j].text == "::" and tokens[j + 1].kind == "ident":
                    segs.append(tokens[j + 1].text)
                    j += 2
                if len(segs) > 1:
                    module.references.append(segs)
            i += 1

    # -- name resolution ------------------------------------------------------------------------
    # A target is ("mod", key) for a module or ("file", path) for an item defined in that file.

    def file_of(self, target) -> Path:
        kind, value = target
        return self.modules[value].file if kind == "mod" else value

    def lookup(self, key, name, seen, explicit_only=False):
        module = self.modules[key]
        if name in module.children:
            return ("mod", module.children[name])
        for path in module.bindings.get(name, []):
            target = self.resolve(key, path, seen)
            if target is not None:
                return target
        if name in module.defs:
            return ("file", module.file)
        for glob in module.globs:
            source = self.resolve(key, glob, seen)
            if source is not None and source[0] == "mod":
                found = self.lookup(source[1], name, seen, explicit_only=True)
                if found is not None:
                    return found
        return None

    def resolve(self, key, segs, seen=None):
        """Resolves a path as written in module `key`; None for paths outside the crate."""
        # `seen` holds the resolutions in progress: a `use` that leads back to itself ends here.
        seen = set() if seen is None else seen
        marker = (key, tuple(segs))
        if marker in seen:
            return None
        seen.add(marker)
        try:
            return self._resolve(key, segs, seen)
        finally:
            seen.discard(marker)

    def _resolve(self, key, segs, seen):
        first, rest = segs[0], segs[1:]
        if first == "crate":
            cur = ()
        elif first in ("super", "self"):
            cur = key
            rest = segs
        elif first in ("", "Self"):
            return None
        else:
            target = self.lookup(key, first, seen)
            if target is None or target[0] == "file":
                return target
            cur = target[1]
        for seg in rest:
            if seg == "self":
                continue
            if seg == "super":
                parent = self.modules[cur].parent
                if parent is None:
                    return None
                cur = parent
                continue
            target = self.lookup(cur, seg, seen)
            if target is None:  # e.g. items a derive macro generates: defined in that module
                return ("file", self.modules[cur].file)
            if target[0] == "file":
                return target
            cur = target[1]
        return ("mod", cur)

    def edges(self) -> set[tuple[str, str]]:
        result = set()
        for key, module in self.modules.items():
            if self.skip_tests and module.test_only:
                continue
            for segs in module.references:
                target = self.resolve(key, segs)
                if target is None:
                    continue
                to_file = self.file_of(target)
                if to_file != module.file:
                    result.add((self.rel(module.file), self.rel(to_file)))
        return result

    def rel(self, path: Path) -> str:
        return path.relative_to(self.src).as_posix()


# ---------------------------------------------------------------------------------------------
# Cycles: strongly connected components (Tarjan, iterative).


def strongly_connected(nodes, edges) -> list[list[str]]:
    graph = {node: [] for node in nodes}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, [])
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(sorted(component))
    return result


# ---------------------------------------------------------------------------------------------


def crate_sources(root: Path) -> list[tuple[str, Path]]:
    found = [(p.parent.name, p) for p in sorted((root / "crates").glob("*/src")) if p.is_dir()]
    for name in ("migration", "bench"):
        if (root / name / "src").is_dir():
            found.append((name, root / name / "src"))
    return found


def crate_graph(src: Path, warn, skip_tests=False) -> tuple[set[str], set[tuple[str, str]]]:
    files, edges = set(), set()
    for root_name in ("lib.rs", "main.rs"):
        if (src / root_name).is_file():
            tree = CrateTree(src, src / root_name, warn, skip_tests)
            files |= {tree.rel(m.file) for m in tree.modules.values()}
            edges |= tree.edges()
    for orphan in sorted(src.rglob("*.rs")):
        if orphan.relative_to(src).as_posix() not in files and "bin" not in orphan.parts:
            warn(f"not reachable from a crate root: {orphan}")
    return files, edges


def parse_allow(specs: list[str]) -> dict[str, list[str]]:
    allow: dict[str, list[str]] = {}
    for spec in specs:
        crate, sep, pattern = spec.partition(":")
        if not sep or not crate or not pattern:
            raise SystemExit(f"--allow wants CRATE:GLOB, got {spec!r}")
        allow.setdefault(crate, []).append(pattern)
    return allow


def is_allowed(crate: str, cycle: list[str], allow: dict[str, list[str]]) -> bool:
    patterns = allow.get(crate, [])
    return bool(patterns) and all(any(fnmatch.fnmatch(f, p) for p in patterns) for f in cycle)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--check", action="store_true", help="exit 1 on a cycle not allowed")
    parser.add_argument("--allow", action="append", default=[], metavar="CRATE:GLOB")
    parser.add_argument("--skip-tests", action="store_true", help="leave out #[cfg(test)] modules")
    args = parser.parse_args(argv)
    allow = parse_allow(args.allow)

    def warn(message):
        print(f"import-graph: {message}", file=sys.stderr)

    cycles = []
    for crate, src in crate_sources(args.root):
        files, edges = crate_graph(src, warn, args.skip_tests)
        for a, b in sorted(edges):
            print(f"{crate}: {a} -> {b}")
        for component in strongly_connected(files, edges):
            if len(component) > 1:
                cycles.append((crate, component))
    forbidden = 0
    for crate, component in cycles:
        allowed = is_allowed(crate, component, allow)
        forbidden += not allowed
        note = " (allowed)" if allowed else ""
        print(f"cycle {crate} ({len(component)} files){note}: {' '.join(component)}")
    if not cycles:
        print("no cycles")
    if args.check and forbidden:
        print(f"import-graph: {forbidden} import cycle(s) not allowed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
