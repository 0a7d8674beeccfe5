"""trafilatura's extraction, with the same text, in less CPU time (issue 20).

``extract_text(html, url, options)`` returns what ``trafilatura.extract(html, url=url, include_comments=False,
deduplicate=False, with_metadata=False, **options)`` returns. It calls trafilatura's own functions, in the order
``bare_extraction`` / ``trafilatura_sequence`` call them for these options, and leaves out only work whose
result is known in advance:

* **prefilter** (exact): the raw-tree prunes (``RAW_TREE_PRUNE_XPATH``, ``REMOVE_COMMENTS_AND_LISTS_XPATH``,
  ``REMOVE_COMMENTS_XPATH``) test ``@id`` / ``@class`` with ``re:test``, a Python call per element. An element
  can only match if the attribute contains a fixed substring of the expression (``omment``, ``infinite``, ...);
  one XPath of plain ``contains()`` (no Python call) tells whether any element does, and the prune is run only
  then. A prune that matches nothing leaves the tree as it was.
* **skip_fallback** (exact): ``compare_extraction`` (readability on the raw tree after the precision prune,
  then justext) replaces the main extraction only if readability's text is longer than twice the main text,
  or the main body lacks paragraph text, or the main body is "unclean" or short (trafilatura's own checks,
  ``external.compare_extraction`` / ``_prefer_readability``). Readability's output is a part of its input
  page, so its length is bounded by the page's visible text less what the precision prune certainly removes
  (elements matching literal tokens of ``OVERALL_DISCARD_XPATH``), plus 5 characters per ``<iframe>`` (its
  ``sanitize`` writes ``VIDEO`` into video frames). When the main result passes the checks against that
  bound, the comparison cannot change it and is not run; otherwise it runs as in trafilatura.
* **trim** (measured, off by default): ``<script>`` (except JSON-LD, which trafilatura reads to detect forum
  threads), ``<style>`` and ``<fencedframe>`` are dropped right after parsing: both ``tree_cleaning`` and
  readability drop them, and the prunes' expressions never look below them.

Only the options this was verified on take the fast path (``supported``): trafilatura ``VERIFIED_VERSIONS``,
``favor_precision=True``, text output, no comments, metadata, deduplication or target language; anything else
is handed to ``trafilatura.extract`` unchanged. ``benchmarks/bench_extract_routes.py`` measures each route
and the share of pages whose text is identical to plain trafilatura (all 637 shared extraction pages: 100 %).

Kept free of pyarrow and of the rest of curate: the extraction child process imports it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from copy import copy
from typing import Any

import trafilatura
from lxml.etree import XPath
from trafilatura import external, xpaths
from trafilatura.core import _forum_thread_page, _prepare_tree, determine_returnstring
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.main_extractor import extract_content
from trafilatura.metadata import Document
from trafilatura.settings import DEFAULT_CONFIG, Extractor
from trafilatura.utils import load_html

__all__ = ["ALL_ROUTES", "DEFAULT_ROUTES", "VERIFIED_VERSIONS", "extract_text", "plain_extract", "supported"]

#: trafilatura versions whose ``bare_extraction`` this module follows (checked against plain trafilatura on
#: the shared extraction pages and by ``tests/test_extract_fast.py``); any other version takes the plain path
VERIFIED_VERSIONS = frozenset({"2.3.1"})
ALL_ROUTES = frozenset({"prefilter", "skip_fallback", "trim"})
#: "trim" is exact too but saved nothing measurable (BENCHMARKS.md, "Extraction twice as fast (issue 20)")
DEFAULT_ROUTES = frozenset({"prefilter", "skip_fallback"})

#: the keyword arguments every extraction passes besides ``ExtractConfig``'s options
FIXED_OPTIONS: dict[str, Any] = {"include_comments": False, "deduplicate": False, "with_metadata": False}
_VIDEO_TEXT = len("VIDEO")  # readability_lxml.Document.sanitize writes this into a video <iframe>


def plain_extract(html: str, url: str | None, options: dict[str, Any]) -> str | None:
    """``trafilatura.extract`` with the pipeline's fixed options: the reference the fast path must equal."""
    return trafilatura.extract(html, url=url, **FIXED_OPTIONS, **options)


def supported(options: dict[str, Any]) -> bool:
    """Whether :func:`extract_text` takes the fast path for these ``ExtractConfig`` options."""
    return (trafilatura.__version__ in VERIFIED_VERSIONS and set(options) <= {"favor_precision", "include_tables"}
            and options.get("favor_precision") is True)


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


def _prefilters() -> list[tuple[list[XPath], XPath]]:
    """(prune expressions, plain-XPath test true whenever they can select an element), for the prunes whose
    text is the one analysed above; a prune not listed always runs."""
    found = []
    for name, expressions in (("raw", xpaths.RAW_TREE_PRUNE_XPATH),
                              ("comments_and_lists", xpaths.REMOVE_COMMENTS_AND_LISTS_XPATH),
                              ("comments", xpaths.REMOVE_COMMENTS_XPATH)):
        if _same_text(expressions, _KNOWN_PATHS[name]):
            found.append((expressions, XPath(f"boolean(.//*[{_PREFILTER_TESTS[name]}])")))
    return found


_PREFILTERS = _prefilters()


def _overall_class_tokens() -> re.Pattern[str] | None:
    """A regex of literal tokens of ``OVERALL_DISCARD_XPATH``'s first ``re:test(@class, ...)``: a ``<div>``,
    ``<p>``, ``<section>`` or ``<span>`` whose class contains one is removed by the precision prune of
    ``compare_extraction``, for sure. None when the expression does not read as analysed."""
    tags = "self::div or self::item or self::list or self::p or self::section or self::span"
    path = " ".join(xpaths.OVERALL_DISCARD_XPATH[0].path.split())
    match = re.search(r"re:test\(@class, '([^']*)'\)", path)
    if not path.startswith(f".//*[{tags}][") or match is None:
        return None
    tokens = _literal_alternatives(match.group(1))
    return re.compile("|".join(re.escape(token) for token in tokens)) if tokens else None


_CLASS_TOKENS = _overall_class_tokens()
_PRUNED_TAGS = ("div", "p", "section", "span")
_READABILITY_DROPS = XPath(".//script | .//style | .//fencedframe")  # readability_lxml Document.summary
#: XML's normalize-space collapses fewer characters than str.split, so its length is never below trim()'s
_TEXT_LENGTH = XPath("string-length(normalize-space(.))")
_IFRAMES = XPath("count(.//iframe)")
_P_TEXT = XPath(".//p//text()")


def _non_space(elements: Collection[Any]) -> int:
    """Non-space characters in the outermost of ``elements`` (each counted once)."""
    chosen = set(elements)
    return sum(len("".join(elem.text_content().split())) for elem in chosen
               if not any(ancestor in chosen for ancestor in elem.iterancestors()))


def _readability_bounds(tree: Any) -> Iterator[int]:
    """Upper bounds, tighter and costlier one after the other, of the length of readability's text in
    ``compare_extraction`` on ``tree``: its input is ``tree`` less what it drops and what the precision prune
    removes, its output a part of that (plus ``VIDEO`` in each video ``<iframe>``), and removing a part of a
    text never makes the trimmed text longer than the whole less the part's non-space characters."""
    dropped = _READABILITY_DROPS(tree)
    bound = int(_TEXT_LENGTH(tree)) + _VIDEO_TEXT * int(_IFRAMES(tree)) - _non_space(dropped)
    yield bound
    if _CLASS_TOKENS is not None:
        search = _CLASS_TOKENS.search
        pruned = [elem for elem in tree.iter(_PRUNED_TAGS) if search(elem.get("class") or "")]
        yield bound + _non_space(dropped) - _non_space(dropped + pruned)


def _fallback_unchanged(tree: Any, body: Any, text: str, options: Extractor) -> bool:
    """True when ``compare_extraction(..., body, text, options)`` would return ``body, text`` unchanged."""
    size = len(text)
    if size < options.min_extracted_size or body.xpath(external.SANITIZED_XPATH):
        return False  # justext would be tried
    paragraphs_ok = bool(_P_TEXT(body)) and len(body.findall(".//table")) <= len(body.findall(".//p"))
    for bound in _readability_bounds(tree):
        # readability replaces the text only if longer than twice it, or (body without paragraph text or
        # with more tables than paragraphs) longer than twice min_extracted_size
        if 2 * size >= bound and (paragraphs_ok or bound <= 2 * options.min_extracted_size):
            return True
    return False


def _trim(tree: Any) -> None:
    for elem in list(tree.iter("script", "style", "fencedframe")):
        if elem.tag == "script" and "ld+json" in (elem.get("type") or ""):
            continue  # trafilatura reads JSON-LD to recognise forum threads
        if elem.getparent() is not None:
            elem.drop_tree()


def _prune(tree: Any, expressions: list[XPath], prefilter: bool) -> Any:
    for known, test in _PREFILTERS:
        if known is expressions and prefilter and not test(tree):
            return tree  # nothing can match
    return prune_unwanted_nodes(tree, expressions)


def _options(url: str | None, include_tables: bool) -> Extractor:
    # as trafilatura.core._internal_extraction builds it for extract(..., **FIXED_OPTIONS, favor_precision=True)
    return Extractor(config=DEFAULT_CONFIG, output_format="txt", fast=False, precision=True, recall=False,
                     comments=False, formatting=None, links=False, images=False, tables=include_tables,
                     dedup=False, lang=None, url=url, with_metadata=False, only_with_metadata=False,
                     tei_validation=False, author_blacklist=None, url_blacklist=None, date_params=None)


def extract_text(html: str, url: str | None, options: dict[str, Any],
                 routes: Collection[str] = DEFAULT_ROUTES) -> str | None:
    """The text ``plain_extract(html, url, options)`` returns; raises what it raises."""
    if not supported(options) or not routes:
        return plain_extract(html, url, options)
    opts = _options(url, options.get("include_tables", True))
    if opts.max_tree_size:  # a settings.cfg limit: not followed here
        return plain_extract(html, url, options)
    prefilter = "prefilter" in routes
    try:  # bare_extraction: these two mean "no text"
        tree = load_html(html, opts.max_file_size)
        if tree is None:
            raise ValueError("empty HTML tree")
        is_forum = _forum_thread_page(tree)
        if "trim" in routes:
            _trim(tree)
        # trafilatura_sequence with comments off, precision focus
        tree = _prune(tree, xpaths.RAW_TREE_PRUNE_XPATH, prefilter)
        tree = _prune(tree, xpaths.REMOVE_COMMENTS_AND_LISTS_XPATH, prefilter)
        cleaned, backup = _prepare_tree(tree, opts, url)
        if not is_forum:
            cleaned = _prune(cleaned, xpaths.REMOVE_COMMENTS_XPATH, prefilter)
        body, text = extract_content(cleaned, opts)
        if "skip_fallback" not in routes or not _fallback_unchanged(tree, body, text, opts):
            body, text = external.compare_extraction(backup, copy(tree), body, text, opts)
        if len(text) < opts.min_output_size and 0 < opts.min_output_comm_size:
            raise ValueError("text not long enough")
    except (TypeError, ValueError):
        return None
    document = Document()
    document.body, document.raw_text, document.commentsbody = body, text, _empty_body()
    return determine_returnstring(document, opts)


def _empty_body() -> Any:
    from lxml.etree import Element

    return Element("body")
