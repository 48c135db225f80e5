"""numpy's draws read faster from the generator's raw bits: the sign-flip permutation test's
random signs (:func:`judgelab.stats.resampling.sign_flip_test`), numpy's ``integers(0, 2)``
draws, and the perfectly-calibrated null's Bernoulli outcomes
(:func:`judgelab.stats.calibration.confidence_metrics.ece_null`), ``random() < c``."""

from __future__ import annotations

import functools

import numpy as np


class IntegerFlips:
    """``rng.integers(0, 2, size=(b, m), dtype=np.int8)``: the sign-flip draws."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def __call__(self, b: int, m: int) -> np.ndarray:
        return self.rng.integers(0, 2, size=(b, m), dtype=np.int8)


class BitFlips:
    """The same draws as :class:`IntegerFlips` on a fresh generator, from its raw bits.

    numpy fills an int8 array of ``integers(0, 2)`` from 32-bit words (the generator's
    ``next_uint32``: the low half of a 64-bit output, then its high half, which is kept for
    the next call), one byte per value, lowest byte first, and maps a byte to 0 or 1 by
    Lemire's method, which for two values is the byte's top bit (never a rejection). Reading
    ``random_raw`` does the same in a few vectorised passes, five times faster. Used only
    while :func:`bit_flips_match` confirms that this numpy draws exactly so.

    The returned array is a view of a buffer the next call overwrites (a fresh array per
    block, and joining the kept half word to the new words, cost more than the draws)."""

    def __init__(self, rng: np.random.Generator):
        self.bits = rng.bit_generator
        self.kept = np.empty(0, dtype=np.uint32)  # the high half of the last output, unread
        self.buffer = np.empty(0, dtype=np.uint8)

    def __call__(self, b: int, m: int) -> np.ndarray:
        n = b * m
        words = (n + 3) // 4 - len(self.kept)
        raw = self.bits.random_raw((words + 1) // 2).view(np.uint32)
        if self.buffer.size < n:
            self.buffer = np.empty(n, dtype=np.uint8)
        out = self.buffer[:n]
        # the stream is the kept word's bytes, then the new words' bytes
        head = min(4 * len(self.kept), n)
        np.right_shift(self.kept.view(np.uint8)[:head], 7, out=out[:head])
        np.right_shift(raw.view(np.uint8)[: n - head], 7, out=out[head:])
        self.kept = raw[words:].copy()
        return out.view(np.int8).reshape(b, m)


@functools.cache
def bit_flips_match() -> bool:
    """Whether :class:`BitFlips` reproduces ``Generator.integers`` here (checked once per
    process on block shapes that leave every carry state: odd word counts, partial words)."""
    ok = np.little_endian
    shapes = [(3, 5), (2, 7), (1, 1), (4, 4), (5, 3), (2, 2), (1, 3), (7, 9), (64, 33)]
    for seed in (0, 12345):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        fast, slow = BitFlips(a), IntegerFlips(b)
        ok = ok and all(np.array_equal(fast(*sh), slow(*sh)) for sh in shapes)
    return bool(ok)


class UniformBelow:
    """``rng.random((m, len(c))) < c`` (``c`` one probability per column), row by row into
    a boolean array, from the generator's raw bits: the same outcomes, one pass fewer.

    PCG64's ``random()`` is ``(x >> 11) * 2**-53`` of its next 64-bit output ``x``, so for an
    integer ``x``: u < c  <=>  x >> 11 < c * 2**53  <=>  x >> 11 < K = ceil(c * 2**53)  <=>
    x <= K * 2**11 - 1 (c * 2**53 and its ceiling are exact in float64). c >= 1 gives
    K = 2**53 and the limit 2**64 - 1 (always); c <= 0 gives K = 0 (never: those columns are
    cleared after the compare, the limit having wrapped). Used only on a PCG64 generator
    while :func:`uniform_bits_match` confirms that this numpy draws exactly so."""

    def __init__(self, rng: np.random.Generator, c: np.ndarray):
        self.bits = rng.bit_generator
        k = np.ceil(np.clip(np.asarray(c, dtype=float), 0.0, 1.0) * 2.0**53)
        self.never = np.flatnonzero(k == 0)
        with np.errstate(over="ignore"):  # the wrap described above, on uint64 arrays
            self.limit = (k.astype(np.uint64) << np.uint64(11)) - np.uint64(1)

    @staticmethod
    def usable(rng: np.random.Generator) -> bool:
        return type(rng.bit_generator) is np.random.PCG64 and uniform_bits_match()

    def __call__(self, out: np.ndarray) -> None:
        """Fill ``out`` (rows of ``len(c)`` booleans) with the next rows of outcomes."""
        for row in out:
            np.less_equal(self.bits.random_raw(row.size), self.limit, out=row)
        if self.never.size:
            out[:, self.never] = False


@functools.cache
def uniform_bits_match() -> bool:
    """Whether PCG64's ``random()`` is ``(random_raw() >> 11) * 2**-53`` here, so that
    :class:`UniformBelow` gives ``random() < c`` (checked once per process)."""
    ok = True
    for seed in (0, 12345):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        u = a.random(4099)
        x = b.bit_generator.random_raw(4099)
        ok = ok and np.array_equal(u, (x >> np.uint64(11)).astype(float) * 2.0**-53)
        ok = ok and np.array_equal(a.random(7), b.random(7))  # the streams stay in step
    return bool(ok)
