"""The extraction fast path (issue 20): the same text as plain trafilatura, the same failure accounting."""

from __future__ import annotations

import sys
from copy import copy
from pathlib import Path

import pytest
import trafilatura
from warcs import html_page

from curate.config import ExtractConfig
from curate.io import InputShard
from curate.schema import work_table
from curate.stages import _extract_fast as fast
from curate.stages._extract_worker import decode_html
from curate.stages.extract import ExtractStage
from curate.stages.read import read_shard

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_WARC = ROOT / "pipelines" / "sample" / "sample.warc.gz"
OPTIONS = {"favor_precision": True, "include_tables": True}
ARTICLE = ("Die Stadtbibliothek öffnet im Frühjahr einen neuen Lesesaal mit zweihundert Plätzen, einer Ecke für "
           "Kinder und langen Öffnungszeiten am Wochenende, wie die Verwaltung am Dienstag mitteilte.")


def sample_pages() -> list[tuple[str, str | None]]:
    pages = []
    for batch in read_shard(InputShard(str(SAMPLE_WARC), "warc"), 64):
        for row in batch.select(["html", "charset", "url"]).to_pylist():
            if row["html"] is not None:
                pages.append((decode_html(row["html"], row["charset"])[0], row["url"]))
    return pages


def shared_pages(step: int) -> list[tuple[str, str | None]]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from build_extraction_warc import declared_charset, iter_pages, resolve_data_dir

    data_dir = resolve_data_dir()
    if not (data_dir / "extraction").is_dir():
        pytest.skip(f"shared extraction pages not found under {data_dir} (set CURATE_SHARED_DATA)")
    pages = list(iter_pages(data_dir))[::step]
    return [(decode_html(p.html, declared_charset(p.html))[0], p.url) for p in pages]


def test_fast_path_is_verified_for_the_installed_trafilatura():
    # a new trafilatura goes through the plain path until checked: this test is the reminder
    assert trafilatura.__version__ in fast.VERIFIED_VERSIONS
    assert fast.supported(OPTIONS)
    assert len(fast._PREFILTERS) == 3 and fast._CLASS_TOKENS is not None  # the expressions read as analysed
    assert all(prune.ok for prunes in fast._KNOWN_PRUNES.values() for prune in prunes)
    assert [known is not None and known.ok for known in fast._KNOWN_BODIES] == [True, False, True, True, False]
    assert fast._MAIN_PASS_BODIES is not None
    assert all(isinstance(expression, fast._Lazy) for _, mine in fast._MAIN_PASS_LISTS for expression in mine[-1:])


@pytest.mark.parametrize("routes", [fast.DEFAULT_ROUTES, fast.ALL_ROUTES])
def test_same_text_as_trafilatura_on_the_sample_pages(routes):
    pages = sample_pages()
    assert len(pages) > 20
    for html, url in pages:
        assert fast.extract_text(html, url, OPTIONS, routes) == fast.plain_extract(html, url, OPTIONS), url


def test_same_text_as_trafilatura_on_shared_pages():
    pages = shared_pages(step=9)  # 71 of the 637 pages, the odd and even halves alike
    different = [url for html, url in pages
                 if fast.extract_text(html, url, OPTIONS, fast.ALL_ROUTES) != fast.plain_extract(html, url, OPTIONS)]
    assert different == []


def test_skipped_fallback_would_not_have_changed_the_text():
    """Where the fast path leaves out compare_extraction, running it returns the main extraction unchanged,
    and the check does leave it out on many real pages."""
    from trafilatura.core import _prepare_tree
    from trafilatura.external import compare_extraction
    from trafilatura.htmlprocessing import prune_unwanted_nodes
    from trafilatura.main_extractor import extract_content
    from trafilatura.utils import load_html
    from trafilatura.xpaths import RAW_TREE_PRUNE_XPATH, REMOVE_COMMENTS_AND_LISTS_XPATH, REMOVE_COMMENTS_XPATH

    skipped = 0
    pages = shared_pages(step=7)
    for html, url in pages:
        opts = fast._options(url, True)
        tree = load_html(html)
        tree = prune_unwanted_nodes(prune_unwanted_nodes(tree, RAW_TREE_PRUNE_XPATH), REMOVE_COMMENTS_AND_LISTS_XPATH)
        cleaned, backup = _prepare_tree(tree, opts, url)
        body, text = extract_content(prune_unwanted_nodes(cleaned, REMOVE_COMMENTS_XPATH), opts)
        if fast._fallback_unchanged(tree, body, text, opts):
            skipped += 1
            new_body, new_text = compare_extraction(backup, copy(tree), body, text, opts)
            assert new_body is body and new_text == text, url
    assert skipped > len(pages) // 3


def test_readability_bound_counts_video_frames_and_leaves_out_scripts():
    page = html_page("Titel", [ARTICLE] * 3).replace(
        b"</body>", b"<script>var x = '" + b"y" * 5000 + b"';</script><iframe src='https://v.example/embed'></iframe>"
        b"<div class='sidebar'>" + b"Werbung " * 300 + b"</div></body>")
    tree = trafilatura.utils.load_html(page.decode())
    plain_length = len(trafilatura.utils.trim(tree.text_content()))
    from lxml.etree import XPath

    dropped = XPath(".//script | .//style | .//fencedframe")(tree)
    assert [e for e in tree.iterdescendants(fast._READABILITY_DROPS, "iframe") if e.tag != "iframe"] == dropped
    first, second = fast._readability_bounds(tree)
    assert first < plain_length - 5000 + 5  # the script's text is not readability's
    assert second <= first - len("Werbung") * 300 + 5  # the sidebar goes in the precision prune


def test_trim_keeps_main_text_and_json_ld():
    body = "".join(f"<p>{ARTICLE} {i}</p><script>document.write('x')</script>" for i in range(4))
    page = (f"<html><head><style>p {{color: red}}</style><script type='application/ld+json'>"
            f'{{"@type": "DiscussionForumPosting"}}</script></head><body><article>{body}</article></body></html>')
    tree = trafilatura.utils.load_html(page)
    fast._trim(tree)
    assert [s.get("type") for s in tree.iter("script")] == ["application/ld+json"]
    assert tree.find(".//style") is None
    assert sum(ARTICLE in p.text for p in tree.iter("p")) == 4
    assert fast.extract_text(page, None, OPTIONS, fast.ALL_ROUTES) == fast.plain_extract(page, None, OPTIONS)


def test_prefilter_still_prunes_comment_sections():
    comments = "".join(f"<p>Leserkommentar Nummer {i}: {ARTICLE}</p>" for i in range(5))
    page = (f"<html><body><article><h1>Titel</h1><p>{ARTICLE}</p><p>{ARTICLE}</p></article>"
            f"<div id='comments'>{comments}</div><div class='infinite-scroll'><p>{ARTICLE} Weiter.</p></div>"
            "</body></html>")
    text = fast.extract_text(page, None, OPTIONS, {"prefilter"})
    assert text == fast.plain_extract(page, None, OPTIONS)
    assert "Leserkommentar" not in text


@pytest.mark.parametrize("options", [{"favor_precision": False, "include_tables": True},
                                     {"favor_precision": True, "include_tables": False}])
def test_other_options_give_trafilaturas_text(options):
    for html, url in sample_pages()[:12]:
        assert fast.extract_text(html, url, options) == fast.plain_extract(html, url, options), url


def test_no_text_and_errors_as_plain_trafilatura():
    for page in ("", "not html at all", "<html><body><p>kurz</p></body></html>", "<html>" + "<div>" * 50 + "</html>"):
        assert fast.extract_text(page, None, OPTIONS) == fast.plain_extract(page, None, OPTIONS)


def test_stage_gives_the_same_text_with_and_without_the_fast_path():
    pages = sample_pages()[:16]
    batch = work_table({"id": [str(i) for i in range(len(pages))], "html": [h.encode() for h, _ in pages],
                        "charset": ["utf-8"] * len(pages), "url": [u for _, u in pages]})
    results = {}
    for fast_path in (True, False):
        stage = ExtractStage(ExtractConfig(fast_path=fast_path))
        try:
            results[fast_path] = stage(batch).select(["text", "drop_reason"]).to_pylist()
        finally:
            stage.close()
    assert results[True] == results[False]
    assert sum(row["text"] is not None for row in results[True]) > 8


# attribute combinations the Python prunes must read as lxml does: both orders of id/class, missing and empty
# attributes, the first of two attributes deciding (re:test(@id|@class), starts-with), ol/ul, an h1 below
TRICKY_BLOCKS = [
    "<div class='cookie-note' id='main'>{t}</div>",
    "<div id='main' class='cookie-note'>{t}</div>",
    "<div id='cookie' class=''>{t}</div>",
    "<section class='' id=''>{t}</section>",
    "<span class='ad-box'>{t}</span>",
    "<div id='reply-1' class='x'>{t}</div>",
    "<div class='x' id='reply-1'>{t}</div>",
    "<p style='display:none'>{t}</p>",
    "<div id='x' style='visibility: hidden'>{t}</div>",
    "<div style='hidden' id='x'>{t}</div>",
    "<div role='Navigation'>{t}</div>",
    "<div aria-hidden='true'>{t}</div>",
    "<div data-lp-replacement-content>{t}</div>",
    "<ul id='comments'><li>{t}</li></ul>",
    "<ol class='commentlist'><li>{t}</li></ol>",
    "<ul id='comol'><li>{t}</li></ul>",
    "<div class='Commentary'>{t}</div>",
    "<details class='comment-box'>{t}</details>",
    "<div id='disqus_thread'>{t}</div>",
    "<aside class='infinite-scroll'><h1>Titel</h1>{t}</aside>",
    "<div class='infinite-scroll'>{t}</div>",
    "<div id='mvp-post-add-box'><h1>Titel</h1>{t}</div>",
    "<section class='elementor-share-buttons'>{t}</section>",
    "<div class='widget'><div class='comments-title'>{t}</div><p class='meta'>{t}</p></div>",
    "<div class='post-comments'><div id='comment-2' class='comment'>{t}</div></div>",
    # the main pass's other prunes: precision (both orders of a disagreeing id/class), teaser, caption
    "<div id='x' class='bottom-bar'>{t}</div>",
    "<div class='link' id='x'>{t}</div>",
    "<section id='page-bottom'>{t}</section>",
    "<p style='border: 1px solid'>{t}</p>",
    "<span id='Teaser-1'>{t}</span>",
    "<div class='img-caption'>{t}</div>",
    # selected elements inside a selected one (left untested), one of them ambiguous
    "<div class='sidebar'><div id='reply-2' class='x'>{t}</div><span class='ad-box'><p>{t}</p></span></div>",
]

# candidate bodies (BODY_XPATH): each kind of test, cases, an element of another tag; nested in turn
BODY_BLOCKS = [
    "<div class='post'>{t}</div>", "<section itemprop='articleBody'>{t}</section>",
    "<main id='articleContent'>{t}</main>",
    "<div class='entry-content'>{t}</div>", "<article id='article-body'>{t}</article>", "<div role='article'>{t}</div>",
    "<div class='FullText'>{t}</div>", "<div id='primary'>{t}</div>", "<section class='article x'>{t}</section>",
    "<div class='Main-Content'>{t}</div>", "<div id='MAIN-CONTENT'>{t}</div>", "<div class='Page-Content'>{t}</div>",
    "<div id='content'>{t}</div>", "<div class='content-body'>{t}</div>", "<div class=''>{t}</div>", "<div>{t}</div>",
    "<p class='post'>{t}</p>", "<div class='cell' id='x'>{t}</div>",
]


def tricky_page(order: int) -> str:
    blocks = TRICKY_BLOCKS[order:] + TRICKY_BLOCKS[:order]
    body = "".join(block.format(t=f"<p>{ARTICLE} {i}</p>") + f"Schwanz {i}" for i, block in enumerate(blocks))
    return f"<html><body><article><h1>Titel</h1><p>{ARTICLE}</p>{body}</article></body></html>"


def assert_same_prunes(tree):
    """Each group of Python prunes deletes what trafilatura's XPaths delete, on copies of ``tree``."""
    from lxml.etree import tostring
    from trafilatura.htmlprocessing import prune_unwanted_nodes

    for name, prunes in fast._KNOWN_PRUNES.items():
        plain = prune_unwanted_nodes(copy(tree), [prune.original for prune in prunes])
        python = fast._prune_known(copy(tree), prunes)
        assert tostring(python) == tostring(plain), name


def test_python_prunes_delete_what_the_xpaths_delete():
    from trafilatura.utils import load_html

    for order in range(0, len(TRICKY_BLOCKS), 3):
        page = tricky_page(order)
        assert_same_prunes(load_html(page))
        assert fast.extract_text(page, None, OPTIONS) == fast.plain_extract(page, None, OPTIONS)
    for html, _ in shared_pages(step=11):
        assert_same_prunes(load_html(html))


def test_python_prune_asks_lxml_when_two_attributes_disagree():
    from trafilatura.utils import load_html

    tree = load_html(tricky_page(0))
    element = tree.find(".//div[@id='main']")
    overall = fast._KNOWN_PRUNES["overall"][0]
    with pytest.raises(fast._Ambiguous):
        overall.test(element, element.tag, element.get)
    assert_same_prunes(tree)


def test_parse_parse_is_trafilaturas_parse():
    from lxml.etree import tostring
    from trafilatura.utils import load_html

    pages = [html for html, _ in sample_pages()[:10]] + [
        "", "not html at all", "<html><body><p>kurz</p></body></html>", "<html/><body><p>x</p></body>",
        '<?xml version="1.0" encoding="utf-8"?><html><body><p>mit Deklaration</p></body></html>',
        b"<html><body><p>Bytes \xc3\xa4</p></body></html>"]
    for page in pages:
        mine, theirs = fast._load_html(page, None), load_html(page)
        assert (mine is None) == (theirs is None), page[:40]
        if mine is not None:
            assert tostring(mine) == tostring(theirs)
            assert all(type(elem) is type(mine) for elem in mine.iter("form", "input", "select", "textarea"))
    assert fast.extract_text(pages[-2], None, OPTIONS) == fast.plain_extract(pages[-2], None, OPTIONS)


def test_repair_faulty_html_as_trafilatura():
    from trafilatura.utils import repair_faulty_html

    for page in ("<!DOCTYPE html/>\n<html><body><p>x</p></body></html>", "<html/>\n<body><p>x</p></body>",
                 "<!DOCTYPE html/><html><body><p>ohne Zeilenumbruch</p></body></html>",
                 "<!doctype html>\n<html><body><p>x</p></body></html>", "<!DOCTYPE html>",
                 "<html><body><p>a\x00b\x1f\ufffe c</p></body></html>", "<html><body><p>\x0c</p></body></html>",
                 "<html><body><p>sauber</p></body></html>"):
        assert fast._repair_faulty_html(page, page[:50].lower()) == repair_faulty_html(page, page[:50].lower())


def test_options_copied_from_a_template_equal_trafilaturas():
    from trafilatura.settings import DEFAULT_CONFIG, Extractor

    for url, tables in (("https://beispiel.de/seite-ä", True), (None, False), ("https://x.eu/\udcff", True)):
        mine = fast._options(url, tables)
        theirs = Extractor(config=DEFAULT_CONFIG, output_format="txt", fast=False, precision=True, recall=False,
                           comments=False, formatting=None, links=False, images=False, tables=tables, dedup=False,
                           lang=None, url=url, with_metadata=False, only_with_metadata=False, tei_validation=False,
                           author_blacklist=None, url_blacklist=None, date_params=None)
        for name in (n for cls in type(theirs).__mro__ for n in getattr(cls, "__slots__", ())):
            assert getattr(mine, name) == getattr(theirs, name), name
    assert fast._options("https://a.eu/", True).url == "https://a.eu/"  # the template itself is left alone
    assert fast._TEMPLATES[True].url is None


def test_main_pass_precision_prune_selected_in_python():
    """extract_content's precision prune (OVERALL_DISCARD_XPATH, with trafilatura's guard against removing too
    much) is given the Python selection only during the fast path's call; plain trafilatura is untouched."""
    from trafilatura import main_extractor
    from trafilatura.htmlprocessing import prune_unwanted_nodes

    calls = []
    original = fast._select_known

    def counting(tree, prunes):
        calls.append(len(prunes))
        return original(tree, prunes)

    pages = [tricky_page(order) for order in range(0, len(TRICKY_BLOCKS), 3)] + [
        # nearly all text in a newsletter box: the guard keeps it (the prune would remove more than 6/7)
        "<html><body><article><div class='newsletter'>" + ARTICLE * 3 + "</div><p>Kurz.</p></article></body></html>",
        "<html><body><article><p>" + ARTICLE + "</p><div class='newsletter'>Jetzt abonnieren und nichts "
        "verpassen!</div><p>" + ARTICLE + "</p></article></body></html>"]
    fast._select_known = counting
    try:
        for page in pages + [html for html, _ in shared_pages(step=13)]:
            assert fast.extract_text(page, None, OPTIONS) == fast.plain_extract(page, None, OPTIONS)
            assert main_extractor.prune_unwanted_nodes is prune_unwanted_nodes  # restored after each call
    finally:
        fast._select_known = original
    assert calls.count(len(fast._KNOWN_PRUNES["overall"])) >= len(pages)  # the main pass asked each page
    assert "abonnieren" not in fast.extract_text(pages[-1], None, OPTIONS)
    assert ARTICLE in fast.extract_text(pages[-2], None, OPTIONS)


def body_page(order: int, nested: int) -> str:
    blocks = BODY_BLOCKS[order:] + BODY_BLOCKS[:order]
    inner = f"<p>{ARTICLE}</p>"
    for block in blocks[:nested]:
        inner = block.format(t=inner + f"<p>{ARTICLE}</p>")
    return "<html><body>" + inner + "".join(b.format(t=f"<p>{ARTICLE}</p>") for b in blocks[nested:]) + "</body></html>"


def assert_same_bodies(tree):
    """Each candidate body the Python tests find is the first element trafilatura's expression selects."""
    for expression, known in zip(trafilatura.xpaths.BODY_XPATH, fast._KNOWN_BODIES, strict=True):
        if known is not None:
            assert fast._First(known)(tree) == expression(tree)[:1], expression.path[:60]


def test_first_bodies_are_the_ones_trafilatura_finds():
    """body_first: the first element of each BODY_XPATH expression that calls re:test, found by the Python
    tests, on synthetic pages (every test, nested in turn) and on raw and cleaned trees of real pages; the
    expressions are swapped in only during the fast path's call."""
    from trafilatura import main_extractor
    from trafilatura.core import _prepare_tree
    from trafilatura.utils import load_html

    pages = [body_page(order, nested) for order in range(len(BODY_BLOCKS)) for nested in (0, 3, len(BODY_BLOCKS))]
    for page in pages:
        assert_same_bodies(load_html(page))
    for page in pages[::4]:
        assert fast.extract_text(page, None, OPTIONS) == fast.plain_extract(page, None, OPTIONS)
        assert main_extractor.BODY_XPATH is trafilatura.xpaths.BODY_XPATH  # restored after each call
    for html, url in shared_pages(step=5):
        tree = load_html(html)
        assert_same_bodies(tree)
        cleaned, _ = _prepare_tree(tree, fast._options(url, True), url)
        assert_same_bodies(cleaned)


def test_main_pass_prunes_give_trafilaturas_lists_back():
    """main_prunes: during the call, trafilatura's prune_unwanted_nodes gets the Python selections for the
    image, teaser and precision prunes; after it, its own lists and function again."""
    from trafilatura import main_extractor
    from trafilatura.htmlprocessing import prune_unwanted_nodes

    seen = []
    original = fast._Lazy.__call__

    def counting(self, tree):
        seen.append(self.known.original)
        return original(self, tree)

    fast._Lazy.__call__ = counting
    try:
        for order in range(0, len(TRICKY_BLOCKS), 4):
            page = tricky_page(order)
            assert fast.extract_text(page, None, OPTIONS) == fast.plain_extract(page, None, OPTIONS)
            assert main_extractor.prune_unwanted_nodes is prune_unwanted_nodes
    finally:
        fast._Lazy.__call__ = original
    x = trafilatura.xpaths
    assert {id(e) for e in seen} == {id(x.DISCARD_IMAGE_ELEMENTS[0]), id(x.TEASER_DISCARD_XPATH[0]),
                                     id(x.PRECISION_DISCARD_XPATH[1])}


def test_justext_input_made_again_equals_the_copy_trafilatura_keeps():
    """copies: the cleaned tree made again from the raw tree after the main pass is _prepare_tree's backup."""
    from lxml.etree import tostring
    from trafilatura.core import _prepare_tree
    from trafilatura.htmlprocessing import tree_cleaning
    from trafilatura.main_extractor import extract_content

    for html, url in shared_pages(step=17) + sample_pages()[:6]:
        opts = fast._options(url, True)
        tree = fast._load_html(html, opts.max_file_size)
        cleaned, backup = _prepare_tree(tree, opts, url)
        body, text = extract_content(cleaned, opts)
        fast._fallback_unchanged(tree, body, text, opts)
        assert tostring(tree_cleaning(copy(tree), opts)) == tostring(backup), url
