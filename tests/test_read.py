"""Readers: every record becomes a row; documents keep where they came from; bad records are counted."""

from __future__ import annotations

import gzip
import json
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import shared
from warcs import cc_metadata, html_page, http_response, warc_record, write_warc

from curate.io import InputShard, expand_inputs
from curate.stages.read import read_shard

WARCS = [
    "resiliparse__warcfile.warc.gz",  # WARC/1.0, Common Crawl, per-record gzip
    "dolma__sample-0000.warc.gz",  # WARC/1.1, Target-URI in <>
    "netarchivesuite__netarkivet-20081105135926-00000.warc",  # WARC/0.18, uncompressed
    "warcio__example.warc.gz",  # revisit records
    "whirlwind__CC-MAIN-2024-22.warc.wet.gz",  # WET conversion record
]


def read_all(path, fmt="warc", batch_size=7) -> pa.Table:
    return pa.concat_tables(read_shard(InputShard(str(path), fmt), batch_size))


@pytest.mark.parametrize("name", WARCS)
def test_every_warc_record_becomes_a_row(name):
    from warcio.archiveiterator import ArchiveIterator

    path = shared("warc", name)
    with open(path, "rb") as fh:
        expected = Counter(rec.rec_type for rec in ArchiveIterator(fh, arc2warc=True))
    table = read_all(path)
    assert table.num_rows == sum(expected.values())
    reasons = Counter(table.column("drop_reason").to_pylist())
    for kind in ("request", "metadata", "warcinfo", "revisit"):
        assert reasons.get(f"{kind}_record", 0) == expected.get(kind, 0)
    ids = table.column("id").to_pylist()
    assert len(set(ids)) == len(ids)
    assert all(src.startswith(str(path) + "#") for src in table.column("source").to_pylist())
    alive = table.filter(pa.compute.is_null(table.column("drop_stage")))
    assert alive.num_rows >= 1
    for row in alive.to_pylist():
        assert row["url"] and not row["url"].startswith("<")
        assert row["crawl_date"] is not None
        assert row["html"] or row["text"]


def test_ids_are_stable_and_independent_of_directory(tmp_path):
    src = shared("warc", "resiliparse__warcfile.warc.gz")
    copy = tmp_path / "elsewhere" / src.name
    copy.parent.mkdir()
    copy.write_bytes(src.read_bytes())
    # within a batch documents come first (read order per group), so compare the ids as sets of rows
    assert sorted(read_all(src, batch_size=5).column("id").to_pylist()) == sorted(
        read_all(copy, batch_size=64).column("id").to_pylist())
    assert read_all(src, batch_size=64).column("id") == read_all(copy, batch_size=64).column("id")


def test_non_documents_are_counted_by_reason(tmp_path):
    page = html_page("Hello", ["Some text."])
    records = [
        warc_record(http_response(page), "https://a.example/ok"),
        warc_record(http_response(b"%PDF-1.4 ...", "application/pdf"), "https://a.example/doc.pdf"),
        warc_record(http_response(b"<html>gone</html>", status="404 Not Found"), "https://a.example/404"),
        warc_record(http_response(b"", status="301 Moved Permanently"), "https://a.example/moved"),
        warc_record(http_response(b""), "https://a.example/empty"),
        warc_record(b"GET / HTTP/1.1\r\n\r\n", "https://a.example/ok", record_type="request"),
        warc_record(b"via: x\r\n", "https://a.example/ok", record_type="metadata"),
    ]
    table = read_all(write_warc(tmp_path / "t.warc.gz", records))
    assert table.column("html_lang").to_pylist()[0] == "en"  # a prior for language ID
    assert table.column("drop_reason").to_pylist() == [
        None, "not_html", "http_4xx", "http_3xx", "empty_payload", "request_record", "metadata_record",
    ]


def test_truncated_gzip_member_is_counted_and_earlier_records_kept(tmp_path):
    page = html_page("Hello", ["Some text."])
    records = [warc_record(http_response(page), f"https://a.example/{i}") for i in range(3)]
    path = write_warc(tmp_path / "t.warc.gz", records)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # cut into the last member
    table = read_all(path)
    reasons = table.column("drop_reason").to_pylist()
    assert reasons[:2] == [None, None]
    assert reasons[-1] == "truncated_record"


def test_jsonl_and_parquet_documents(tmp_path):
    rows = [{"id": "a", "text": "Erster Text.", "url": "https://x.de/1"}, {"text": "No id here."}, {"text": ""}]
    jsonl = tmp_path / "docs.jsonl.gz"
    with gzip.open(jsonl, "wt") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
        fh.write("{broken json\n")
    table = read_all(jsonl, "jsonl")
    assert table.column("id").to_pylist()[0] == "a"
    assert table.column("text").to_pylist()[:2] == ["Erster Text.", "No id here."]
    assert table.column("drop_reason").to_pylist() == [None, None, "no_text", "corrupt_record"]
    assert table.column("source").to_pylist()[1] == f"{jsonl}#1"

    parquet = tmp_path / "docs.parquet"
    pq.write_table(pa.Table.from_pylist(rows[:2]), parquet)
    table = read_all(parquet, "parquet")
    assert table.column("text").to_pylist() == ["Erster Text.", "No id here."]
    assert table.column("id").to_pylist()[0] == "a"


def test_expand_inputs_globs_listings_and_missing(tmp_path):
    for name in ("b.warc.gz", "a.warc.gz", "c.jsonl"):
        (tmp_path / name).write_bytes(b"")
    shards = expand_inputs([str(tmp_path / "*.warc.gz"), str(tmp_path / "c.jsonl"), str(tmp_path / "a.warc.gz")])
    assert [(s.path.rsplit("/", 1)[1], s.format) for s in shards] == [
        ("a.warc.gz", "warc"), ("b.warc.gz", "warc"), ("c.jsonl", "jsonl"),
    ]
    listing = tmp_path / "warc.paths.gz"
    with gzip.open(listing, "wt") as fh:
        fh.write("crawl-data/CC-MAIN-2024-22/segments/1/warc/x-00000.warc.gz\n")
    shards = expand_inputs([str(listing)], base_url=str(tmp_path) + "/mirror")
    expected = f"{tmp_path}/mirror/crawl-data/CC-MAIN-2024-22/segments/1/warc/x-00000.warc.gz"
    assert shards == [InputShard(expected, "warc")]


def test_documents_come_first_in_a_batch_and_a_flushed_response_takes_no_late_metadata(tmp_path):
    """The reader orders each batch documents-first (stages then slice instead of copying HTML); a
    response flushed with a full batch before its metadata record arrives is left unannotated."""
    page = html_page("Hello", ["Some text."])
    records = [warc_record(b"GET / HTTP/1.1\r\n\r\n", "https://a.example/", record_type="request")]
    records += [warc_record(http_response(page), f"https://a.example/{i}") for i in range(3)]  # no metadata...
    records.append(cc_metadata("https://a.example/2", '{"reliable": true, "languages": [{"code": "en"}]}'))
    batches = list(read_shard(InputShard(str(write_warc(tmp_path / "t.warc.gz", records)), "warc"), 2))
    for batch in batches:
        dropped = [reason is not None for reason in batch.column("drop_reason").to_pylist()]
        assert dropped == sorted(dropped)  # every document before every dropped record
    rows = [row for batch in batches for row in batch.to_pylist()]
    assert sum(row["drop_reason"] is None for row in rows) == 3
    assert sorted(row["drop_reason"] for row in rows if row["drop_reason"]) == ["metadata_record", "request_record"]
    assert [row["cc_languages"] for row in rows if row["drop_reason"] is None] == [None] * 3  # ...until too late

