#!/usr/bin/env python3
"""Checks the book's sources and its built HTML; prints every problem and exits 1 if any.

Usage: check-book.py BOOK_DIR HTML_DIR

Sources (BOOK_DIR/src/**/*.md):
  - every {{#include path}} / {{#include path:anchor}} names an existing file, and the anchor
    exists in it as an `ANCHOR: name` marker (line ranges are refused: listings use anchors);
  - every file in src/transcripts/ is included by some chapter (no stale transcripts).
HTML (HTML_DIR/**/*.html, as mdBook built it):
  - no directive was left unexpanded (except those the sources escape with a backslash);
  - every relative link (href, src) points at a file that exists, and its #fragment at an
    element with that id in the target page (a bare #fragment at one in the same page).
"""

import html.parser
import os
import re
import sys
from urllib.parse import unquote, urlsplit

INCLUDE = re.compile(r"(?<!\\)\{\{#(include|rustdoc_include)\s+([^}\s]+)\s*\}\}")
# A directive written with a backslash in front is shown as text, not expanded.
ESCAPED = re.compile(r"\\(\{\{#[a-z_]+\s+[^}]*\}\})")
DIRECTIVE = re.compile(r"\{\{#[a-z_]+\s+[^}]*\}\}")


class Page(html.parser.HTMLParser):
    """Collects the ids and the relative links of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name"):
                self.ids.add(value)
            if (name == "href" and tag in ("a", "link")) or (name == "src" and tag in ("img", "script")):
                self.links.append((tag, value))


def check_sources(book, problems, escaped):
    src = os.path.join(book, "src")
    included = set()
    for folder, _dirs, files in os.walk(src):
        for file in files:
            if not file.endswith(".md"):
                continue
            path = os.path.join(folder, file)
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            escaped.update(ESCAPED.findall(text))
            for number, line in enumerate(text.splitlines(), 1):
                for match in INCLUDE.finditer(line):
                    where = f"{os.path.relpath(path, book)}:{number}"
                    target, _, anchor = match.group(2).partition(":")
                    target_path = os.path.normpath(os.path.join(folder, target))
                    included.add(target_path)
                    if not os.path.isfile(target_path):
                        problems.append(f"{where}: includes {target}, which does not exist")
                        continue
                    if not anchor:
                        continue
                    if re.fullmatch(r"[0-9:]+", anchor):
                        problems.append(f"{where}: includes {target} by line numbers; use an anchor")
                        continue
                    with open(target_path, encoding="utf-8") as handle:
                        listing = handle.read()
                    if not re.search(r"\bANCHOR:\s*" + re.escape(anchor) + r"\b", listing):
                        problems.append(f"{where}: anchor `{anchor}` is not in {target}")
                    elif not re.search(r"\bANCHOR_END:\s*" + re.escape(anchor) + r"\b", listing):
                        problems.append(f"{where}: anchor `{anchor}` has no ANCHOR_END in {target}")
    transcripts = os.path.join(src, "transcripts")
    if os.path.isdir(transcripts):
        for file in sorted(os.listdir(transcripts)):
            path = os.path.normpath(os.path.join(transcripts, file))
            if path not in included:
                problems.append(f"src/transcripts/{file} is not included by any chapter")


def load(path, cache):
    if path not in cache:
        page = Page()
        with open(path, encoding="utf-8") as handle:
            page.feed(handle.read())
        cache[path] = page
    return cache[path]


def check_html(site, problems, escaped):
    cache = {}
    pages = []
    for folder, _dirs, files in os.walk(site):
        pages.extend(os.path.join(folder, f) for f in files if f.endswith(".html"))
    if not pages:
        problems.append(f"{site} holds no HTML: was the book built?")
    for path in sorted(pages):
        with open(path, encoding="utf-8") as handle:
            for directive in DIRECTIVE.findall(handle.read()):
                if directive not in escaped:
                    problems.append(f"{os.path.relpath(path, site)}: `{directive}` was not expanded")
        page = load(path, cache)
        for tag, link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:", "data:")):
                continue
            where = f"{os.path.relpath(path, site)}: <{tag}> {link}"
            if parts.path:
                target = os.path.normpath(os.path.join(os.path.dirname(path), unquote(parts.path)))
                if os.path.isdir(target):
                    target = os.path.join(target, "index.html")
                if not os.path.exists(target):
                    problems.append(f"{where}: no such file")
                    continue
            else:
                target = path
            fragment = unquote(parts.fragment)
            if fragment and target.endswith(".html") and fragment not in load(target, cache).ids:
                problems.append(f"{where}: no element with id `{fragment}`")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    book, site = sys.argv[1], sys.argv[2]
    problems = []
    escaped = set()
    check_sources(book, problems, escaped)
    check_html(site, problems, escaped)
    for problem in problems:
        print(f"book check: {problem}")
    if problems:
        print(f"book check: {len(problems)} problem(s)")
        sys.exit(1)
    print("book check: every include, link and anchor resolves")


if __name__ == "__main__":
    main()
