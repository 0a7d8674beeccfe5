"""The selection settings: :class:`SelectConfig` (which score, keep how much, how many quality buckets)
and :class:`ScoreSpec` (the selection score, one scorer or an ensemble of several).

Imports only ``curate.errors`` and ``curate.fields``, so that an assembling config module may import it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from curate.errors import ConfigError
from curate.fields import help_field as _help

Combine = Literal["max", "mean", "weighted"]
COMBINES = ("max", "mean", "weighted")
#: A score name without a namespace (no ``.``) means a classifier's score: ``edu`` -> ``classifier.edu``.
CLASSIFIER_PREFIX = "classifier."
#: At most this many quality buckets (the column is an int32; 1000 buckets are 0.1 % percentiles).
MAX_BUCKETS = 1000


def signal_name(name: str) -> str:
    """The ``signals`` key of a score name: ``edu`` -> ``classifier.edu``; a dotted name is taken as is."""
    return name if "." in name else CLASSIFIER_PREFIX + name


@dataclass(frozen=True)
class ScoreSpec:
    """The selection score of a document, from the signals of one or more scorers (higher = better).

    * one scorer: its signal;
    * ``max``: the largest of the scorers' signals (Nemotron-CC, Su et al. 2024, arXiv:2412.02595: the max
      of three classifiers' integer scores);
    * ``mean``: their arithmetic mean;
    * ``weighted``: ``Σ wᵢ·sᵢ / Σ wᵢ`` (a weighted mean, so the score keeps the scorers' scale).

    A document needs *every* listed signal: one missing (or NaN) makes its score missing (or NaN), and
    it is counted under that reason, never ranked as if the absent scorer had said something.
    """

    scorers: tuple[str, ...]
    combine: Combine = "max"
    weights: tuple[float, ...] = ()

    @property
    def signals(self) -> tuple[str, ...]:
        """The ``signals`` keys the score reads."""
        return tuple(signal_name(name) for name in self.scorers)

    def validate(self, where: str = "select") -> None:
        if not self.scorers:
            raise ConfigError(f"{where}.score: no scorer given; name a signal (e.g. classifier.edu, or edu) "
                              "or a list of them")
        for name in self.scorers:
            if not isinstance(name, str) or not name.strip() or name.endswith("."):
                raise ConfigError(f"{where}.score: {name!r} is not a signal name")
        if len(set(self.signals)) != len(self.signals):
            raise ConfigError(f"{where}.score: a scorer is listed twice: {', '.join(self.scorers)}")
        if self.combine not in COMBINES:
            raise ConfigError(f"{where}.combine: {self.combine!r} is not one of: {', '.join(COMBINES)}")
        if self.combine == "weighted":
            if len(self.weights) != len(self.scorers):
                raise ConfigError(f"{where}.weights: combine 'weighted' needs one weight per scorer "
                                  f"({len(self.scorers)}), got {len(self.weights)}")
            bad = [w for w in self.weights if not (math.isfinite(w) and w > 0)]
            if bad:
                raise ConfigError(f"{where}.weights: every weight must be a finite number > 0, got {bad[0]!r}")
        elif self.weights:
            raise ConfigError(f"{where}.weights: weights are only used with combine 'weighted' "
                              f"(combine is {self.combine!r}); remove them or set combine: weighted")


@dataclass(frozen=True)
class SelectConfig:
    """Selection by a model score: keep the top fraction per language, and/or add quality buckets.

    YAML::

        select:
          score: edu                 # the signal classifier.edu
          keep_top: 0.1              # the best 10 % of each language's documents
          buckets: 20                # quality_bucket 0 (worst) .. 19 (best), token-weighted

        select:
          score: [classifier.edu, classifier.dclm]
          combine: weighted
          weights: [0.7, 0.3]
          keep_top: 0.3
    """

    score: list[str] = _help("the selection score: a signal name (classifier.edu; a name without a dot means "
                             "classifier.<name>), or a list of them combined by `combine`; higher = better",
                             factory=list)
    combine: Combine = _help("how several scorers make one score: max (Nemotron-CC), mean, or weighted "
                             "(Σ w·s / Σ w, with `weights`)", "max")
    weights: list[float] = _help("one weight > 0 per scorer, for combine: weighted", factory=list)
    keep_top: float | None = _help("keep the top fraction F (0 < F <= 1) of each language's documents by "
                                   "score: round(F·n) documents, ties broken by id; exact, over the whole input",
                                   None)
    buckets: int | None = _help("add a quality_bucket column, 0 (worst) .. N-1 (best): per-language, "
                                "token-weighted percentiles of the score (Nemotron-CC uses 20)", None)
    token_weighted: bool = _help("weight the bucket percentiles by each document's tokens (else every "
                                 "document counts 1)", True)
    weight_column: str | None = _help("numeric column holding each document's token count, for token-weighted "
                                      "buckets; default: the first of token_count, n_tokens, num_tokens a file "
                                      "has, else the text's length in characters", None)
    histogram_bins: int = _help("bins of the per-language score histogram in the stats", 20)
    rejected: bool = _help("also write the dropped documents, with drop_stage and drop_reason, to rejected/",
                           False)
    batch_size: int = _help("rows read per Parquet batch", 65_536)

    @property
    def spec(self) -> ScoreSpec:
        names = (self.score,) if isinstance(self.score, str) else tuple(self.score)
        return ScoreSpec(names, self.combine, tuple(float(w) for w in self.weights))

    def validate(self, where: str = "select") -> None:
        """Check the values the types cannot; ConfigError names the field and what to do."""
        self.spec.validate(where)
        if self.keep_top is None and self.buckets is None:
            raise ConfigError(f"{where}: nothing to do; set keep_top (a fraction in (0, 1]) and/or buckets "
                              "(an integer >= 2)")
        if self.keep_top is not None and (isinstance(self.keep_top, bool)
                                          or not (math.isfinite(self.keep_top) and 0 < self.keep_top <= 1)):
            raise ConfigError(f"{where}.keep_top: must be a fraction with 0 < F <= 1 (0.1 keeps the top 10 %), "
                              f"got {self.keep_top!r}")
        if self.buckets is not None and (isinstance(self.buckets, bool) or not 2 <= self.buckets <= MAX_BUCKETS):
            raise ConfigError(f"{where}.buckets: must be an integer from 2 to {MAX_BUCKETS}, got {self.buckets!r}")
        if self.weight_column is not None and not self.weight_column.strip():
            raise ConfigError(f"{where}.weight_column: empty; name a numeric column or leave it unset")
        if self.histogram_bins < 1:
            raise ConfigError(f"{where}.histogram_bins: must be >= 1, got {self.histogram_bins}")
        if self.batch_size < 1:
            raise ConfigError(f"{where}.batch_size: must be >= 1, got {self.batch_size}")
