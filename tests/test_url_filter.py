"""URL filter: domain and URL blocklists from files, subdomains, normalisation, counted drops, errors."""

from __future__ import annotations

import gzip
import pickle

import fsspec
import pytest

from curate.errors import ConfigError
from curate.resources import bundled_dir
from curate.schema import work_table
from curate.stages.url_filter import UrlFilterConfig, UrlFilterStage, normalise_url, parse_blocklist
from curate.stats import RunStats


def urls(*values: str | None, dropped: list[str | None] | None = None):
    n = len(values)
    return work_table({
        "id": [str(i) for i in range(n)],
        "url": list(values),
        "text": ["text"] * n,
        "drop_stage": dropped or [None] * n,
        "drop_reason": [d and "earlier" for d in (dropped or [None] * n)],
    })


def reasons(stage: UrlFilterStage, *values: str | None) -> list[str | None]:
    return stage(urls(*values)).column("drop_reason").to_pylist()


@pytest.fixture
def blocklist(tmp_path):
    path = tmp_path / "block.txt"
    path.write_text(
        "# spam domains\n"
        "spam.example   # trailing comment\n"
        "*.casino.test\n"
        "0.0.0.0 tracker.example\n"
        "Bücher.Example.\n"
        "\n"
        "https://www.news.example/articles/leaked-doc/#section\n"
        "news.example/search?q=x\n",
        encoding="utf-8",
    )
    return path


def test_default_list_ships_and_blocks_domains_subdomains_and_tlds():
    assert (bundled_dir("filters") / "url_blocklist.txt").is_file()
    stage = UrlFilterStage(UrlFilterConfig())
    assert reasons(
        stage,
        "https://www.pornhub.com/view?x=1",
        "http://a.b.xhamster.com/",
        "https://anything.xxx/page",
        "https://notpornhub.com/",
        "https://pornhub.com.example.org/",
        "https://de.wikipedia.org/wiki/Porn",
        None,
        "",
    ) == ["blocklisted_domain", "blocklisted_domain", "blocklisted_domain", None, None, None, None, None]


def test_custom_lists_domains_urls_comments_hosts_lines_and_idn(blocklist):
    stage = UrlFilterStage(UrlFilterConfig(blocklists=[str(blocklist)]))
    assert reasons(
        stage,
        "http://spam.example",
        "https://deep.sub.spam.example/x",
        "https://myspam.example/",  # a suffix that is not a parent domain
        "https://roulette.casino.test/",
        "https://casino.test/",  # "*.casino.test" blocks the domain itself too
        "https://tracker.example/pixel.gif",
        "https://xn--bcher-kva.example/",
        "https://BÜCHER.example./buch",
        "http://news.example/articles/leaked-doc",  # scheme, www, trailing slash, fragment ignored
        "https://news.example:443/articles/leaked-doc/#top",
        "https://news.example/articles/other-doc",
        "https://news.example/search?q=x",
        "https://news.example/search?q=y",
        "https://0.0.0.0/",
    ) == [
        "blocklisted_domain", "blocklisted_domain", None, "blocklisted_domain", "blocklisted_domain",
        "blocklisted_domain", "blocklisted_domain", "blocklisted_domain", "blocklisted_url", "blocklisted_url",
        None, "blocklisted_url", None, None,
    ]  # fmt: skip


def test_drops_are_counted_and_earlier_drops_keep_their_reason(blocklist):
    stage = UrlFilterStage(UrlFilterConfig(blocklists=["default", str(blocklist)]))
    batch = urls("https://spam.example/a", "https://ok.example/", "https://xvideos.com/", "https://spam.example/b",
                 dropped=[None, None, None, "extract"])
    out = stage(batch)
    assert out.num_rows == 4
    rows = sorted(out.to_pylist(), key=lambda r: r["id"])
    assert [(r["drop_stage"], r["drop_reason"]) for r in rows] == [
        ("url_filter", "blocklisted_domain"), (None, None),
        ("url_filter", "blocklisted_domain"), ("extract", "earlier"),
    ]
    assert RunStats.from_table(out).to_dict()["drops"]["url_filter"] == {"blocklisted_domain": 2}


def test_missing_blocklist_is_an_error_at_construction_naming_the_file(tmp_path):
    missing = tmp_path / "nope" / "list.txt"
    with pytest.raises(ConfigError, match=f"blocklist file not found: {missing}"):
        UrlFilterStage(UrlFilterConfig(blocklists=["default", str(missing)]))
    # a disabled filter reads nothing and checks nothing
    stage = UrlFilterStage(UrlFilterConfig(enabled=False, blocklists=[str(missing)]))
    assert reasons(stage, "https://pornhub.com/") == [None]


def test_malformed_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("good.example\nthis is not one entry\n", encoding="utf-8")
    stage = UrlFilterStage(UrlFilterConfig(blocklists=[str(path)]))
    with pytest.raises(ConfigError, match=r"bad\.txt:2: expected one domain or URL"):
        stage(urls("https://good.example/"))
    with pytest.raises(ConfigError, match="not a domain"):
        parse_blocklist(["user@host"], "x.txt")


def test_fsspec_paths_and_compressed_lists(tmp_path):
    with fsspec.open("memory://lists/optout.txt", "wt") as fh:
        fh.write("optout.example\n")
    gz = tmp_path / "adult.txt.gz"
    gz.write_bytes(gzip.compress(b"adult.example\n"))
    stage = UrlFilterStage(UrlFilterConfig(blocklists=["memory://lists/optout.txt", str(gz)]))
    assert reasons(stage, "https://www.optout.example/", "http://adult.example/x", "https://fine.example/") == [
        "blocklisted_domain", "blocklisted_domain", None,
    ]


def test_stage_ships_config_not_the_loaded_lists(blocklist):
    stage = UrlFilterStage(UrlFilterConfig(blocklists=[str(blocklist)]))
    assert reasons(stage, "https://spam.example/") == ["blocklisted_domain"]
    clone = pickle.loads(pickle.dumps(stage))
    assert not hasattr(clone, "_blocklist")
    assert reasons(clone, "https://spam.example/") == ["blocklisted_domain"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://www.Example.com:443/a/b/?q=1#top", "example.com/a/b?q=1"),
        ("http://example.com", "example.com/"),
        ("example.com/x/", "example.com/x"),
        ("http://example.com:8080/", "example.com:8080/"),
        ("http://[::1", None),
        ("http:///nohost", None),
    ],
)
def test_normalise_url(url, expected):
    assert normalise_url(url) == expected


def test_unparseable_urls_pass():
    stage = UrlFilterStage(UrlFilterConfig())
    assert reasons(stage, "http://[::1", "not a url at all", "https://", "https://:80/") == [None] * 4
