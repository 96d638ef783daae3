#!/usr/bin/env bash
# Dangling references: fails (listing file:line and the path) when a doc, a
# config file, a script or a comment names a repository file or folder that
# does not exist. Run first by scripts/test.sh.
#
# Scanned: README.md, docs/**/*.md, .cargo/config.toml, .ci/run, scripts/*
# and Cargo.toml (whole files), the comments of the Rust and JavaScript files
# under src/, tests/ and benches/, and the Python and shell files there.
# A reference is a path that starts with one of the repository's top-level
# folders (docs/, src/, scripts/, tests/, migrations/, templates/, static/,
# benches/, ...), or a relative link of a Markdown file. Not references: URLs,
# absolute and ../ paths, paths with a placeholder ($VAR, <name>, {id}, ...,
# NNNN). A glob (*, ?, [..], {a,b}) must match at least one file. A line that
# names a missing path on purpose (a file that was removed, say) can end with
# "check-refs: ignore". --list prints every reference found. Python 3
# standard library only.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import glob
import os
import re
import subprocess
import sys

# Top-level folders a reference can start with: the usual ones, even if one is
# gone (a reference to it is then dangling), and every tracked one.
ROOTS = {"docs", "src", "scripts", "tests", "migrations", "templates", "static",
         "benches", ".cargo", ".ci", "proptest-regressions"}
try:
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True,
                             check=True).stdout.split("\n")
    ROOTS |= {p.split("/", 1)[0] for p in tracked if "/" in p}
except (OSError, subprocess.CalledProcessError):
    pass
ROOTS -= {"target", "node_modules"}

ROOT_ALT = "|".join(re.escape(r) for r in sorted(ROOTS, key=len, reverse=True))
# A path: a root folder, "/", then path characters or {a,b} groups. It must not
# continue something else (a URL, an absolute or ../ path, a word).
PATH_RE = re.compile(
    r"(?<![\w.$/~@%-])(?:\./)?((?:" + ROOT_ALT + r")/(?:[^\s`'\"()<>\[\]|,;:{}\\]|\{[^{}\s]*\}|\[[^\[\]\s]*\])*)")
MD_LINK_RE = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IGNORE_MARK = "check-refs: ignore"
PLACEHOLDER_RE = re.compile(r"\$|%|\.\.\.|…|NNNN|XXXX|\{[^{},]*\}|<|>")
SKIP_DIRS = {"node_modules", "target", "__pycache__", ".ruff_cache", ".git",
             ".pytest_cache", ".schemathesis"}


def walk(top, exts):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith(exts):
                yield os.path.join(dirpath, name)


def whole_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            yield n, line


# String literals on one line: Rust's "..", its char literals ('x', '\n') but
# not its lifetimes ('a); JavaScript's "..", '..' and `..`.
STRING_RES = {
    "rust": re.compile(r"'(?:\\.|[^\\'\n])'|\"(?:\\.|[^\\\"\n])*\""),
    "js": re.compile(r"\"(?:\\.|[^\\\"\n])*\"|'(?:\\.|[^\\'\n])*'|`(?:\\.|[^\\`\n])*`"),
}


def comment_lines(path):
    """The comment text (// and /* */) of each line of a Rust or JavaScript
    file; string literals are blanked first, so "http://.." starts none."""
    strings = STRING_RES["rust" if path.endswith(".rs") else "js"]
    in_block = False
    for n, line in whole_lines(path):
        text = ""
        rest = line
        while rest:
            if in_block:
                end = rest.find("*/")
                if end < 0:
                    text += rest
                    rest = ""
                else:
                    text += rest[:end] + " "
                    rest = rest[end + 2:]
                    in_block = False
                continue
            code = strings.sub(lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', rest)
            line_c = code.find("//")
            block = code.find("/*")
            if line_c >= 0 and (block < 0 or line_c < block):
                text += rest[line_c:]
                rest = ""
            elif block >= 0:
                in_block = True
                rest = rest[block + 2:]
            else:
                rest = ""
        if text:
            yield n, text


def sources():
    """(file, lines to scan, whether it is Markdown)."""
    for name in ["README.md", ".cargo/config.toml", ".ci/run", "Cargo.toml"]:
        if os.path.isfile(name):
            yield name, whole_lines(name), name.endswith(".md")
    for path in walk("docs", (".md",)):
        yield path, whole_lines(path), True
    if os.path.isdir("scripts"):
        for name in sorted(os.listdir("scripts")):
            path = os.path.join("scripts", name)
            if os.path.isfile(path):
                yield path, whole_lines(path), False
    for top in ["src", "tests", "benches"]:
        for path in walk(top, (".rs", ".mjs", ".js", ".cjs")):
            yield path, comment_lines(path), False
        # Test scripts in Python or shell: whole files (docstrings included).
        for path in walk(top, (".py", ".sh")):
            yield path, whole_lines(path), False


def expand_braces(p):
    m = re.search(r"\{([^{}]*,[^{}]*)\}", p)
    if not m:
        return [p]
    out = []
    for alt in m.group(1).split(","):
        out.extend(expand_braces(p[:m.start()] + alt + p[m.end():]))
    return out


def exists(p):
    """Whether a path (or every alternative of a {a,b} group, or a glob) is there."""
    for alt in expand_braces(p):
        if any(c in alt for c in "*?["):
            if not glob.glob(alt, recursive=True):
                return False
        elif not os.path.exists(alt):
            return False
    return True


def check(raw):
    """The path if it is missing (a sentence's final period is not part of it)."""
    p = raw.rstrip(".")
    if PLACEHOLDER_RE.search(p) or not p:
        return None
    return None if exists(p) else p


listing = "--list" in sys.argv[1:]
missing = []
seen = 0
for path, lines, markdown in sources():
    for n, line in lines:
        if IGNORE_MARK in line:
            continue
        found = set()
        for m in PATH_RE.finditer(line):
            found.add(m.group(1))
        for p in sorted(found):
            seen += 1
            bad = check(p)
            if bad:
                missing.append((path, n, bad))
            if listing:
                print(f"{path}:{n}: {p}{' MISSING' if bad else ''}")
        if markdown:
            for m in MD_LINK_RE.finditer(line):
                target = m.group(1).split("#", 1)[0]
                if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("/"):
                    continue
                seen += 1
                rel = os.path.normpath(os.path.join(os.path.dirname(path), target))
                bad = not PLACEHOLDER_RE.search(target) and not exists(rel)
                if bad:
                    missing.append((path, n, target))
                if listing:
                    print(f"{path}:{n}: link {target}{' MISSING' if bad else ''}")

missing = list(dict.fromkeys(missing))  # a Markdown link is also a path
for path, n, p in missing:
    print(f"{path}:{n}: {p} does not exist", file=sys.stderr)
if missing:
    print(f"check-refs: {len(missing)} dangling reference(s) to repository files "
          f"(fix the path, or end the line with '{IGNORE_MARK}')", file=sys.stderr)
    sys.exit(1)
print(f"check-refs: {seen} references to repository files, none dangling")
PY
