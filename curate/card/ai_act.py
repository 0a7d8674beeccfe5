"""The public summary of training content (EU AI Act Art. 53(1)(d)), following the structure of the
Commission's template, C(2025) 8311: ``OUTPUT/ai_act_summary.md`` and ``OUTPUT/ai_act_summary.json``.

What a data pipeline can know (sizes, languages, sources, domains, collection period, what was removed
and why) comes from ``stats.json``; what it cannot (provider, model, contact, ...) comes from the
``ai_act`` block of the pipeline config (:class:`AiActConfig`) and is marked ``NOT PROVIDED`` when absent.

Keys this module reads from ``stats.json`` that a crawler (issue 7) is expected to write::

    stats["crawler"] = {"name": str, "user_agent": str, "respects_robots_txt": bool,
                        "behaviour": str,                       # free text: rate limits, paywalls, captchas
                        "period": {"start": iso, "end": iso}}
    stats["tdm_opt_out"] = {"checked": int,                     # URLs whose opt-out signals were checked
                            "excluded": {signal: int}}          # e.g. robots_txt, tdmrep, meta_robots, http_header

Without them the crawled-data section says the input was pre-crawled WARC and names the inputs.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from curate.fields import help_field as _help

NOT_PROVIDED = "NOT PROVIDED"
TEMPLATE = "European Commission, Template for the public summary of training content, C(2025) 8311"




@dataclass(frozen=True)
class AiActConfig:
    """What the AI Act training-content summary needs and a data pipeline cannot know."""

    provider_name: str | None = _help("AI Act summary: name of the model provider", None)
    provider_contact: str | None = _help("AI Act summary: provider's contact details (address, e-mail)", None)
    authorised_representative: str | None = _help(
        "AI Act summary: authorised representative in the EU (providers established outside the EU)", None)
    model_name: str | None = _help("AI Act summary: versioned model name(s) trained on this data", None)
    model_dependencies: str | None = _help(
        "AI Act summary: model(s) this one is fine-tuned from or otherwise depends on", None)
    placement_date: str | None = _help("AI Act summary: date of placement of the model on the EU market", None)
    # a list (not a tuple): curate.config's loader converts YAML lists into list[str] fields
    modalities: list[str] = field(default_factory=lambda: ["text"],
                                  metadata={"help": "AI Act summary: training-data modalities"})
    other_sources: str | None = _help(
        "AI Act summary: other training data (licensed, user, synthetic) not produced by this pipeline", None)
    illegal_content_measures: str | None = _help(
        "AI Act summary: further measures against illegal content, beyond this pipeline's filters", None)
    tdm_measures: str | None = _help(
        "AI Act summary: further measures to honour text-and-data-mining opt-outs (e.g. upstream crawler)", None)
    other_information: str | None = _help("AI Act summary: optional further information", None)


def ai_act_config_from(stats: dict[str, Any]) -> AiActConfig:
    """The ``ai_act`` block of ``stats["config"]``, unknown keys ignored, missing ones defaulted."""
    raw = ((stats.get("config") or {}).get("ai_act")) or {}
    names = {f.name for f in dataclasses.fields(AiActConfig)}
    values = {k: v for k, v in raw.items() if k in names}
    if isinstance(values.get("modalities"), str):
        values["modalities"] = [values["modalities"]]
    elif values.get("modalities") is None:
        values.pop("modalities", None)
    return AiActConfig(**values)


def token_size_range(tokens: int | None) -> str | None:
    """The template's size band for text (tokens)."""
    if tokens is None:
        return None
    if tokens < 1_000_000_000:
        return "Less than 1 billion tokens"
    if tokens <= 10_000_000_000_000:
        return "1 billion to 10 trillion tokens"
    return "More than 10 trillion tokens"


def _or_missing(value: Any, key: str) -> Any:
    return value if value not in (None, "", (), []) else f"{NOT_PROVIDED} (set ai_act.{key} in the pipeline config)"


def build_summary(stats: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    """The summary as a JSON-able dict; ``facts`` are the figures the card derived from stats.json."""
    cfg = ai_act_config_from(stats)
    content = stats.get("content") or {}
    tokenized = stats.get("tokenized") or {}
    tokens = tokenized.get("tokens")
    drops = stats.get("drops") or {}
    crawl = content.get("crawl_date")
    crawler = stats.get("crawler")
    tdm = stats.get("tdm_opt_out")
    domains = content.get("domains")
    inputs = stats.get("inputs") or []
    if tokens is not None:
        size = {"tokens": tokens, "range": token_size_range(tokens)}
    else:
        size = {"tokens": None, "range": "NOT KNOWN: the output was not tokenised (set tokenize: in the config)",
                "documents": facts["documents"], "characters": facts["characters"], "words": facts["words"]}
    if crawler:
        crawled: dict[str, Any] = {"applicable": True, "crawler": crawler,
                                   "period": crawler.get("period") or crawl}
    else:
        crawled = {"applicable": False,
                   "note": "not applicable: this pipeline did not crawl; its input was pre-crawled WARC/JSONL/Parquet "
                           f"from {len(inputs)} input file(s) (listed under publicly available datasets)",
                   "period_of_content": crawl or "NOT KNOWN: no crawl dates in stats.json"}
    if domains:
        crawled["top_domains"] = {
            "share": domains.get("top_share"), "distinct_domains": domains.get("distinct"),
            "measure": "characters of kept documents",
            "domains": [{"domain": h, "documents": n, "characters": c} for h, n, c in domains.get("top", [])],
        }
    else:
        crawled["top_domains"] = "NOT KNOWN: stats.json has no per-domain statistics (stats['content'])"
    url_filter = drops.get("url_filter") or {}
    quality = drops.get("quality") or {}
    pii = stats.get("pii_redactions") or {}
    return {
        "template": TEMPLATE,
        "generated_from": {"pipeline": stats.get("pipeline"), "config_hash": stats.get("config_hash"),
                           "finished": stats.get("finished")},
        "1_general_information": {
            "1_1_provider": {"name": _or_missing(cfg.provider_name, "provider_name"),
                             "contact": _or_missing(cfg.provider_contact, "provider_contact"),
                             "authorised_representative": cfg.authorised_representative or "not stated"},
            "1_2_model": {"name": _or_missing(cfg.model_name, "model_name"),
                          "dependencies": cfg.model_dependencies or "not stated",
                          "placement_date": _or_missing(cfg.placement_date, "placement_date")},
            "1_3_modalities_size_characteristics": {
                "modalities": list(cfg.modalities),
                "text_training_data_size": size,
                "types_of_content": "web pages (main text extracted from HTML)",
                "languages": facts["languages"],
                "latest_data_collection_date": (crawl or {}).get("max") or "NOT KNOWN: no crawl dates in stats.json",
            },
        },
        "2_list_of_data_sources": {
            "2_1_publicly_available_datasets": {"inputs": inputs,
                                                "description": "web crawl archives read by curate"},
            "2_2_private_third_party_datasets": "none used by this pipeline",
            "2_3_crawled_and_scraped_data": crawled,
            "2_4_user_data": "none used by this pipeline",
            "2_5_synthetic_data": "none used by this pipeline",
            "2_6_other_sources": cfg.other_sources or "none stated",
        },
        "3_data_processing_aspects": {
            "3_1_tdm_opt_out": {
                "measures": tdm if tdm else "no crawling in this pipeline: robots.txt opt-outs must be honoured by "
                                            "the crawler that produced the input",
                "at_processing": {
                    "documents_removed": (drops.get("read") or {}).get("tdm_opt_out", 0),
                    "signals": "W3C TDMRep reservations captured in the input: the tdm-reservation HTTP response "
                               "header and <meta name=\"tdm-reservation\" content=\"1\"> in the HTML head",
                },
                "provider_statement": cfg.tdm_measures or "not stated",
            },
            "3_2_illegal_and_unwanted_content_removal": {
                "url_blocklists": {"documents_removed": sum(url_filter.values()), "by_reason": url_filter,
                                   "lists": ((stats.get("config") or {}).get("url_filter") or {}).get("blocklists")},
                "quality_filters": {"documents_removed": sum(quality.values()), "by_reason": quality},
                "pii_redactions": pii,
                **({"benchmark_decontamination": _decontamination(stats["decontaminate"])}
                   if stats.get("decontaminate") else {}),
                "provider_statement": cfg.illegal_content_measures or "not stated",
            },
            "3_3_other_information": cfg.other_information or "not stated",
        },
    }


def _decontamination(section: dict[str, Any]) -> dict[str, Any]:
    """Which benchmark files the documents were checked against, and how many contained their text."""
    verb = "removed" if section.get("action") == "drop" else "kept and annotated"
    return {"method": f"documents sharing a {section.get('ngram')}-word n-gram (or a whole item of "
                      f"{section.get('min_words')} words or more) with a benchmark item were {verb}",
            "benchmarks": {b["name"]: b["contaminated_documents"] for b in section.get("benchmarks", [])},
            "benchmark_files": [b["path"] for b in section.get("benchmarks", [])]}


def _md_value(value: Any) -> str:
    if value is None:
        return "not known"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_md_value(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_md_value(v)}" for k, v in value.items()) if value else "none"
    return str(value)


_TITLES = {
    "1_general_information": "1. General information",
    "1_1_provider": "1.1 Provider identification",
    "1_2_model": "1.2 Model identification",
    "1_3_modalities_size_characteristics": "1.3 Modalities, overall training data size and other characteristics",
    "2_list_of_data_sources": "2. List of data sources",
    "2_1_publicly_available_datasets": "2.1 Publicly available datasets",
    "2_2_private_third_party_datasets": "2.2 Private non-publicly available datasets obtained from third parties",
    "2_3_crawled_and_scraped_data": "2.3 Data crawled and scraped from online sources",
    "2_4_user_data": "2.4 User data",
    "2_5_synthetic_data": "2.5 Synthetic data",
    "2_6_other_sources": "2.6 Other sources of data",
    "3_data_processing_aspects": "3. Data processing aspects",
    "3_1_tdm_opt_out": "3.1 Respect of reservation of rights from the text and data mining exception",
    "3_2_illegal_and_unwanted_content_removal": "3.2 Removal of illegal and unwanted content",
    "3_3_other_information": "3.3 Other information",
}


def render_markdown(summary: dict[str, Any]) -> str:
    gen = summary["generated_from"]
    lines = ["# Public summary of training content (AI Act Art. 53(1)(d))", "",
             f"Structure: {summary['template']}. Generated by curate from `stats.json` of pipeline "
             f"`{gen['pipeline']}` (config hash `{gen['config_hash']}`, finished {gen['finished']}). "
             f"Fields marked **{NOT_PROVIDED}** come from the `ai_act` block of the pipeline config.", ""]
    for section in ("1_general_information", "2_list_of_data_sources", "3_data_processing_aspects"):
        lines += [f"## {_TITLES[section]}", ""]
        for sub, body in summary[section].items():
            lines += [f"### {_TITLES[sub]}", ""]
            if not isinstance(body, dict):
                lines += [_md_value(body).replace(NOT_PROVIDED, f"**{NOT_PROVIDED}**"), ""]
                continue
            for key, value in body.items():
                if key == "top_domains" and isinstance(value, dict):
                    lines += [f"- top domains: top {value['share']:.0%} of {value['distinct_domains']:,} domain "
                              f"names by {value['measure']}:", "",
                              "| domain | documents | characters |", "|---|---:|---:|"]
                    lines += [f"| {d['domain']} | {d['documents']:,} | {d['characters']:,} |"
                              for d in value["domains"]]
                    lines.append("")
                    continue
                if key == "inputs" and isinstance(value, list):
                    lines.append(f"- inputs ({len(value)} file(s)):")
                    lines += [f"  - `{v}`" for v in value[:50]]
                    if len(value) > 50:
                        lines.append(f"  - … and {len(value) - 50:,} more (see ai_act_summary.json)")
                    continue
                text = _md_value(value).replace(NOT_PROVIDED, f"**{NOT_PROVIDED}**")
                lines.append(f"- {key.replace('_', ' ')}: {text}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
