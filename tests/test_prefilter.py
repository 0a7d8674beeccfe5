"""The prefilter stage: pages skipped before extraction, only when cheap evidence rules out every kept language."""

from __future__ import annotations

import json

import pytest
from conftest import shared
from helpers import read_output
from warcs import cc_metadata, html_page, http_response, warc_record, write_warc

from curate.config import EU_LANGUAGES, load_pipeline
from curate.io import InputShard
from curate.pipeline import run
from curate.resources import resolve_pipeline
from curate.schema import work_table
from curate.stages.prefilter import (
    CJK,
    CYRILLIC,
    LATIN,
    PrefilterConfig,
    PrefilterStage,
    cld2_languages,
    possible_languages,
    script_counts,
    visible_text,
)
from curate.stages.read import read_shard

GERMAN = ("Die Stadtverwaltung hat am Montag den neuen Haushaltsplan für das kommende Jahr vorgestellt. Er sieht "
          "höhere Ausgaben für Schulen und den öffentlichen Nahverkehr vor, während die Verwaltung selbst sparen soll.")
CHINESE = "市政府星期一公布了明年的新预算计划。该计划为学校和公共交通提供了更多的支出，而行政部门本身则应节省开支。" * 3
RUSSIAN = ("Городская администрация в понедельник представила новый бюджет на следующий год. Он предусматривает "
           "более высокие расходы на школы и общественный транспорт, а сама администрация должна экономить.")
BULGARIAN = ("Общинската администрация представи в понеделник новия бюджет за следващата година. Той предвижда "
             "по-високи разходи за училищата и обществения транспорт, а самата администрация трябва да пести.")
GREEK = ("Η δημοτική διοίκηση παρουσίασε τη Δευτέρα τον νέο προϋπολογισμό για το επόμενο έτος. Προβλέπει "
         "υψηλότερες δαπάνες για τα σχολεία και τις δημόσιες συγκοινωνίες, ενώ η ίδια η διοίκηση πρέπει να κάνει "
         "οικονομία.")
TURKISH = ("Belediye yönetimi pazartesi günü gelecek yılın yeni bütçesini açıkladı. Bütçe okullar ve toplu taşıma "
           "için daha yüksek harcamalar öngörüyor, yönetimin kendisi ise tasarruf etmeli.")


def page(text: str, lang: str | None = None, repeat: int = 2, head: str = "") -> bytes:
    attr = f' lang="{lang}"' if lang else ""
    body = "".join(f"<p>{text}</p>" for _ in range(repeat))
    script = "<script>var menu = ['Home', 'About', 'Contact']; function track() { return 'analytics'; }</script>"
    return f"<!doctype html><html{attr}><head>{head}{script}<title>t</title></head><body>{body}</body></html>".encode()


def decide(html: bytes | None, *, charset: str | None = None, html_lang: str | None = None,
           cc: str | None = None, languages: list[str] | None = None, **config: object) -> str | None:
    stage = PrefilterStage(PrefilterConfig(**config), languages or list(EU_LANGUAGES))
    return stage.decide(html, charset, html_lang, cc)


def cld2(*codes: str, reliable: bool = True) -> str:
    return json.dumps({"reliable": reliable, "text-bytes": 4000,
                       "languages": [{"code": c, "text-covered": 0.9, "score": 900.0} for c in codes]})


def _encoded_page(text: str, encoding: str, lang: str | None = None, meta: bool = True) -> bytes:
    head = f'<meta charset="{encoding}">' if meta else ""
    return page(text, lang, repeat=4, head=head).decode().encode(encoding)


FAST_PATH_PAGES = [  # (html, charset, html_lang)
    (page(GERMAN), None, None),
    (page(GERMAN, "de"), None, "de"),
    (page(GERMAN, "ru"), None, "ru"),  # Latin text: ru cannot be corroborated
    (page(TURKISH, "tr"), None, "tr"),
    (page(TURKISH, "tr"), "windows-1252", "tr"),
    (page(RUSSIAN, "ru", repeat=4), None, "ru"),
    (page(BULGARIAN, "bg", repeat=4), "utf-8", "bg"),
    (page(GREEK, repeat=4), None, None),
    (page(CHINESE, "zh"), None, "zh"),
    (_encoded_page(RUSSIAN, "windows-1251", "ru"), None, "ru"),
    (_encoded_page(RUSSIAN, "koi8-r"), "koi8-r", None),
    (_encoded_page(CHINESE, "gb18030", "zh"), "gb18030", "zh"),
    (_encoded_page("東京は日本の首都であり、最大の都市です。" * 12, "iso-2022-jp"), "iso-2022-jp", None),  # 7-bit
    (_encoded_page(CHINESE, "utf-16", meta=False), "utf-16", None),
    (page(GERMAN + " " + RUSSIAN[:60]), None, None),
    (page(RUSSIAN[:90], repeat=1) + page(GERMAN, repeat=3), None, "ru"),
    (b"<html><body>" + "été ".encode() * 400 + b"</body></html>", "latin-1", None),
]


@pytest.mark.parametrize("languages", [list(EU_LANGUAGES), ["bg"], ["el", "de"], ["en"]],
                         ids=["eu", "bg-only", "el-de", "en-only"])
@pytest.mark.parametrize("config", [{}, {"latin_html_lang": True}, {"min_letters": 50}, {"html_lang": False}],
                         ids=["default", "latin-html-lang", "few-letters", "no-html-lang"])
def test_fast_path_decides_as_counting_every_letter(languages, config):
    """The byte-count shortcut (most European pages) never changes a decision, for any kept set or encoding."""
    fast = PrefilterStage(PrefilterConfig(**config), languages)
    full = PrefilterStage(PrefilterConfig(**config), languages)
    full._fast_path_bound = -1.0  # always count the letters
    for html, charset, lang in FAST_PATH_PAGES:
        assert fast.decide(html, charset, lang, None) == full.decide(html, charset, lang, None), (charset, lang)


def test_fast_path_skips_the_letter_count_on_latin_pages(monkeypatch):
    import curate.stages.prefilter as prefilter

    def no_count(*_args: object) -> None:
        raise AssertionError("visible text decoded for a Latin page")

    monkeypatch.setattr(prefilter, "visible_text", no_count)
    assert decide(page(GERMAN, "de")) is None
    assert decide(page(TURKISH, "tr"), charset="windows-1252") is None
    with pytest.raises(AssertionError):  # a Cyrillic page still gets its letters counted
        decide(page(RUSSIAN, "ru", repeat=4), html_lang="ru")


def test_possible_languages_add_confusable_neighbours():
    assert {"hr", "bs", "sr"} <= possible_languages(["hr"])
    assert {"da", "nb", "nn", "no"} <= possible_languages(["da"])
    assert possible_languages(["de", "fr"]) >= {"de", "fr", "lb", "nl"}  # lb/de/nl cluster
    assert "ru" not in possible_languages(list(EU_LANGUAGES))


def test_script_counts_and_visible_text_ignore_markup_and_scripts():
    text = visible_text(page(CHINESE), None, 65536)
    assert "analytics" not in text and "doctype" not in text
    counts = script_counts(text)
    assert counts[CJK] > 100 and counts[LATIN] <= 1  # the <title> "t"
    assert script_counts("Ελλάδα мир abc 1234 !?")[[LATIN, CYRILLIC]].tolist() == [3, 3]


@pytest.mark.parametrize(("value", "expected"), [
    (cld2("zh"), (True, ["zh"])),
    (cld2("zh-Hant", "en", reliable=False), (False, ["zh", "en"])),
    ("{not json", None),
    ("", None),
    (None, None),
])
def test_cld2_annotation_is_parsed(value, expected):
    assert cld2_languages(value) == expected


def test_common_crawl_annotation_skips_only_reliable_results_without_a_possible_language():
    assert decide(page(GERMAN), cc=cld2("zh")) == "cc_language"
    assert decide(page(GERMAN), cc=cld2("zh", reliable=False)) is None
    assert decide(page(GERMAN), cc=cld2("zh", "de")) is None
    assert decide(page(GERMAN), cc=cld2("bs")) is None  # Bosnian may be relabelled Croatian
    assert decide(page(GERMAN), cc=cld2("zh"), cc_language=False) is None
    assert decide(page(GERMAN), cc=cld2("fr"), languages=["de"]) == "cc_language"


def test_script_rule_skips_pages_in_scripts_no_kept_language_uses():
    assert decide(page(CHINESE)) == "script"
    assert decide(page(GERMAN)) is None
    assert decide(page(GREEK)) is None  # el is kept
    assert decide(page(BULGARIAN)) is None  # bg is kept
    assert decide(page(GREEK), languages=["de", "fr"]) == "script"
    assert decide(page(CHINESE, repeat=1)[:200]) is None  # too few letters to decide
    assert decide(page(CHINESE), script=False) is None


def test_html_lang_counts_only_when_the_text_agrees():
    assert decide(page(RUSSIAN, "ru"), html_lang="ru") == "html_lang"
    assert decide(page(BULGARIAN, "bg"), html_lang="bg") is None
    assert decide(page(GERMAN, "ru"), html_lang="ru") is None  # a wrong attribute on a German page
    assert decide(page(GERMAN, "en"), html_lang="en") is None
    assert decide(page(TURKISH, "tr"), html_lang="tr") is None  # Latin script cannot corroborate tr ...
    assert decide(page(TURKISH, "tr"), html_lang="tr", latin_html_lang=True) == "html_lang"  # ... unless trusted
    assert decide(page(RUSSIAN, "sr"), html_lang="sr") is None  # Serbian may be relabelled Croatian
    assert decide(page(RUSSIAN), html_lang=None) is None


def test_charset_counts_only_when_the_text_agrees():
    english = "The city council presented the new budget for next year on Monday."
    mixed = page(CHINESE[:60] + " " + english, repeat=3).decode().encode("gb2312")  # 55 % Chinese letters
    assert decide(mixed, charset="gb2312") == "charset"
    no_charset_rule = PrefilterStage(PrefilterConfig(charset=False), list(EU_LANGUAGES))
    assert no_charset_rule.decide(mixed, "gb2312", None, None) is None
    assert decide(mixed) is None  # undeclared: decoded as UTF-8, no CJK letters seen
    assert decide(page(GERMAN), charset="shift_jis") is None


def test_bad_input_is_a_decision_never_an_exception():
    for html in (None, b"", b"\xff\xfe\x00garbage", b"<" * 10_000, page(CHINESE) * 50):
        assert decide(html) in (None, "script")
    assert decide(page(GERMAN), charset="no-such-charset") is None
    assert decide(page(GERMAN), cc='{"reliable": true, "languages": [{"nocode": 1}]}') is None


def test_stage_marks_rows_dropped_under_its_own_name():
    table = work_table({"id": ["a", "b", "c"], "html": [page(GERMAN), page(CHINESE), page(RUSSIAN, "ru")],
                        "html_lang": [None, None, "ru"], "cc_languages": [None, None, None]})
    out = PrefilterStage(PrefilterConfig(), list(EU_LANGUAGES))(table)
    assert out.column("drop_stage").to_pylist() == [None, "prefilter", "prefilter"]
    assert out.column("drop_reason").to_pylist() == [None, "script", "html_lang"]


def _cc_warc(path, pages):
    records = []
    for url, body, annotation in pages:
        records.append(warc_record(http_response(body), url))
        records.append(cc_metadata(url, annotation))
    return write_warc(path, records)


def test_reader_attaches_common_crawl_languages_to_the_response_even_across_batch_boundaries(tmp_path):
    pages = [(f"https://example{i}.de/", html_page(f"p{i}", [GERMAN]), cld2("de" if i % 2 else "zh"))
             for i in range(7)]
    warc = _cc_warc(tmp_path / "cc.warc.gz", pages)
    for batch_size in (1, 2, 3, 100):
        rows = [r for b in read_shard(InputShard(str(warc), "warc"), batch_size) for r in b.to_pylist()]
        responses = [r for r in rows if r["drop_reason"] is None]
        assert [json.loads(r["cc_languages"])["languages"][0]["code"] for r in responses] == \
            ["zh", "de", "zh", "de", "zh", "de", "zh"], batch_size
        assert sum(r["drop_reason"] == "metadata_record" for r in rows) == 7


def test_reader_ignores_metadata_of_another_record(tmp_path):
    body = html_page("p", [GERMAN])
    records = [warc_record(http_response(body), "https://a.de/"), cc_metadata("https://b.de/", cld2("zh"))]
    warc = write_warc(tmp_path / "x.warc.gz", records)
    rows = [r for b in read_shard(InputShard(str(warc), "warc"), 10) for r in b.to_pylist()]
    assert rows[0]["cc_languages"] is None


def test_pipeline_counts_prefilter_drops_and_reconciles(tmp_path):
    pages = [("https://news.example.de/a", html_page("Haushalt", [GERMAN] * 3, lang="de"), cld2("de")),
             ("https://news.example.cn/b", html_page("预算", [CHINESE] * 3, lang="zh"), cld2("zh")),
             ("https://news.example.ru/c", html_page("Бюджет", [RUSSIAN] * 3, lang="ru"), "")]
    warc = _cc_warc(tmp_path / "cc.warc.gz", pages)
    config = load_pipeline(resolve_pipeline("sample"), {"input.paths": [str(warc)], "output.dir": str(tmp_path / "o"),
                                                        "runner": "local"})
    result = run(config)
    assert result.stats["drops"]["prefilter"] == {"cc_language": 1, "html_lang": 1}
    table, stats = read_output(tmp_path / "o")
    assert stats["records_read"] == stats["documents_written"] + stats["dropped"]


def test_real_common_crawl_excerpt_skips_annotated_non_eu_pages(tmp_path):
    warc = shared("warc", "resiliparse__warcfile.warc.gz")
    rows = [r for b in read_shard(InputShard(str(warc), "warc"), 4) for r in b.to_pylist() if r["drop_reason"] is None]
    assert rows and all(r["cc_languages"] for r in rows)  # every CC response has its CLD2 annotation
    table = work_table({k: [r[k] for r in rows] for k in ("id", "html", "charset", "html_lang", "cc_languages")})
    out = PrefilterStage(PrefilterConfig(), list(EU_LANGUAGES))(table)
    skipped = [r for r in out.column("drop_reason").to_pylist() if r]
    assert len(skipped) >= len(rows) // 2  # the excerpt is mostly Chinese and Russian pages
