"""A quality-classifier data set of the kind issue 17's check uses: real prose (positives) against web junk
made from the same languages' words (negatives: word salad, keyword stuffing, navigation menus, price
listings), in the 28 languages, from ../shared/data/langid/<code>.txt (300 real sentences each).

    python benchmarks/classifier_data.py OUT_DIR [--seed 0] [--per-language 36]

writes OUT_DIR/train_pos.jsonl and OUT_DIR/train_neg.jsonl (one JSON object ``{"text": ...}`` per line) and
OUT_DIR/test.jsonl (``id``, ``text``, ``language``, ``label``, ``kind``) -- see :func:`build` and :func:`write`.
Each language's sentences are split in two halves: the
training documents are made from the first half only, the test documents from the second, so a test
document's prose (and most of its word pairs) was never seen in training. The junk generators are
deliberately varied (with and without punctuation, capitalised or not, lines or one paragraph) so that a
classifier cannot learn one generator's artefact.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter
from pathlib import Path

LANGID = Path(__file__).resolve().parents[2] / "shared" / "data" / "langid"
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def languages(folder: Path = LANGID) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.txt"))


def _sentences(code: str, folder: Path) -> list[str]:
    return [s.strip() for s in (folder / f"{code}.txt").read_text(encoding="utf-8").splitlines() if s.strip()]


def _prose(rng: random.Random, sentences: list[str]) -> str:
    k = rng.randint(3, 8)
    start = rng.randrange(0, max(1, len(sentences) - k))
    chosen = sentences[start: start + k]
    if rng.random() < 0.4:  # paragraphs
        cut = rng.randint(1, max(1, len(chosen) - 1))
        return " ".join(chosen[:cut]) + "\n" + " ".join(chosen[cut:])
    return " ".join(chosen)


def _draw(rng: random.Random, vocab: list[str], weights: list[int], n: int) -> list[str]:
    return rng.choices(vocab, weights=weights, k=n)


def _salad(rng: random.Random, vocab: list[str], weights: list[int]) -> str:
    n = rng.randint(40, 160)
    words = _draw(rng, vocab, weights, n)
    if rng.random() < 0.5:  # sentence-like: capitalised starts, full stops
        out, i = [], 0
        while i < n:
            k = rng.randint(5, 18)
            part = words[i: i + k]
            part[0] = part[0][:1].upper() + part[0][1:]
            if len(part) > 4 and rng.random() < 0.3:
                part[rng.randrange(1, len(part) - 1)] += ","
            out.append(" ".join(part) + rng.choice([".", ".", ".", "!", "?"]))
            i += k
        return " ".join(out)
    return " ".join(words)


def _stuffing(rng: random.Random, vocab: list[str], weights: list[int], sentences: list[str]) -> str:
    keywords = list(dict.fromkeys(_draw(rng, vocab[:300], weights[:300], rng.randint(2, 5))))
    phrases = [" ".join(rng.sample(keywords, k=rng.randint(1, len(keywords)))) for _ in range(rng.randint(15, 50))]
    sep = rng.choice([" ", ", ", " | ", " - ", "\n"])
    body = sep.join(phrases)
    if rng.random() < 0.5:  # a real sentence for cover, keywords around it
        return f"{rng.choice(sentences)} {body}"
    return body


def _menu(rng: random.Random, vocab: list[str], weights: list[int]) -> str:
    items = []
    for _ in range(rng.randint(8, 40)):
        words = _draw(rng, vocab, weights, rng.randint(1, 3))
        items.append(" ".join(w[:1].upper() + w[1:] if rng.random() < 0.7 else w for w in words))
    return rng.choice(["\n", " | ", " · ", " » ", "  "]).join(items)


def _prices(rng: random.Random, vocab: list[str], weights: list[int]) -> str:
    rows = []
    currency = rng.choice(["€", "EUR", "zł", "Kč", "лв", "kr", "Ft", "lei"])
    for _ in range(rng.randint(6, 30)):
        name = " ".join(_draw(rng, vocab, weights, rng.randint(1, 4)))
        price = f"{rng.randint(1, 999)}{rng.choice([',', '.'])}{rng.randint(0, 99):02d}"
        rows.append(rng.choice([f"{name} {price} {currency}", f"{name} - {currency} {price}",
                                f"{name}: {price}{currency}", f"{name} ... {price} {currency} *"]))
    return rng.choice(["\n", " ", " | "]).join(rows)


def _junk(rng: random.Random, kind: str, vocab: list[str], weights: list[int], sentences: list[str]) -> str:
    if kind == "word_salad":
        return _salad(rng, vocab, weights)
    if kind == "keyword_stuffing":
        return _stuffing(rng, vocab, weights, sentences)
    if kind == "navigation_menu":
        return _menu(rng, vocab, weights)
    return _prices(rng, vocab, weights)


JUNK = ("word_salad", "keyword_stuffing", "navigation_menu", "price_listing")


def build(seed: int = 0, per_language: int = 36, folder: Path = LANGID,
          codes: list[str] | None = None) -> dict[str, list[dict]]:
    """``{"train": [...], "test": [...]}``: records ``{id, text, language, label (1 prose, 0 junk), kind}``;
    per language ``per_language`` training documents (half prose, half junk of the four kinds) and as many
    test documents, from disjoint halves of its sentences."""
    rng = random.Random(seed)
    out: dict[str, list[dict]] = {"train": [], "test": []}
    for code in codes or languages(folder):
        sentences = _sentences(code, folder)
        rng.shuffle(sentences)
        halves = {"train": sentences[: len(sentences) // 2], "test": sentences[len(sentences) // 2:]}
        for split, part in halves.items():
            counts = Counter(w for s in part for w in _WORD.findall(s))
            vocab, weights = zip(*counts.most_common(), strict=True)
            for i in range(per_language):
                if i % 2 == 0:
                    text, label, kind = _prose(rng, part), 1, "prose"
                else:
                    kind = JUNK[(i // 2) % len(JUNK)]
                    text, label = _junk(rng, kind, list(vocab), list(weights), part), 0
                out[split].append({"id": f"{split}-{code}-{i:04d}", "text": text, "language": code,
                                   "label": label, "kind": kind})
    return out


def write(out_dir: Path, data: dict[str, list[dict]]) -> dict[str, Path]:
    """train_pos.jsonl, train_neg.jsonl (``text`` only) and test.jsonl (every field) in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"positive": out_dir / "train_pos.jsonl", "negative": out_dir / "train_neg.jsonl",
             "test": out_dir / "test.jsonl"}
    with paths["positive"].open("w") as pos, paths["negative"].open("w") as neg:
        for r in data["train"]:
            (pos if r["label"] else neg).write(json.dumps({"text": r["text"]}, ensure_ascii=False) + "\n")
    with paths["test"].open("w") as fh:
        for r in data["test"]:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-language", type=int, default=36)
    args = parser.parse_args()
    paths = write(args.out_dir, build(args.seed, args.per_language))
    print(json.dumps({k: str(v) for k, v in paths.items()}))


if __name__ == "__main__":
    main()
