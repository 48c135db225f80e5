"""The sign-flip permutation test's random signs (:func:`judgelab.stats.resampling.sign_flip_test`):
numpy's ``integers(0, 2)`` draws, and the same draws read faster from the generator's raw bits."""

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
