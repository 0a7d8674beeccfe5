"""One typed, validated configuration for a pipeline run.

The YAML is read once, on the driver, into frozen dataclasses; workers receive the dataclasses.
Unknown keys are errors that name the key and list the known ones. Each field's ``help`` is reused by
the CLI and the dataset card.

Relative input paths in a pipeline file are relative to that file, so a bundled pipeline and its
sample data work from any directory.

This module only assembles: each section's dataclass lives beside the code that uses it (a stage, a
runner's settings in :mod:`curate.runners.config`), the conversion rules in :mod:`curate.configlib`,
the language list in :mod:`curate.langconfig`; nothing below imports this module.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from curate.card.ai_act import AiActConfig
from curate.classify.config import ClassifyConfig
from curate.configlib import from_dict, read_yaml
from curate.decontam.config import DecontamConfig
from curate.dedup.config import NearDupConfig, ParagraphDedupConfig
from curate.errors import ConfigError
from curate.fields import help_field as _help
from curate.langconfig import EU_LANGUAGES
from curate.pii import PiiConfig
from curate.runners.config import BeamConfig, RayConfig
from curate.select.config import SelectConfig
from curate.stages.extract import ExtractConfig
from curate.stages.langid import LangIdConfig
from curate.stages.prefilter import PrefilterConfig
from curate.stages.quality import QualityConfig
from curate.stages.url_filter import UrlFilterConfig
from curate.tokenize.config import TokenizeConfig
from curate.tokenize.rehydrate import PRESETS as REHYDRATE_PRESETS

#: Re-exported: the stage and engine configs live beside their users, the helpers in bottom modules.
__all__ = [
    "EU_LANGUAGES", "BeamConfig", "CardConfig", "DedupConfig", "ExtractConfig", "InputConfig", "LangIdConfig",
    "OutputConfig", "PipelineConfig", "QualityConfig", "RayConfig", "from_dict", "load_pipeline", "read_yaml",
    "validate",
]  # fmt: skip


@dataclass(frozen=True)
class InputConfig:
    paths: list[str] = _help("fsspec paths or globs: WARC (.warc, .warc.gz), JSONL, Parquet, or a "
                             "Common Crawl warc.paths(.gz) listing", factory=list)
    format: Literal["auto", "warc", "jsonl", "parquet", "warc_paths"] = _help(
        "input format; auto decides by file name", "auto")
    base_url: str = _help("prefix joined to each line of a warc.paths listing "
                          "(e.g. https://data.commoncrawl.org/ or a local mirror)", "https://data.commoncrawl.org/")
    batch_size: int = _help("records per batch handed from the reader to the stages (one work file each)", 128)


@dataclass(frozen=True)
class OutputConfig:
    dir: str = _help("output directory (fsspec path)", "curate-output")
    docs_per_file: int = _help("target documents per output Parquet file", 100_000)
    compression: str = _help("Parquet compression codec", "zstd")
    rejected: bool = _help("also write the documents stages dropped to rejected/stage=<stage>/, with the reason",
                           False)


@dataclass(frozen=True)
class DedupConfig:
    exact: bool = _help("drop exact duplicates of the normalised text", True)
    buckets: int = _help("hash buckets of the exact-dedup shuffle (files exchanged between sub-steps)", 16)
    url: bool = _help("drop documents whose normalised URL was crawled again; keep the most recent crawl", True)
    near_enabled: bool = _help("drop near-duplicates found by MinHash LSH (settings under dedup.near)", True)
    near: NearDupConfig = _help("MinHash LSH near-duplicate settings (FineWeb-2 defaults)", factory=NearDupConfig)
    paragraphs: ParagraphDedupConfig = _help("repeated-paragraph removal over the whole run, after document dedup "
                                             "(off by default; enabled: true)", factory=ParagraphDedupConfig)


@dataclass(frozen=True)
class CardConfig:
    pretty_name: str | None = _help("dataset name shown in the card", None)
    license: str = _help("license identifier for the dataset card", "other")
    top_domains_share: float = _help("share of domain names, by content size, listed in the card and the AI Act "
                                     "summary", 0.1)


@dataclass(frozen=True)
class PipelineConfig:
    name: str = _help("pipeline name", "curate")
    input: InputConfig = _help("what to read", factory=InputConfig)
    output: OutputConfig = _help("where to write", factory=OutputConfig)
    url_filter: UrlFilterConfig = _help("domain/URL blocklists, applied before extraction", factory=UrlFilterConfig)
    prefilter: PrefilterConfig = _help("skip pages before extraction when cheap evidence (Common Crawl's CLD2, "
                                       "script, <html lang>, charset) rules out every kept language",
                                       factory=PrefilterConfig)
    extract: ExtractConfig = _help("main-text extraction", factory=ExtractConfig)
    langid: LangIdConfig = _help("language identification", factory=LangIdConfig)
    quality: QualityConfig = _help("quality filters", factory=QualityConfig)
    pii: PiiConfig = _help("PII redaction (e-mail, phone, IP, IBAN, national ids with check digits)", factory=PiiConfig)
    decontaminate: DecontamConfig | None = _help("benchmark decontamination right after language identification: "
                                                 "documents sharing an n-gram with a benchmark item are dropped "
                                                 "or annotated", None)
    dedup: DedupConfig = _help("deduplication", factory=DedupConfig)
    classify: list[ClassifyConfig] = _help("model scorers run over the deduplicated documents (after dedup, before "
                                           "tokenize): each adds signals[classifier.<name>]", factory=list)
    select: SelectConfig | None = _help("keep each language's top fraction by a model score and/or add "
                                        "quality_bucket (after classify)", None)
    tokenize: TokenizeConfig | None = _help("tokenize data/ into OUTPUT/tokenized (Megatron .bin/.idx shards)", None)
    runner: Literal["ray", "local", "beam"] = _help("execution engine", "ray")
    ray: RayConfig = _help("Ray runner settings", factory=RayConfig)
    beam: BeamConfig = _help("Apache Beam runner settings", factory=BeamConfig)
    card: CardConfig = _help("dataset card", factory=CardConfig)
    ai_act: AiActConfig = _help("AI Act training-content summary: what a pipeline cannot know", factory=AiActConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def config_hash(self) -> str:
        """Hash of everything that determines the output (not where it goes or which engine runs it)."""
        data = self.to_dict()
        for key in ("output", "runner", "ray", "beam"):
            data.pop(key)
        data["extract"].pop("fast_path", None)  # the same text either way (tests/test_extract_fast.py)
        data["output_layout"] = {"docs_per_file": self.output.docs_per_file}
        data["resolved"] = self._bundled_fingerprint()
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def _bundled_fingerprint(self) -> dict[str, Any]:
        """What the named preset and language configs say today: editing them changes the hash."""
        from curate.filters import load_preset
        from curate.languages import language_config_dir

        preset = load_preset(self.quality.preset)[0] if self.quality.enabled else None
        languages = {
            code: hashlib.sha256((language_config_dir() / f"{code}.yaml").read_bytes()).hexdigest()
            for code in self.langid.languages
        }

        def digests(folder: str) -> dict[str, str]:  # the LID's tables beside the language configs
            return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
                    for path in sorted((language_config_dir() / folder).glob("*.yaml"))}

        return {"preset": dataclasses.asdict(preset) if preset else None, "languages": languages,
                "lid_markers": digests("lid_markers"), "lid_thresholds": digests("lid_thresholds")}


def _is_remote(path: str) -> bool:
    return "://" in path


def _relative_to(base: Path, path: str) -> str:
    return path if not path or _is_remote(path) or Path(path).is_absolute() else str(base / path)


def load_pipeline(path: Path, overrides: dict[str, Any] | None = None) -> PipelineConfig:
    """Read a pipeline YAML, apply CLI overrides (dotted keys), validate, resolve relative paths."""
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    base = path.resolve().parent
    inputs = (data.get("input") or {}).get("paths") if isinstance(data.get("input"), dict) else None
    if isinstance(inputs, list):
        data["input"]["paths"] = [p if _is_remote(p) or Path(p).is_absolute() else str(base / p) for p in inputs]
    tokenize = data.get("tokenize")
    if isinstance(tokenize, dict) and isinstance(tokenize.get("tokenizer"), str):
        tok = tokenize["tokenizer"]
        if tok and not _is_remote(tok) and not Path(tok).is_absolute():
            tokenize["tokenizer"] = str(base / tok)
        rehydrate = tokenize.get("rehydrate")
        if isinstance(rehydrate, str) and rehydrate not in REHYDRATE_PRESETS:
            tokenize["rehydrate"] = _relative_to(base, rehydrate)
    for entry in data.get("classify") or []:  # model files relative to the pipeline file
        if isinstance(entry, dict):
            for key in ("model", "heads"):
                value = entry.get(key)
                if isinstance(value, str):
                    entry[key] = _relative_to(base, value)
                elif isinstance(value, list):
                    entry[key] = [_relative_to(base, v) if isinstance(v, str) else v for v in value]
    decontaminate = data.get("decontaminate")  # benchmark files and the index relative to the pipeline file
    if isinstance(decontaminate, dict):
        if isinstance(decontaminate.get("against"), list):
            decontaminate["against"] = [_relative_to(base, p) if isinstance(p, str) else p
                                        for p in decontaminate["against"]]
        if isinstance(decontaminate.get("index"), str):
            decontaminate["index"] = _relative_to(base, decontaminate["index"])
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    config = from_dict(PipelineConfig, data, where=str(path))
    validate(config)
    return config


def validate(config: PipelineConfig) -> None:
    """Checks across fields that the types alone cannot express."""
    unknown = sorted(set(config.langid.languages) - set(EU_LANGUAGES))
    if unknown:
        raise ConfigError(
            f"langid.languages: unknown language code(s) {', '.join(unknown)}; "
            f"supported: {', '.join(EU_LANGUAGES)}"
        )
    if not config.langid.languages:
        raise ConfigError("langid.languages: empty; name at least one language")
    if not config.input.paths:
        raise ConfigError("input.paths: no input given (set it in the pipeline or pass --input)")
    for name, value in (("output.docs_per_file", config.output.docs_per_file),
                        ("input.batch_size", config.input.batch_size),
                        ("dedup.buckets", config.dedup.buckets)):
        if value < 1:
            raise ConfigError(f"{name}: must be >= 1, got {value}")
    config.dedup.near.validate()
    config.dedup.paragraphs.validate()
    if not 0.0 < config.card.top_domains_share <= 1.0:
        raise ConfigError(f"card.top_domains_share: must be in (0, 1], got {config.card.top_domains_share}")
    if config.tokenize is not None:
        config.tokenize.check()
    for i, scorer in enumerate(config.classify):
        scorer.validate(f"classify[{i}]")
    if config.select is not None:
        config.select.validate()
        names = {f"classifier.{c.name}" for c in config.classify}
        unknown = [n for n in config.select.spec.signals if n.startswith("classifier.") and n not in names]
        if unknown:
            raise ConfigError(f"select.score: {', '.join(unknown)} is computed by no classify: entry "
                              f"(these are: {', '.join(sorted(names)) or 'none'})")
    if config.decontaminate is not None:
        config.decontaminate.validate()
    if config.extract.timeout_s <= 0:
        raise ConfigError(f"extract.timeout_s: must be > 0, got {config.extract.timeout_s}")
