"""Per-language configuration: ``language_configs/<code>.yaml``.

Each file names the fastText label(s) of the language, the LID threshold, where its stop-words come
from, and how words are split. Stop-words come from a list an installed package ships (``justext``,
a dependency of trafilatura, has lists for all 28 target languages) or are given inline.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from curate.config import EU_LANGUAGES, from_dict, read_yaml
from curate.errors import ConfigError
from curate.resources import bundled_dir


@dataclass(frozen=True)
class LanguageConfig:
    code: str
    name: str
    lid_labels: list[str]
    # FineWeb keeps documents whose fastText lid.176 score is >= 0.65 (Penedo et al. 2024, §3.3).
    lid_threshold: float = 0.65
    stopwords_source: str | None = None  # "justext:<Stoplist name>"
    stopwords_extra: list[str] = field(default_factory=list)
    word_split: str = "unicode_words"
    notes: str = ""

    @functools.cached_property
    def stopwords(self) -> frozenset[str]:
        words = {w.lower() for w in self.stopwords_extra}
        if self.stopwords_source:
            provider, _, name = self.stopwords_source.partition(":")
            if provider != "justext":
                raise ConfigError(f"language {self.code}: unknown stop-word source {self.stopwords_source!r}")
            import justext

            words |= {w.lower() for w in justext.get_stoplist(name)}
        return frozenset(words)


def language_config_dir() -> Path:
    return bundled_dir("language_configs")


@functools.cache
def load_language(code: str) -> LanguageConfig:
    path = language_config_dir() / f"{code}.yaml"
    if not path.is_file():
        raise ConfigError(f"no language config for {code!r} ({path}); supported: {', '.join(EU_LANGUAGES)}")
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping")
    config = from_dict(LanguageConfig, data, where=str(path))
    if config.code != code:
        raise ConfigError(f"{path}: code {config.code!r} does not match the file name")
    if not 0.0 <= config.lid_threshold <= 1.0:
        raise ConfigError(f"{path}: lid_threshold must be in [0, 1], got {config.lid_threshold}")
    if config.stopwords_source:
        provider, _, name = config.stopwords_source.partition(":")
        if provider != "justext":
            raise ConfigError(f"{path}: stopwords_source must look like 'justext:<Name>'")
        import justext

        if name not in justext.get_stoplists():
            raise ConfigError(f"{path}: justext has no stop-list {name!r}")
    return config
