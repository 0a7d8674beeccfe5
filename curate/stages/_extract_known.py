"""trafilatura's XPath prunes and body expressions as Python tests of each element (issue 20, the extraction fast
path :mod:`curate.stages._extract_fast`): each ``_KnownPrune`` is written from the text of one of trafilatura's
expressions and used only while trafilatura's expression reads exactly so (checked at import); the regex results
are remembered per attribute value (:class:`_Regex`). Kept free of pyarrow and of the rest of curate, like the
fast path that imports it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from lxml.etree import XPath
from trafilatura import xpaths


def _literal_alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regex that are plain literals: each one found in a string makes
    ``re.search(pattern, string)`` match. Grouped, anchored or escaped alternatives are left out."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(pattern):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    return [part for part in parts if re.fullmatch(r"[A-Za-z0-9_ -]+", part)]


def _xpath_literal(text: str) -> str:
    return f"'{text}'" if "'" not in text else f'"{text}"'


def _any_contains(attribute: str, tokens: Collection[str]) -> list[str]:
    return [f"contains(@{attribute}, {_xpath_literal(token)})" for token in sorted(tokens)]


def _same_text(expressions: list[XPath], paths: list[str]) -> bool:
    return [" ".join(expression.path.split()) for expression in expressions] == paths


# The raw-tree prunes of trafilatura 2.3.1, as analysed: an element is selected only if its @id or @class
# matches one of the regexes, and each regex needs the substrings tested by the prefilter below.
_COMMENT_TAGS = "self::div or self::list or self::section or self::details"
_COMMENT_TESTS = ("re:test(@id, '^(?:[Cc]omment(?!ary)|comol|disqus_thread|dsq-comments)') or "
                  "re:test(@class, '^[Cc]omment(?!ary)|(?:article|post)-comments')")
_MVP = "mvp-post-add-(?:box|wrap)"
_KNOWN_PATHS = {
    "raw": [f".//*[self::div or self::section or self::aside][ re:test(@id, '{_MVP}|infinite-?scroll') or "
            f"re:test(@class, '{_MVP}|infinite-?scroll')][ not(.//h1) or re:test(@id, '{_MVP}') or "
            f"re:test(@class, '{_MVP}')]",
            ".//*[self::div or self::section or self::aside][contains(@class, 'elementor-share-buttons')]"],
    "comments_and_lists": [
        f".//*[{_COMMENT_TAGS} or self::ol or self::ul][ {_COMMENT_TESTS}][ not(self::ol or self::ul) or "
        "re:test(@id, '^(?:[Cc]omment(?!ary)|comol)') or "
        "re:test(@class, '^[Cc]omment(?!ary)|(?:article|post)-comments')]"],
    "comments": [f".//*[{_COMMENT_TAGS}][ {_COMMENT_TESTS}]"],
}
_COMMENT_PREFILTER = " or ".join(_any_contains("id", ("omment", "comol", "disqus_thread", "dsq-comments"))
                                 + _any_contains("class", ("omment",)))
_PREFILTER_TESTS = {
    "raw": " or ".join(_any_contains("id", ("mvp-post-add-", "infinite"))
                       + _any_contains("class", ("mvp-post-add-", "infinite", "elementor-share-buttons"))),
    "comments_and_lists": _COMMENT_PREFILTER,
    "comments": _COMMENT_PREFILTER,
}


class _Ambiguous(Exception):
    """``re:test`` / ``starts-with`` on two attributes that are both there and disagree: which one the
    XPath engine tests depends on libxml2's node-set order, so the expression itself is asked."""


class _Regex:
    """EXSLT ``re:test(@a, 'P')`` as lxml evaluates it (``re.search``; a missing attribute tests ""), with the
    result remembered per value (class and id values repeat within and across pages)."""

    def __init__(self, pattern: str | re.Pattern[str]) -> None:
        self.pattern, self.search, self.known = pattern, re.compile(pattern).search, {}

    def __call__(self, value: str | None) -> bool:
        value = value or ""
        hit = self.known.get(value)
        if hit is None:
            if len(self.known) > 50_000:
                self.known.clear()
            hit = self.known[value] = self.search(value) is not None
        return hit

    def either(self, first: str | None, second: str | None) -> bool:
        """``re:test(@a|@b, 'P')``: the value of one of the two attributes that are there, else ""."""
        if first is None or second is None:
            return self(second if first is None else first)
        hit = self(first)
        if hit != self(second):
            raise _Ambiguous
        return hit


def _starts_either(first: str | None, second: str | None, prefix: str) -> bool:
    if first is None or second is None:
        return ((first if second is None else second) or "").startswith(prefix)
    hit = first.startswith(prefix)
    if hit != second.startswith(prefix):
        raise _Ambiguous
    return hit


_RE_TEST_ARGS = re.compile(r"re:test\((@[\w|@]+), '([^']*)'\)")


class _KnownPrune:
    """One of trafilatura's prune XPaths as a Python test of one element (``test(elem, tag, get)``, ``get``
    the element's attributes' ``dict.get``), for the
    expression text it was written from (``template``, its ``re:test`` patterns as ``{}``); ``original``
    is trafilatura's XPath, asked whenever the test is ambiguous. ``structural``: the test looks below the
    element (``not(.//h1)``), so it holds only on the tree as it was when the pass began."""

    def __init__(self, expressions: list[XPath], index: int, template: str, tags: frozenset[str] | None,
                 build: Any, structural: bool = False) -> None:
        self.original = expressions[index]
        path = " ".join(self.original.path.split())
        patterns = [pattern for _, pattern in _RE_TEST_ARGS.findall(path)]
        self.regexes = [_Regex(pattern) for pattern in patterns]
        self.ok = template.format(*patterns) == path
        self.tags, self.structural = tags, structural
        self.test = build(*self.regexes) if self.ok else None
        #: the test is false for an element without attributes, whatever its tag (then it is not asked)
        self.bare_false = self.ok and not any(self._bare(tag) for tag in (tags or {"div"}))

    def _bare(self, tag: str) -> bool:
        try:
            return bool(self.test(None, tag, {}.get))
        except Exception:  # noqa: BLE001 - a test that needs the element: it is asked
            return True


def _known_prunes() -> dict[str, list[_KnownPrune]]:
    comment_tags = frozenset({"div", "list", "section", "details"})
    block_tags = frozenset({"div", "section", "aside"})
    overall_tags = frozenset({"div", "item", "list", "p", "section", "span"})
    comment_tests = ("re:test(@id, '{}') or re:test(@class, '{}')")

    def raw(scroll: _Regex, scroll_class: _Regex, mvp: _Regex, mvp_class: _Regex) -> Any:
        def test(elem: Any, tag: str, get: Any) -> bool:
            return ((scroll(get("id")) or scroll_class(get("class")))
                    and (elem.find(".//h1") is None or mvp(get("id")) or mvp_class(get("class"))))
        return test

    def share(elem: Any, tag: str, get: Any) -> bool:
        return "elementor-share-buttons" in (get("class") or "")

    def comments_and_lists(ident: _Regex, klass: _Regex, ident_list: _Regex, klass_list: _Regex) -> Any:
        def test(elem: Any, tag: str, get: Any) -> bool:
            return ((ident(get("id")) or klass(get("class")))
                    and (tag not in ("ol", "ul") or ident_list(get("id")) or klass_list(get("class"))))
        return test

    def comments(ident: _Regex, klass: _Regex) -> Any:
        return lambda elem, tag, get: ident(get("id")) or klass(get("class"))

    def overall(cookie: _Regex, ident: _Regex, klass: _Regex) -> Any:
        def test(elem: Any, tag: str, get: Any) -> bool:
            return (get("data-lp-replacement-content") is not None
                    or "nav" in (get("role") or "").replace("N", "n")
                    or "MostPopularStories" in (get("data-component") or "")
                    or ident(get("id")) or klass(get("class"))
                    or cookie.either(get("id"), get("class")))  # last: its ambiguity matters only then
        return test

    def overall_hidden(hidden: _Regex, ident: _Regex, klass: _Regex) -> Any:
        def test(elem: Any, tag: str, get: Any) -> bool:
            ident_value, klass_value, style = get("id"), get("class"), get("style") or ""
            if (klass_value == "comments-title" or "display:none" in style or "display: none" in style
                    or ident(ident_value) or klass(klass_value) or get("aria-hidden") == "true"):
                return True
            try:
                if _starts_either(ident_value, klass_value, "reply-"):
                    return True
            except _Ambiguous:
                if hidden.either(ident_value, get("style")):
                    return True
                raise
            return hidden.either(ident_value, get("style"))
        return test

    def precision(bottom: _Regex, link: _Regex) -> Any:
        def test(elem: Any, tag: str, get: Any) -> bool:
            if "border" in (get("style") or ""):
                return True
            ident_value, klass_value, ambiguous = get("id"), get("class"), False
            for regex in (bottom, link):  # re:test(@id|@class, ...) or re:test(@id|@class, ...)
                try:
                    if regex.either(ident_value, klass_value):
                        return True
                except _Ambiguous:
                    ambiguous = True
            if ambiguous:
                raise _Ambiguous
            return False
        return test

    def teaser(elem: Any, tag: str, get: Any) -> bool:
        return ("teaser" in (get("id") or "").replace("T", "t")
                or "teaser" in (get("class") or "").replace("T", "t"))

    def caption(elem: Any, tag: str, get: Any) -> bool:
        return "caption" in (get("id") or "") or "caption" in (get("class") or "")

    x = xpaths
    overall_head = ".//*[self::div or self::item or self::list or self::p or self::section or self::span]["
    return {
        "raw": [
            _KnownPrune(x.RAW_TREE_PRUNE_XPATH, 0, ".//*[self::div or self::section or self::aside][ re:test(@id, "
                        "'{}') or re:test(@class, '{}')][ not(.//h1) or re:test(@id, '{}') or re:test(@class, '{}')]",
                        block_tags, raw, structural=True),
            _KnownPrune(x.RAW_TREE_PRUNE_XPATH, 1, ".//*[self::div or self::section or self::aside][contains(@class, "
                        "'elementor-share-buttons')]", block_tags, lambda: share),
        ],
        "comments_and_lists": [
            _KnownPrune(x.REMOVE_COMMENTS_AND_LISTS_XPATH, 0, ".//*[self::div or self::list or self::section or "
                        f"self::details or self::ol or self::ul][ {comment_tests}][ not(self::ol or self::ul) or "
                        "re:test(@id, '{}') or re:test(@class, '{}')]", comment_tags | {"ol", "ul"},
                        comments_and_lists),
        ],
        "comments": [
            _KnownPrune(x.REMOVE_COMMENTS_XPATH, 0, ".//*[self::div or self::list or self::section or self::details]"
                        f"[ {comment_tests}]", comment_tags, comments),
        ],
        "overall": [
            _KnownPrune(x.OVERALL_DISCARD_XPATH, 0, ".//*[self::div or self::item or self::list or self::p or "
                        "self::section or self::span][ @data-lp-replacement-content or contains(translate(@role, "
                        "'N', 'n'), 'nav') or contains(@data-component, 'MostPopularStories') or re:test(@id|@class, "
                        "'{}') or re:test(@id, '{}') or re:test(@class, '{}')]", overall_tags, overall),
            _KnownPrune(x.OVERALL_DISCARD_XPATH, 1, ".//*[@class='comments-title' or starts-with(@id|@class, "
                        "'reply-') or re:test(@id|@style, '{}') or contains(@style, 'display:none') or "
                        "contains(@style, 'display: none') or re:test(@id, '{}') or re:test(@class, '{}') or "
                        "@aria-hidden='true']", None, overall_hidden),
        ],
        # extract_content's other prunes of each candidate body (prune_unwanted_sections), one list each
        "precision": [
            _KnownPrune(x.PRECISION_DISCARD_XPATH, 1, overall_head + " re:test(@id|@class, '{}') or "
                        "re:test(@id|@class, '{}') or contains(@style, 'border')]", overall_tags, precision),
        ],
        "teaser": [
            _KnownPrune(x.TEASER_DISCARD_XPATH, 0, overall_head + " contains(translate(@id, 'T', 't'), 'teaser') or "
                        "contains(translate(@class, 'T', 't'), 'teaser')]", overall_tags, lambda: teaser),
        ],
        "image": [
            _KnownPrune(x.DISCARD_IMAGE_ELEMENTS, 0, overall_head + " contains(@id, 'caption') or "
                        "contains(@class, 'caption')]", overall_tags, lambda: caption),
        ],
    }


_KNOWN_PRUNES = _known_prunes()


def _known_bodies() -> list[_KnownPrune | None]:
    """``BODY_XPATH`` (the candidate main-content containers ``_extract`` tries in turn), as Python tests where
    an expression calls ``re:test`` (the others stay XPaths: None). Each of these expressions is
    ``(.//*[T][P])[1]`` or ``.//*[T][P][1]``, and ``_extract`` takes the first element of its result: both are
    the first element below the context, in document order, whose tag is in T and for which P holds (the
    first such element of the page is also the first such child of its parent)."""
    article_tags = frozenset({"article", "div", "main", "section"})
    head = ".//*[self::article or self::div or self::main or self::section]["

    def article(ident: _Regex, klass: _Regex) -> Any:
        def test(elem: Any, tag: str, get: Any) -> bool:
            klass_value, ident_value = get("class"), get("id")
            return (klass_value in ("post", "entry") or get("itemprop") == "articleBody"
                    or ident_value == "articleContent" or ident(ident_value) or klass(klass_value))
        return test

    def story(ident: _Regex, klass: _Regex) -> Any:
        def test(elem: Any, tag: str, get: Any) -> bool:
            klass_value, ident_value = get("class"), get("id")
            return (get("role") == "article" or ident_value in ("article", "story")
                    or klass_value in ("postarea", "art-postcontent", "text", "cell", "story")
                    or ident(ident_value) or _FULLTEXT(klass_value) or klass(klass_value))
        return test

    def content(ident: _Regex, klass: _Regex) -> Any:
        def test(elem: Any, tag: str, get: Any) -> bool:
            klass_value, ident_value = get("class") or "", get("id") or ""
            return (ident_value == "content" or klass_value == "content" or ident(ident_value) or klass(klass_value)
                    or "main-content" in ident_value.replace("C", "c").replace("M", "m")
                    or "main-content" in klass_value.replace("C", "c").replace("M", "m")
                    or "page-content" in klass_value.replace("C", "c").replace("P", "p"))
        return test

    x = xpaths.BODY_XPATH
    known = {
        0: _KnownPrune(x, 0, head + " @class='post' or @class='entry' or @itemprop='articleBody' or "
                       "@id='articleContent' or re:test(@id, '{}') or re:test(@class, '{}') ][1]", article_tags,
                       article),
        2: _KnownPrune(x, 2, "(" + head + " @role='article' or @id='article' or @id='story' or @class='postarea' or "
                       "@class='art-postcontent' or @class='text' or @class='cell' or @class='story' or "
                       "re:test(@id, '{}') or re:test(@class, 'fulltext', 'i') or re:test(@class, '{}') ])[1]",
                       article_tags, story),
        3: _KnownPrune(x, 3, "(" + head + " @id='content' or @class='content' or re:test(@id, '{}') or "
                       "re:test(@class, '{}') or contains(translate(@id, 'CM','cm'), 'main-content') or "
                       "contains(translate(@class, 'CM','cm'), 'main-content') or "
                       "contains(translate(@class, 'CP','cp'), 'page-content') ])[1]", article_tags, content),
    }
    return [known.get(index) for index in range(len(x))]


_FULLTEXT = _Regex(re.compile("fulltext", re.IGNORECASE))  # lxml's re:test(..., 'fulltext', 'i')
_KNOWN_BODIES = _known_bodies()
