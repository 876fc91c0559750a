/** A seeded pseudo-random source (mulberry32): the same seed gives the same month. */
export type Random = () => number;

export function seeded(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer count around `mean`: its integer part plus one with the fractional part's probability. */
export const dither = (rnd: Random, mean: number): number => (mean <= 0 ? 0 : Math.floor(mean + rnd()));
