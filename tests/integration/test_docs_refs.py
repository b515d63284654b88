# SPDX-License-Identifier: Apache-2.0
"""User-facing text (README.md, BENCHMARKS.md, docs/*.md and every
subcommand's --help) references only files that exist in the repository and
no issue numbers ("issue 6", "#17"): a user has neither the tracker nor the
files next to the checkout."""

import re
import subprocess

import pytest

import harness

REPO = harness.REPO
DOCS = [REPO / "README.md", REPO / "BENCHMARKS.md"] + sorted((REPO / "docs").glob("*.md"))
SUBCOMMANDS = ["", "run", "sim", "backfill"]

# Markdown link targets: [text](target) and ![alt](target).
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
# A relative path with a file extension, in prose, code or help text:
# `docs/CLIENT.md`, PROTOCOLS.md, ../shared/DESIGN.md, tests/sdk/x.test.mjs.
PATH = re.compile(r"(?<![\w/.:@$<{-])((?:\.\.?/)*(?:[\w.-]+/)*[\w-]+(?:\.[\w-]+)*"
                  r"\.(?:md|c|h|sh|py|mjs|js|conf|ini|png|css|html|json|supp|map|in|txt))\b")
ISSUE = re.compile(r"\bissues?\s+#?\d+|(?<![\w&/#])#\d+\b", re.IGNORECASE)
# Files that a documented command creates (an example's own output or input
# written by the user), not references to the repository.
USER_FILES = {"myprog.c"}
# Outputs of documented commands (gitignored): `make bench` writes bench/out/.
GENERATED = ("bench/out/", "build/", "tests/artifacts/")


def exists(ref, base):
    ref = ref.split("#")[0]
    if not ref:
        return True
    if ref.startswith(GENERATED):
        return True
    # relative to the document, to the repository, or (source files) to src/;
    # and inside the repository (a clone may sit next to other folders)
    for b in (base, REPO, REPO / "src"):
        p = (b / ref).resolve()
        if p.is_relative_to(REPO.resolve()) and p.exists():
            return True
    return False


def bad_refs(text, base):
    bad = []
    for m in MD_LINK.finditer(text):
        target = m.group(1)
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # http(s):, mailto:, in-page anchors
        if not exists(target, base):
            bad.append(f"link {target}")
    for m in PATH.finditer(text):
        ref = m.group(1)
        if ref in USER_FILES or "/" not in ref and not ref.endswith(".md"):
            continue  # a bare file name that is not a document: a user's own file
        if not exists(ref, base):
            bad.append(f"path {ref}")
    bad += [f"issue reference {m.group(0)!r}" for m in ISSUE.finditer(text)]
    return bad


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_doc_references_exist(doc):
    assert bad_refs(doc.read_text(), doc.parent) == []


@pytest.mark.parametrize("sub", SUBCOMMANDS, ids=lambda s: s or "tickerd")
def test_help_references_exist(tickerd_bin, sub):
    argv = [str(tickerd_bin)] + ([sub] if sub else []) + ["--help"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=harness.SANITIZER_ENV)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout) > 200
    assert bad_refs(r.stdout + r.stderr, REPO) == []


def test_checker_catches_what_it_must():
    # The checker itself: each of these must be reported.
    text = ("see PROTOCOLS.md §1, [design](../shared/DESIGN.md), `tests/nope.py`,\n"
            "History (issue 6), fixed in #17, and Issues 12.")
    assert len(bad_refs(text, REPO)) == 7  # the link is also a path
    ok = ("[arch](docs/ARCHITECTURE.md), `scripts/deps.sh`, tickerd.db, #include, "
          "`sqlite3 bars.db`, https://example.com/x.md, (docs/CLIENT.md#example)")
    assert bad_refs(ok, REPO) == []


def test_every_source_file_has_an_spdx_header():
    files = subprocess.run(["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True,
                           check=True).stdout.split()
    src = [f for f in files if re.search(r"\.(c|h|py|sh|mjs|js|css)$", f)
           and not f.startswith("fuzz/corpus/") and (REPO / f).is_file()]
    assert len(src) > 100
    missing = [f for f in src
               if "SPDX-License-Identifier: Apache-2.0" not in (REPO / f).read_text()[:400]]
    assert missing == []
