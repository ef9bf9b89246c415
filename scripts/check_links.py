#!/usr/bin/env python3
"""Checks every relative link of the README, the book's sources and the
built book (docs/book, from `mdbook build docs`): each must name a file or
folder that exists, and a `#fragment` into a page of the book must name an
id on that page. Web links are not fetched (CI has no internet). Prints each
broken link with the file it is in; exits 1 if there is any."""

import html.parser
import pathlib
import re
import sys
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
BOOK = ROOT / "docs" / "book"


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key):
                self.links.append(attrs[key])


def parse(path):
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def is_local(link):
    return not re.match(r"^[a-z][a-z0-9+.-]*:", link) and not link.startswith("//")


def check(source, link, base, pages):
    target, _, fragment = urllib.parse.unquote(link).partition("#")
    path = (base / target).resolve() if target else source
    if target and not path.exists():
        return f"{link}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} does not exist"
    if fragment and path.suffix == ".html" and path.is_relative_to(BOOK):
        if fragment not in pages.setdefault(path, parse(path)).ids:
            return f"{link}: no id `{fragment}` in {path.relative_to(ROOT)}"
    return None


def main():
    if not (BOOK / "index.html").exists():
        sys.exit(f"{BOOK}/index.html is missing: run `mdbook build docs` first")
    broken, pages, checked = [], {}, 0
    markdown = [ROOT / "README.md", *sorted((ROOT / "docs" / "src").glob("*.md"))]
    for source in markdown:
        text = re.sub(r"```.*?```", "", source.read_text(encoding="utf-8"), flags=re.S)
        for link in re.findall(r"\]\(([^)\s]+)\)", text):
            if is_local(link):
                checked += 1
                if problem := check(source, link, source.parent, pages):
                    broken.append(f"{source.relative_to(ROOT)}: {problem}")
    for source in sorted(BOOK.rglob("*.html")):
        page = pages.setdefault(source.resolve(), parse(source))
        for link in page.links:
            if is_local(link):
                checked += 1
                if problem := check(source.resolve(), link, source.parent, pages):
                    broken.append(f"{source.relative_to(ROOT)}: {problem}")
    for line in broken:
        print(line)
    print(f"{checked} links checked, {len(broken)} broken")
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
