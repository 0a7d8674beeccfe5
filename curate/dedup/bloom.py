"""A Bloom filter over 64-bit hashes (a numpy bit array, numba loops) for repeated-paragraph removal with
``method: bloom`` (:mod:`curate.dedup.paragraphs`), as Dolma's ``dedupe`` does (Soldaini et al. 2024, §3.3):
one pass in document order, a paragraph already in the filter was seen before and is removed.

Sizing (Bloom 1970; Kirsch & Mitzenmacher 2006 for deriving the k probes from one hash): for ``n`` items
and a false-positive rate ``p``, ``m = -n ln p / (ln 2)²`` bits and ``k = (m / n) ln 2`` probes — 1e-5 costs
24 bits (3 bytes) per distinct paragraph and 17 probes. A false positive removes a unique paragraph."""

from __future__ import annotations

import math

import numpy as np

from curate.jit import njit

_GOLDEN = 0x9E3779B97F4A7C15


def bloom_size(items: int, fpr: float) -> tuple[int, int]:
    """(bits, probes) for ``items`` distinct items at false-positive rate ``fpr``."""
    n = max(int(items), 1)
    bits = max(64, math.ceil(-n * math.log(fpr) / (math.log(2) ** 2)))
    probes = max(1, round(bits / n * math.log(2)))
    return bits, probes


@njit
def _mix(h: np.uint64) -> np.uint64:  # splitmix64's finaliser
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


@njit
def _seen_then_add(bits: np.ndarray, nbits: np.uint64, probes: int, hashes: np.ndarray, starts: np.ndarray,
                   seen: np.ndarray) -> None:
    """For each group ``hashes[starts[g]:starts[g+1]]`` (one document's distinct paragraphs): mark those the
    filter holds, then add them all — a paragraph repeated inside one document is not "seen before"."""
    for g in range(starts.size - 1):
        for i in range(starts[g], starts[g + 1]):
            h = hashes[i]
            hit = True
            for j in range(probes):
                pos = _mix(h + np.uint64(j) * np.uint64(_GOLDEN)) % nbits
                if (bits[pos >> np.uint64(3)] >> (pos & np.uint64(7))) & np.uint8(1) == 0:
                    hit = False
                    break
            seen[i] = hit
        for i in range(starts[g], starts[g + 1]):
            h = hashes[i]
            for j in range(probes):
                pos = _mix(h + np.uint64(j) * np.uint64(_GOLDEN)) % nbits
                bits[pos >> np.uint64(3)] |= np.uint8(1) << np.uint8(pos & np.uint64(7))


class BloomFilter:
    """A Bloom filter of 64-bit hashes, sized for ``items`` at ``fpr``."""

    def __init__(self, items: int, fpr: float) -> None:
        self.nbits, self.probes = bloom_size(items, fpr)
        self.bits = np.zeros((self.nbits + 7) // 8, dtype=np.uint8)

    def seen_then_add(self, hashes: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Per hash: was it in the filter before its group (``starts``: group boundaries, ``len = groups + 1``)."""
        seen = np.zeros(hashes.size, dtype=np.bool_)
        _seen_then_add(self.bits, np.uint64(self.nbits), self.probes, hashes.astype(np.uint64, copy=False),
                       starts.astype(np.int64, copy=False), seen)
        return seen

    @property
    def nbytes(self) -> int:
        return int(self.bits.nbytes)
