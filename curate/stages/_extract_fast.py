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
* **python_prunes** (exact): the raw-tree prunes, the comment prune of the cleaned tree and the precision
  prune in ``compare_extraction`` (``OVERALL_DISCARD_XPATH``, the costliest: ``re:test`` calls on every
  element of the page) select their elements with Python tests of each element's tag and attributes
  (``_KnownPrune``: written from the expression's text, used only while trafilatura's expression reads
  exactly so), in one pass over the tree, the regex results remembered per attribute value; the same
  elements are deleted in the same order. Where an expression tests the first of two attributes
  (``re:test(@id|@class, ...)``) and the two disagree, lxml evaluates trafilatura's own expression.
  ``compare_extraction`` is followed line by line (``_compare_extraction``) to hand it that prune. Elements
  below an element already selected are not tested (deleting it takes them along).
* **main_prunes** (exact): the other prunes of each candidate body in ``extract_content``
  (``prune_unwanted_sections``: ``DISCARD_IMAGE_ELEMENTS``, ``TEASER_DISCARD_XPATH`` and the second expression
  of ``PRECISION_DISCARD_XPATH``, whose ``re:test`` calls cost as the precision prune's) select their elements
  with the same kind of Python tests, made when trafilatura evaluates the expression (``_Lazy``): trafilatura's
  ``prune_unwanted_nodes`` is handed lists holding them during the call (``_main_pass``).
* **body_first** (exact): ``_extract`` tries the ``BODY_XPATH`` expressions in turn and reads only the first
  element each selects; the three that call ``re:test`` on every ``article``/``div``/``main``/``section``
  element of the page are replaced, during the call, by a walk in document order that stops at the first
  element passing the same tests (``_First``, :func:`_known_bodies`).
* **parse** (exact): the page is parsed as ``trafilatura.utils.load_html`` parses it (line by line,
  ``_load_html``; its regex removal of invalid XML characters only where ``in`` finds one) with a parser
  of the same options whose element classes are chosen in C (``ElementDefaultClassLookup``: every element
  an ``HtmlElement``) instead of lxml.html's Python ``lookup`` call for each element object lxml creates
  (millions per thousand pages, most of them for the XPath prunes' ``re:test`` arguments). Only the
  form-specific subclasses (``FormElement``, ``InputElement``, ...) are gone; trafilatura and readability
  use none of their extras. The copies trafilatura makes keep the parser.
* **copies** (exact): ``_prepare_tree`` copies the cleaned tree before converting its tags, for justext in
  ``compare_extraction``; that copy is made only where justext is tried (a few pages in a hundred), by cleaning
  a copy of the raw tree again (the raw tree is not changed in between, and the cleaning depends on nothing
  else).
* **trim** (exact): ``<script>`` (except JSON-LD, which trafilatura reads to detect forum
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
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from copy import copy
from typing import Any

import trafilatura
from lxml.etree import ElementDefaultClassLookup, XPath, tostring
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HTMLParser, HtmlProcessingInstruction, fromstring
from trafilatura import external, main_extractor, xpaths
from trafilatura.core import _forum_thread_page, _prepare_tree, determine_returnstring
from trafilatura.htmlprocessing import convert_tags, prune_unwanted_nodes, tree_cleaning
from trafilatura.main_extractor import extract_content
from trafilatura.metadata import Document
from trafilatura.settings import DEFAULT_CONFIG, Extractor
from trafilatura.utils import (
    DOCTYPE_TAG,
    FAULTY_HTML,
    INVALID_XML_CHARS,
    decode_file,
    is_dubious_html,
    load_html,
    repair_faulty_html,
    trim,
)
from trafilatura.xml import delete_element

from curate.stages._extract_known import (  # noqa: F401 - tests and benchmarks read some of these here
    _COMMENT_PREFILTER,
    _COMMENT_TAGS,
    _COMMENT_TESTS,
    _FULLTEXT,
    _KNOWN_BODIES,
    _KNOWN_PATHS,
    _KNOWN_PRUNES,
    _MVP,
    _PREFILTER_TESTS,
    _RE_TEST_ARGS,
    _Ambiguous,
    _any_contains,
    _known_bodies,
    _known_prunes,
    _KnownPrune,
    _literal_alternatives,
    _Regex,
    _same_text,
    _starts_either,
    _xpath_literal,
)

__all__ = ["ALL_ROUTES", "DEFAULT_ROUTES", "VERIFIED_VERSIONS", "clear_caches", "extract_text", "plain_extract",
           "regex_caches", "set_regex_caches", "supported"]

#: trafilatura versions whose ``bare_extraction`` this module follows (checked against plain trafilatura on
#: the shared extraction pages and by ``tests/test_extract_fast.py``); any other version takes the plain path
VERIFIED_VERSIONS = frozenset({"2.3.1"})
ALL_ROUTES = frozenset({"prefilter", "skip_fallback", "trim", "python_prunes", "parse", "main_prunes",
                        "body_first", "copies"})
#: "prefilter" only matters for XPath prunes that "python_prunes" does not cover (it covers all it knew);
#: "trim" saves time once the prunes are cheap (bench_extract_routes.py: 1.65x with it, 1.41x without)
DEFAULT_ROUTES = frozenset({"skip_fallback", "python_prunes", "parse", "trim", "main_prunes", "body_first", "copies"})

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




def _regexes() -> list[_Regex]:
    found = [regex for prunes in _KNOWN_PRUNES.values() for prune in prunes for regex in prune.regexes]
    found += [regex for body in _KNOWN_BODIES if body is not None for regex in body.regexes]
    return found + [_FULLTEXT] + ([_CLASS_SEARCH] if _CLASS_SEARCH is not None else [])


def clear_caches() -> None:
    """Forget the regex results remembered per attribute value (benchmarks: each round starts cold)."""
    for regex in _regexes():
        regex.known.clear()


def regex_caches(fresh: bool = False) -> list[dict[str, bool]]:
    """The regex results remembered per attribute value (new, empty ones if ``fresh``), for
    :func:`set_regex_caches`: benchmarks give each route its own."""
    return [{} if fresh else regex.known for regex in _regexes()]


def set_regex_caches(caches: list[dict[str, bool]]) -> None:
    for regex, known in zip(_regexes(), caches, strict=True):
        regex.known = known


def _attached(elem: Any, root: Any) -> bool:
    return any(ancestor is root for ancestor in elem.iterancestors())


def _select_known(tree: Any, prunes: list[_KnownPrune]) -> list[list[Any] | None]:
    """What each expression of ``prunes`` selects in ``tree`` as it is now, in document order, from the Python
    tests in one pass over the tree; None where a test was ambiguous (the expression itself is to be asked).
    Elements below an element that one of the tests selects are left out untested: every caller deletes the
    selected elements, which takes them along (deleting one of them first changes only the subtree deleted
    after it), and ``prune_unwanted_nodes``' guard (``with_backup``) counts only the outermost ones."""
    selected: list[list[Any]] = [[] for _ in prunes]
    ambiguous = [False] * len(prunes)
    tags = None if any(p.tags is None for p in prunes) else frozenset().union(*(p.tags for p in prunes))
    elements = tree.iterdescendants("*") if tags is None else tree.iterdescendants(*tags)
    skip_bare = all(prune.bare_false for prune in prunes)
    inside: set[Any] = set()  # below an element already selected
    for elem in elements:
        if elem in inside:
            continue
        items = elem.items()
        if not items and skip_bare:
            continue  # no attribute: no test can hold
        tag, get = elem.tag, dict(items).get
        hit = False
        for index, prune in enumerate(prunes):
            if prune.tags is None or tag in prune.tags:
                try:
                    if prune.test(elem, tag, get):
                        selected[index].append(elem)
                        hit = True
                except _Ambiguous:
                    ambiguous[index] = True
        if hit and len(elem):
            inside.update(elem.iterdescendants("*") if tags is None else elem.iterdescendants(*tags))
    return [None if ambiguous[index] else chosen for index, chosen in enumerate(selected)]


def _prune_known(tree: Any, prunes: list[_KnownPrune]) -> Any:
    """``prune_unwanted_nodes(tree, [p.original for p in prunes])``, the same elements deleted in the same
    order, with the selections made by the Python tests in one pass over the tree. Each expression's test
    reads only the element's tag and attributes (which deleting other elements leaves alone), or the
    subtree below it for the first, so what the later expressions select on the pruned tree is what they
    select in the pass and is still in the tree. Ambiguous tests leave the expression to lxml."""
    assert all(p.ok for p in prunes) and not any(p.structural for p in prunes[1:])
    changed = False
    for prune, selected in zip(prunes, _select_known(tree, prunes), strict=True):
        if selected is None:
            chosen = prune.original(tree)
        elif changed:
            chosen = [elem for elem in selected if _attached(elem, tree)]
        else:
            chosen = selected
        for elem in chosen:
            delete_element(elem)  # the tail text is preserved
        changed = changed or bool(chosen)
    return tree


@contextmanager
def _main_pass(overall: list[_KnownPrune] | None, lists: list[tuple[list[XPath], list[Any]]],
               bodies: list[Any] | None) -> Iterator[None]:
    """While extract_content runs: its prunes of each candidate body (``prune_unwanted_sections`` calls
    ``prune_unwanted_nodes`` with ``OVERALL_DISCARD_XPATH`` (with_backup: its guard against removing too much
    text), ``DISCARD_IMAGE_ELEMENTS``, ``TEASER_DISCARD_XPATH`` and ``PRECISION_DISCARD_XPATH``) given what the
    Python tests select instead of the expressions (``overall``; ``lists``: (trafilatura's list, the list given
    instead)), and the candidate bodies (``BODY_XPATH``) found by the Python tests (``bodies``).
    trafilatura's own ``prune_unwanted_nodes`` still decides and deletes; every other call goes to it unchanged.
    Swapped in the module for the call only: the replacements return what the originals return (for
    ``BODY_XPATH``: its first element, all that ``_extract`` reads), so a plain ``trafilatura.extract`` running
    meanwhile in another thread gets the same result."""
    swap_prune = ((overall is not None or bool(lists))
                  and main_extractor.prune_unwanted_nodes is prune_unwanted_nodes)
    swap_body = bodies is not None and main_extractor.BODY_XPATH is xpaths.BODY_XPATH
    # not verified for this trafilatura, or swapped already (a call in another thread): nothing to do
    if swap_prune:
        def prune(tree: Any, nodelist: list[Any], with_backup: bool = False) -> Any:
            if nodelist is xpaths.OVERALL_DISCARD_XPATH and with_backup and overall is not None:
                nodelist = [known.original if chosen is None else _Selected(chosen)
                            for known, chosen in zip(overall, _select_known(tree, overall), strict=True)]
            else:
                for theirs, mine in lists:
                    if nodelist is theirs:
                        nodelist = mine
                        break
            return prune_unwanted_nodes(tree, nodelist, with_backup)

        main_extractor.prune_unwanted_nodes = prune
    if swap_body:
        main_extractor.BODY_XPATH = bodies
    try:
        yield
    finally:
        if swap_prune:
            main_extractor.prune_unwanted_nodes = prune_unwanted_nodes
        if swap_body:
            main_extractor.BODY_XPATH = xpaths.BODY_XPATH


class _Lazy:
    """An expression whose elements the Python test selects when it is evaluated (``expression(tree)``),
    in document order; trafilatura's expression where the test is ambiguous."""

    def __init__(self, known: _KnownPrune) -> None:
        self.known = known

    def __call__(self, tree: Any) -> list[Any]:
        chosen = _select_known(tree, [self.known])[0]
        return self.known.original(tree) if chosen is None else chosen


class _First:
    """A ``BODY_XPATH`` expression as ``_extract`` reads it (:func:`_known_bodies`): its first element (in a
    list), or nothing."""

    def __init__(self, known: _KnownPrune) -> None:
        assert known.bare_false and known.tags is not None
        self.known, self.tags, self.test = known, tuple(known.tags), known.test

    def __call__(self, tree: Any) -> list[Any]:
        test = self.test
        for elem in tree.iterdescendants(*self.tags):
            items = elem.items()
            if items and test(elem, elem.tag, dict(items).get):
                return [elem]
        return []


def _main_pass_lists() -> list[tuple[list[XPath], list[Any]]]:
    """(trafilatura's list, the list given instead) for the main pass's other prunes ("main_prunes")."""
    lists = []
    for name, theirs in (("image", xpaths.DISCARD_IMAGE_ELEMENTS), ("teaser", xpaths.TEASER_DISCARD_XPATH),
                         ("precision", xpaths.PRECISION_DISCARD_XPATH)):
        known = {id(prune.original): prune for prune in _KNOWN_PRUNES[name] if prune.ok}
        lists.append((theirs, [_Lazy(known[id(expression)]) if id(expression) in known else expression
                               for expression in theirs]))
    return lists


def _main_pass_bodies() -> list[Any] | None:
    """``BODY_XPATH`` with the expressions of :func:`_known_bodies` as :class:`_First` ("body_first")."""
    if not all(known is None or (known.ok and known.bare_false) for known in _KNOWN_BODIES):
        return None
    return [expression if known is None else _First(known)
            for expression, known in zip(xpaths.BODY_XPATH, _KNOWN_BODIES, strict=True)]


_MAIN_PASS_LISTS = _main_pass_lists()
_MAIN_PASS_BODIES = _main_pass_bodies()


class _Selected:
    """An expression's selection, made already: ``expression(tree)`` returns it."""

    def __init__(self, elements: list[Any]) -> None:
        self.elements = elements

    def __call__(self, tree: Any) -> list[Any]:
        return self.elements


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
_READABILITY_DROPS = ("script", "style", "fencedframe")  # readability_lxml Document.summary drops these
#: XML's normalize-space collapses fewer characters than str.split, so its length is never below trim()'s
_TEXT_LENGTH = XPath("string-length(normalize-space(.))")
_P_TEXT = XPath(".//p//text()")


_ASCII_SPACE = "".join(char for char in map(chr, range(128)) if char.isspace())  # what str.split() splits at


def _non_space_count(text: str) -> int:
    """``len("".join(text.split()))``, without building the pieces when the text is ASCII."""
    if text.isascii():
        return len(text) - sum(text.count(char) for char in _ASCII_SPACE)
    return len("".join(text.split()))


def _outermost(elements: Collection[Any]) -> list[Any]:
    chosen = set(elements)
    return [elem for elem in chosen if not any(ancestor in chosen for ancestor in elem.iterancestors())]


_CLASS_SEARCH = _Regex(_CLASS_TOKENS) if _CLASS_TOKENS is not None else None


def _readability_bounds(tree: Any) -> Iterator[int]:
    """Upper bounds, tighter and costlier one after the other, of the length of readability's text in
    ``compare_extraction`` on ``tree``: its input is ``tree`` less what it drops and what the precision prune
    removes, its output a part of that (plus ``VIDEO`` in each video ``<iframe>``), and removing a part of a
    text never makes the trimmed text longer than the whole less the part's non-space characters."""
    counts: dict[Any, int] = {}

    def non_space(elements: Collection[Any]) -> int:  # in the outermost of elements, each counted once
        total = 0
        for elem in _outermost(elements):
            if elem not in counts:
                counts[elem] = _non_space_count(elem.text_content())
            total += counts[elem]
        return total

    dropped, iframes = [], 0  # .//script | .//style | .//fencedframe, and count(.//iframe), in one walk
    for elem in tree.iterdescendants(_READABILITY_DROPS, "iframe"):
        if elem.tag == "iframe":
            iframes += 1
        else:
            dropped.append(elem)
    dropped_count = non_space(dropped)
    bound = int(_TEXT_LENGTH(tree)) + _VIDEO_TEXT * iframes - dropped_count
    yield bound
    if _CLASS_SEARCH is not None:
        pruned = [elem for elem in tree.iter(_PRUNED_TAGS) if _CLASS_SEARCH(elem.get("class") or "")]
        yield bound + dropped_count - non_space(dropped + pruned)


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


#: trafilatura.utils.HTML_PARSER's options, element classes chosen in C
_PARSER = HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                     remove_pis=True)
_PARSER.set_element_class_lookup(ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity))


def _fromstring_bytes(html: str) -> Any:
    try:  # trafilatura.utils.fromstring_bytes
        return fromstring(html.encode("utf8", "surrogatepass"), parser=_PARSER)
    except Exception:  # noqa: BLE001 - as trafilatura: no tree
        return None


_INVALID_XML_CHARS = [chr(code) for code in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF)]
_INVALID_AS_ANALYSED = INVALID_XML_CHARS.pattern == r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"


def _repair_faulty_html(html: str, beginning: str) -> str:
    """``trafilatura.utils.repair_faulty_html``; its removal of invalid XML characters (a regex scan of the
    whole page) only where one of them is in the page (``in``: a C scan per character)."""
    if not _INVALID_AS_ANALYSED or any(char in html for char in _INVALID_XML_CHARS):
        return repair_faulty_html(html, beginning)
    if "doctype" in beginning:  # the first line less a self-closed doctype; the page is copied only if it has one
        end = html.find("\n")
        firstline = html if end < 0 else html[:end]
        fixed = DOCTYPE_TAG.sub("", firstline, count=1)
        if end < 0:
            html = fixed + "\n"
        elif fixed != firstline:
            html = fixed + html[end:]
    for line in html[:4096].splitlines()[:4]:
        if "<html" in line and line.endswith("/>"):
            html = FAULTY_HTML.sub(r"\1>", html, count=1)
            break
    return html


def _load_html(html: str | bytes, max_size: int | None) -> Any:
    """``trafilatura.utils.load_html`` for a str or bytes page, parsed with ``_PARSER``."""
    tree = None
    html = decode_file(html, max_size)
    beginning = html[:50].lower()
    check_flag = is_dubious_html(beginning)
    html = _repair_faulty_html(html, beginning)
    fallback_parse = False
    try:
        tree = fromstring(html, parser=_PARSER)
    except ValueError:  # "Unicode strings with encoding declaration are not supported."
        tree = _fromstring_bytes(html)
        fallback_parse = True
    except Exception:  # noqa: BLE001, S110 - as trafilatura: logged there, no tree
        pass
    if (tree is None or len(tree) < 1) and not fallback_parse:
        tree = _fromstring_bytes(html)
    if tree is not None and check_flag is True and len(tree) < 2:
        tree = None
    return tree


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


def _python_prunes(*names: str) -> list[_KnownPrune] | None:
    prunes = [prune for name in names for prune in _KNOWN_PRUNES[name]]
    return prunes if all(prune.ok for prune in prunes) else None


def _compare_extraction(cleaned_tree: Callable[[], Any], raw_tree: Any, body: Any, text: str, options: Extractor,
                        overall: list[_KnownPrune] | None) -> tuple[Any, str]:
    """``external.compare_extraction`` for focus "precision", line by line, with the precision prune of
    ``raw_tree`` by :func:`_prune_known` (the same elements removed) unless ``overall`` is None;
    ``cleaned_tree()`` returns justext's input, asked only if justext is tried."""
    len_text = len(text)
    if overall is None:
        raw_tree = prune_unwanted_nodes(raw_tree, xpaths.OVERALL_DISCARD_XPATH)
    else:
        raw_tree = _prune_known(raw_tree, overall)
    temppost_algo = external.try_readability(raw_tree)
    algo_text = trim(tostring(temppost_algo, method="text", encoding="utf-8").decode("utf-8"))
    len_algo = len(algo_text)
    use_readability = external._prefer_readability(body, temppost_algo, algo_text, len_text, len_algo, options)
    if use_readability:
        body, text, len_text = temppost_algo, algo_text, len_algo
    unclean = bool(body.xpath(external.SANITIZED_XPATH))
    if unclean or len_text < options.min_extracted_size:
        body2, text2 = external.justext_rescue(cleaned_tree(), options)
        len_text2 = len(text2)
        if unclean:
            accept = len_text <= external.JUSTEXT_OVERRIDE_RATIO * len_text2 and (
                len_text2 > len_text or not options.images or body.find(".//graphic") is None
            )
        else:
            accept = len_text < len_text2
        if text2 and accept:
            body, text, len_text = body2, text2, len_text2
            use_readability = False
    if use_readability:
        body, text = external.sanitize_tree(body, options)
    return body, text


def _options(url: str | None, include_tables: bool) -> Extractor:
    """As trafilatura.core._internal_extraction builds it for extract(..., **FIXED_OPTIONS, favor_precision=True):
    built once per table setting (its config lookups and date parameters cost ~0.5 ms), copied per page with the
    page's URL set as ``Extractor.__init__`` sets it."""
    template = _TEMPLATES.get(include_tables)
    if template is None:
        template = _TEMPLATES[include_tables] = Extractor(
            config=DEFAULT_CONFIG, output_format="txt", fast=False, precision=True, recall=False, comments=False,
            formatting=None, links=False, images=False, tables=include_tables, dedup=False, lang=None, url=None,
            with_metadata=False, only_with_metadata=False, tei_validation=False, author_blacklist=None,
            url_blacklist=None, date_params=None)
    options = copy(template)
    options.url = url
    options.source = url and url.encode("utf-8", "replace").decode("utf-8")
    return options


_TEMPLATES: dict[bool, Extractor] = {}


def extract_text(html: str, url: str | None, options: dict[str, Any],
                 routes: Collection[str] = DEFAULT_ROUTES) -> str | None:
    """The text ``plain_extract(html, url, options)`` returns; raises what it raises."""
    if not supported(options) or not routes:
        return plain_extract(html, url, options)
    opts = _options(url, options.get("include_tables", True))
    if opts.max_tree_size:  # a settings.cfg limit: not followed here
        return plain_extract(html, url, options)
    prefilter = "prefilter" in routes
    raw = comments = overall = None
    if "python_prunes" in routes:
        raw = _python_prunes("raw", "comments_and_lists")
        comments = _python_prunes("comments")
        overall = _python_prunes("overall")
    try:  # bare_extraction: these two mean "no text"
        if "parse" in routes and isinstance(html, (str, bytes)):
            tree = _load_html(html, opts.max_file_size)
        else:
            tree = load_html(html, opts.max_file_size)
        if tree is None:
            raise ValueError("empty HTML tree")
        is_forum = _forum_thread_page(tree)
        if "trim" in routes:
            _trim(tree)
        # trafilatura_sequence with comments off, precision focus
        if raw is not None:
            tree = _prune_known(tree, raw)
        else:
            tree = _prune(tree, xpaths.RAW_TREE_PRUNE_XPATH, prefilter)
            tree = _prune(tree, xpaths.REMOVE_COMMENTS_AND_LISTS_XPATH, prefilter)
        if "copies" in routes:
            # _prepare_tree without its copy of the cleaned tree (justext's input): made again, from the raw
            # tree as it is here, only where justext is tried (the raw tree is left alone until then)
            cleaned = convert_tags(tree_cleaning(copy(tree), opts), opts, url)
            backup = None
        else:
            cleaned, backup = _prepare_tree(tree, opts, url)
        if not is_forum:
            if comments is not None:
                cleaned = _prune_known(cleaned, comments)
            else:
                cleaned = _prune(cleaned, xpaths.REMOVE_COMMENTS_XPATH, prefilter)
        with _main_pass(overall, _MAIN_PASS_LISTS if "main_prunes" in routes else [],
                        _MAIN_PASS_BODIES if "body_first" in routes else None):
            body, text = extract_content(cleaned, opts)
        if "skip_fallback" not in routes or not _fallback_unchanged(tree, body, text, opts):
            if overall is None and backup is not None:
                body, text = external.compare_extraction(backup, copy(tree), body, text, opts)
            else:
                def justext_input() -> Any:
                    return tree_cleaning(copy(tree), opts) if backup is None else backup

                body, text = _compare_extraction(justext_input, copy(tree), body, text, opts, overall)
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
