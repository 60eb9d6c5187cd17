#!/usr/bin/env python3
"""Independent reference for pixelgrad's default random generator (src/random.ts).

Seeding: four 32-bit words from a splitmix32-style mixer (constant 0x9e3779b9, multipliers
0x85ebca6b and 0xc2b2ae35); generator: xoshiro128** (Blackman & Vigna); doubles take 27 + 26
bits of two draws; normals by Box-Muller, the sine value kept for the next call.
Prints the values that test/tensor.test.ts expects for seed 42:

    python3 tools/random_reference.py
"""
import math

M32 = 0xFFFFFFFF


def seed_state(seed):
    x = (seed & M32) ^ (seed >> 32)
    s = []
    for _ in range(4):
        x = (x + 0x9E3779B9) & M32
        z = x
        z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
        z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
        s.append((z ^ (z >> 16)) & M32)
    return s


def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M32


class Xoshiro128ss:
    def __init__(self, seed):
        self.s = seed_state(seed)
        self.spare = None

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & M32, 7) * 9) & M32
        t = (s[1] << 9) & M32
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]
        s[2] ^= t; s[3] = rotl(s[3], 11)
        return result

    def random(self):
        hi = self.next() >> 5
        lo = self.next() >> 6
        return (hi * 67108864 + lo) / 9007199254740992

    def normal(self):
        if self.spare is not None:
            v, self.spare = self.spare, None
            return v
        u = 0.0
        while u == 0.0:
            u = self.random()
        v = self.random()
        r = math.sqrt(-2 * math.log(u))
        self.spare = r * math.sin(2 * math.pi * v)
        return r * math.cos(2 * math.pi * v)


if __name__ == "__main__":
    g = Xoshiro128ss(42)
    print("uint32:", [g.next() for _ in range(4)])
    print("random:", [repr(g.random()) for _ in range(2)])
    print("normal:", [repr(g.normal()) for _ in range(3)])
