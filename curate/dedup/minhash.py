"""MinHash signatures, datasketch-exact and batched.

**Signatures** reproduce ``datasketch.MinHash(num_perm, seed, scheme).update_batch(shingles)`` bit for
bit (same permutations from ``np.random.RandomState(seed)``, same ``sha1_hash32``), computed for a
batch of documents at once: with numba, one compiled loop does SHA-1, the MurmurHash3 pre-mix and the
permutation-min per shingle; without it, ``hashlib`` and batched numpy. ``hash_function="xxh32"`` is a
faster, *different* hash (``xxhash.xxh32_intdigest``), allowed as an option and recorded in the stats
and the index manifest.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Sequence

import numpy as np

from curate.dedup.shingles import normalise_words
from curate.errors import ConfigError
from curate.jit import HAVE_NUMBA  # numba compiles the hot loops; without it hashlib + numpy (slower)
from curate.jit import njit as _njit

log = logging.getLogger(__name__)

_M32 = np.uint64(0xFFFFFFFF)
_MERSENNE = np.uint64((1 << 61) - 1)
_FMIX1 = np.uint64(0x85EBCA6B)
_FMIX2 = np.uint64(0xC2B2AE35)
_S16, _S13 = np.uint64(16), np.uint64(13)
_XP1, _XP2, _XP3 = np.uint64(2654435761), np.uint64(2246822519), np.uint64(3266489917)
_XP4, _XP5 = np.uint64(668265263), np.uint64(374761393)
_U1, _U7, _U11, _U12, _U13, _U15, _U17, _U18 = (np.uint64(k) for k in (1, 7, 11, 12, 13, 15, 17, 18))
_U19, _U20, _U21, _U25, _U14, _U32, _U8 = (np.uint64(k) for k in (19, 20, 21, 25, 14, 32, 8))


@_njit
def _sha1_first32(buf: np.ndarray, start: int, length: int, w: np.ndarray) -> int:
    """``struct.unpack("<I", sha1(buf[start:start+length]).digest()[:4])[0]`` (datasketch sha1_hash32),
    FIPS 180-4 SHA-1 in int64 arithmetic masked to 32 bits (compiled by numba)."""
    m = 0xFFFFFFFF
    h0, h1, h2, h3, h4 = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
    total = ((length + 8) // 64 + 1) * 64
    bitlen = length * 8
    for blk in range(0, total, 64):
        for t in range(16):
            base = blk + t * 4
            if base + 4 <= length:
                p = start + base
                w[t] = (np.int64(buf[p]) << 24) | (np.int64(buf[p + 1]) << 16) | (np.int64(buf[p + 2]) << 8) \
                    | np.int64(buf[p + 3])
            else:
                word = 0
                for j in range(4):
                    p = base + j
                    if p < length:
                        byte = np.int64(buf[start + p])
                    elif p == length:
                        byte = 0x80
                    elif p >= total - 8:
                        byte = (bitlen >> ((total - 1 - p) * 8)) & 0xFF
                    else:
                        byte = 0
                    word = (word << 8) | byte
                w[t] = word
        for t in range(16, 80):
            x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]
            w[t] = ((x << 1) | (x >> 31)) & m
        a, b, c, d, e = h0, h1, h2, h3, h4
        for t in range(20):
            tmp = ((((a << 5) | (a >> 27)) & m) + ((b & c) | ((~b) & d)) + e + 0x5A827999 + w[t]) & m
            e, d, c, b, a = d, c, ((b << 30) | (b >> 2)) & m, a, tmp
        for t in range(20, 40):
            tmp = ((((a << 5) | (a >> 27)) & m) + (b ^ c ^ d) + e + 0x6ED9EBA1 + w[t]) & m
            e, d, c, b, a = d, c, ((b << 30) | (b >> 2)) & m, a, tmp
        for t in range(40, 60):
            tmp = ((((a << 5) | (a >> 27)) & m) + ((b & c) | (b & d) | (c & d)) + e + 0x8F1BBCDC + w[t]) & m
            e, d, c, b, a = d, c, ((b << 30) | (b >> 2)) & m, a, tmp
        for t in range(60, 80):
            tmp = ((((a << 5) | (a >> 27)) & m) + (b ^ c ^ d) + e + 0xCA62C1D6 + w[t]) & m
            e, d, c, b, a = d, c, ((b << 30) | (b >> 2)) & m, a, tmp
        h0 = (h0 + a) & m
        h1 = (h1 + b) & m
        h2 = (h2 + c) & m
        h3 = (h3 + d) & m
        h4 = (h4 + e) & m
    return ((h0 & 0xFF) << 24) | (((h0 >> 8) & 0xFF) << 16) | (((h0 >> 16) & 0xFF) << 8) | (h0 >> 24)


@_njit
def _rotl32(x: np.uint64, r: np.uint64) -> np.uint64:
    return ((x << r) | (x >> (_U32 - r))) & _M32


@_njit
def _xxh32(buf: np.ndarray, start: int, length: int) -> np.uint64:
    """xxHash32 with seed 0 (``xxhash.xxh32_intdigest``), in uint64 arithmetic masked to 32 bits."""
    p = start
    end = start + length
    if length >= 16:
        v1 = (_XP1 + _XP2) & _M32
        v2 = _XP2
        v3 = np.uint64(0)
        v4 = (np.uint64(1 << 32) - _XP1) & _M32
        limit = end - 16
        while p <= limit:
            for lane in range(4):
                q = p + lane * 4
                x = np.uint64(buf[q]) | (np.uint64(buf[q + 1]) << _U8) | (np.uint64(buf[q + 2]) << _U8 * np.uint64(2)) \
                    | (np.uint64(buf[q + 3]) << np.uint64(24))
                if lane == 0:
                    v1 = (_rotl32((v1 + x * _XP2) & _M32, _U13) * _XP1) & _M32
                elif lane == 1:
                    v2 = (_rotl32((v2 + x * _XP2) & _M32, _U13) * _XP1) & _M32
                elif lane == 2:
                    v3 = (_rotl32((v3 + x * _XP2) & _M32, _U13) * _XP1) & _M32
                else:
                    v4 = (_rotl32((v4 + x * _XP2) & _M32, _U13) * _XP1) & _M32
            p += 16
        h = (_rotl32(v1, _U1) + _rotl32(v2, _U7) + _rotl32(v3, _U12) + _rotl32(v4, _U18)) & _M32
    else:
        h = _XP5
    h = (h + np.uint64(length)) & _M32
    while p + 4 <= end:
        x = np.uint64(buf[p]) | (np.uint64(buf[p + 1]) << _U8) | (np.uint64(buf[p + 2]) << np.uint64(16)) \
            | (np.uint64(buf[p + 3]) << np.uint64(24))
        h = (_rotl32((h + x * _XP3) & _M32, _U17) * _XP4) & _M32
        p += 4
    while p < end:
        h = (_rotl32((h + np.uint64(buf[p]) * _XP5) & _M32, _U11) * _XP1) & _M32
        p += 1
    h ^= h >> _U15
    h = (h * _XP2) & _M32
    h ^= h >> _U13
    h = (h * _XP3) & _M32
    h ^= h >> np.uint64(16)
    return h


@_njit
def _signature_kernel(buf: np.ndarray, doc_off: np.ndarray, n: int, a: np.ndarray, b: np.ndarray,
                      hash_kind: int, legacy: bool, out: np.ndarray, nsh: np.ndarray) -> None:
    """MinHash of every document ``buf[doc_off[d]:doc_off[d+1]]`` (words joined by single spaces):
    for each shingle of ``n`` words, hash (0: sha1_32, 1: xxh32), then datasketch's permutation."""
    w = np.empty(80, np.int64)
    num_perm = a.shape[0]
    maxlen = 0
    for d in range(doc_off.shape[0] - 1):
        maxlen = max(maxlen, doc_off[d + 1] - doc_off[d])
    starts = np.empty(maxlen // 2 + 2, np.int64)
    ends = np.empty(maxlen // 2 + 2, np.int64)
    mins = np.empty(num_perm, np.uint64)
    for d in range(doc_off.shape[0] - 1):
        lo = doc_off[d]
        hi = doc_off[d + 1]
        nw = 0
        i = lo
        while i < hi:
            while i < hi and buf[i] == 32:
                i += 1
            if i >= hi:
                break
            starts[nw] = i
            while i < hi and buf[i] != 32:
                i += 1
            ends[nw] = i
            nw += 1
        if nw < n:
            nsh[d] = 0
            continue
        for k in range(num_perm):
            mins[k] = _M32
        for j in range(nw - n + 1):
            s = starts[j]
            length = ends[j + n - 1] - s
            if hash_kind == 0:
                hv = np.uint64(_sha1_first32(buf, s, length, w))
            else:
                hv = _xxh32(buf, s, length)
            if legacy:
                for k in range(num_perm):
                    v = ((a[k] * hv + b[k]) % _MERSENNE) & _M32
                    if v < mins[k]:
                        mins[k] = v
            else:
                h = hv ^ (hv >> _S16)
                h = (h * _FMIX1) & _M32
                h ^= h >> _S13
                h = (h * _FMIX2) & _M32
                h ^= h >> _S16
                for k in range(num_perm):
                    v = (a[k] * h + b[k]) & _M32
                    if v < mins[k]:
                        mins[k] = v
        for k in range(num_perm):
            out[d, k] = mins[k]
        nsh[d] = nw - n + 1


_MERSENNE_PRIME = (1 << 61) - 1


def permutations(num_perm: int, seed: int, scheme: str) -> np.ndarray:
    """The ``(a, b)`` permutation parameters of ``datasketch.MinHash(num_perm, seed, scheme).permutations``,
    drawn the same way from ``np.random.RandomState(seed)`` (datasketch >= 2.0), without importing datasketch:
    its package import pulls in scipy (0.15 s of a run's start-up, ``benchmarks/bench_fixed_cost.py``).
    ``tests/test_dedup.py`` checks them against datasketch's own."""
    gen = np.random.RandomState(seed)
    if scheme == "legacy":
        return np.array([(gen.randint(1, _MERSENNE_PRIME, dtype=np.uint64),
                          gen.randint(0, _MERSENNE_PRIME, dtype=np.uint64)) for _ in range(num_perm)],
                        dtype=np.uint64).T
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return np.array([a, b])


class MinHasher:
    """Batched MinHash signatures, value for value those of ``datasketch.MinHash(num_perm, seed, scheme)``
    updated with :func:`shingles` (``update_batch``), hashed by ``sha1_hash32`` or ``xxh32``."""

    def __init__(self, num_perm: int = 112, seed: int = 1, ngram_size: int = 5, scheme: str = "affine32",
                 hash_function: str = "sha1_32", use_numba: bool = True) -> None:
        if scheme not in ("affine32", "legacy"):
            raise ConfigError(f"unknown MinHash scheme {scheme!r}; known: affine32, legacy")
        if hash_function not in ("sha1_32", "xxh32"):
            raise ConfigError(f"unknown hash_function {hash_function!r}; known: sha1_32, xxh32")
        perms = permutations(num_perm, seed, scheme)
        self.a = np.asarray(perms[0], dtype=np.uint64)
        self.b = np.asarray(perms[1], dtype=np.uint64)
        self.num_perm = num_perm
        self.seed = seed
        self.ngram_size = ngram_size
        self.scheme = scheme
        self.hash_function = hash_function
        self.use_numba = use_numba
        if not HAVE_NUMBA:
            log.warning("numba is not installed: MinHash signatures use the slower hashlib path "
                        "(pip install numba)")

    @staticmethod
    def encode(texts: Sequence[str | None], languages: Sequence[str | None] | None = None) -> list[bytes]:
        """Each text's words (:func:`normalise_words`) joined by single spaces, UTF-8."""
        buf, off = normalise_words(texts, languages)
        raw = buf.tobytes()
        return [raw[off[i] : off[i + 1]] for i in range(len(texts))]

    def signatures(self, texts: Sequence[str | None],
                   languages: Sequence[str | None] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(signatures uint32 [docs, num_perm], shingle counts int64 [docs])``; a document with no
        shingle (fewer words than ``ngram_size``) has count 0 and an all-0xFFFFFFFF row."""
        buf, off = normalise_words(texts, languages)
        return self.signatures_normalised(buf, off)

    def signatures_encoded(self, encoded: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Signatures of already-normalised documents (words joined by single spaces, UTF-8)."""
        lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
        off = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(lengths, out=off[1:])
        return self.signatures_normalised(np.frombuffer(b"".join(encoded), dtype=np.uint8), off)

    def signatures_normalised(self, buf: np.ndarray, off: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_docs = off.shape[0] - 1
        out = np.full((n_docs, self.num_perm), 0xFFFFFFFF, dtype=np.uint32)
        nsh = np.zeros(n_docs, dtype=np.int64)
        if n_docs == 0:
            return out, nsh
        if not (HAVE_NUMBA and self.use_numba):
            raw = buf.tobytes()
            self._signatures_python([raw[off[i] : off[i + 1]] for i in range(n_docs)], out, nsh)
            return out, nsh
        if buf.size == 0:
            buf = np.zeros(1, dtype=np.uint8)
        _signature_kernel(buf, off, self.ngram_size, self.a, self.b, 0 if self.hash_function == "sha1_32" else 1,
                          self.scheme == "legacy", out, nsh)
        return out, nsh

    def _hash_values(self, grams: list[bytes]) -> np.ndarray:
        if self.hash_function == "sha1_32":
            sha1 = hashlib.sha1
            return np.frombuffer(b"".join([sha1(g).digest() for g in grams]), dtype="<u4")[::5].astype(np.uint64)
        try:
            import xxhash
        except ImportError:
            raise ConfigError("hash_function xxh32 needs numba or xxhash: pip install numba") from None
        return np.fromiter((xxhash.xxh32_intdigest(g) for g in grams), dtype=np.uint64, count=len(grams))

    def _signatures_python(self, encoded: Sequence[bytes], out: np.ndarray, nsh: np.ndarray) -> None:
        n = self.ngram_size
        a, b = self.a[None, :], self.b[None, :]
        for d, text in enumerate(encoded):
            words = text.split()
            if len(words) < n:
                continue
            grams = [b" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
            hv = self._hash_values(grams)[:, None]
            if self.scheme == "legacy":
                phv = ((hv * a + b) % _MERSENNE) & _M32
            else:
                hv = hv ^ (hv >> _S16)
                hv = (hv * _FMIX1) & _M32
                hv ^= hv >> _S13
                hv = (hv * _FMIX2) & _M32
                hv ^= hv >> _S16
                phv = (hv * a + b) & _M32
            out[d] = phv.min(axis=0)
            nsh[d] = len(grams)


@functools.lru_cache(maxsize=4)
def _hasher(num_perm: int, seed: int, ngram_size: int, scheme: str, hash_function: str) -> MinHasher:
    return MinHasher(num_perm, seed, ngram_size, scheme, hash_function)
