// A small seeded PRNG (mulberry32) for property-style tests: failures print the seed and reproduce exactly.
export interface Rng {
  readonly seed: number;
  next(): number;
  int(lo: number, hi: number): number;
  bigint(lo: bigint, hi: bigint): bigint;
  pick<T>(items: readonly T[]): T;
}

export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    bigint: (lo, hi) => {
      const span = hi - lo + 1n;
      const r = (BigInt(Math.floor(next() * 2 ** 32)) << 32n) | BigInt(Math.floor(next() * 2 ** 32));
      return lo + (r % span);
    },
    pick: (items) => items[Math.floor(next() * items.length)]!,
  };
}
