import type { Platform } from './descriptor';
import { normalizePlatform } from './platform';

/** Decides whether a platform (of a manifest in an index, say) is wanted. */
export interface PlatformMatcher {
  match(platform: Platform): boolean;
}

/**
 * A matcher that also ranks: `less(a, b)` is true when `a` is strictly preferred to `b`.
 * A platform that does not match is never preferred to one that does.
 */
export interface PlatformMatchComparer extends PlatformMatcher {
  less(a: Platform, b: Platform): boolean;
}

/**
 * Matches platforms equal to `p` after `normalizePlatform` on both sides: same OS,
 * architecture and variant (so `linux/arm64/v8` matches `linux/arm64`, `linux/arm` matches
 * `linux/arm/v7`). The candidate's OS features must all be among `p`'s. The OS version is
 * not compared (berth runs Linux containers only; Windows build matching is not implemented).
 */
export function platformMatcher(p: Platform): PlatformMatcher {
  const want = normalizePlatform(p);
  const features = new Set(want['os.features'] ?? []);
  return {
    match(platform) {
      const got = normalizePlatform(platform);
      return (
        got.os === want.os &&
        got.architecture === want.architecture &&
        got.variant === want.variant &&
        (got['os.features'] ?? []).every((f) => features.has(f))
      );
    },
  };
}

function withoutFeatures(p: Platform): Platform {
  const { 'os.features': _, ...rest } = p;
  return rest;
}

/**
 * Matches any of `platforms`, preferring them in the order given. Among candidates equally
 * preferred, the one with more OS features wins.
 */
export function orderedPlatforms(...platforms: Platform[]): PlatformMatchComparer {
  const matchers = platforms.map(platformMatcher);
  const less = (a: Platform, b: Platform): boolean => {
    for (const m of matchers) {
      const am = m.match(a);
      const bm = m.match(b);
      if (am && !bm) return true;
      if (am && bm) return (a['os.features']?.length ?? 0) > (b['os.features']?.length ?? 0);
      if (bm) return false;
    }
    // Neither matched with its features: rank them again as if they had none.
    if (a['os.features']?.length || b['os.features']?.length) return less(withoutFeatures(a), withoutFeatures(b));
    return false;
  };
  return { match: (p) => matchers.some((m) => m.match(p)), less };
}

/**
 * The platforms a host of platform `p` can run, best first (containerd's compatibility
 * vector): amd64 vN runs vN…v1, then 386; arm vN runs vN down to v5; arm64 runs its own
 * variant, the lower arm64 versions it implies (v9 runs v8.5…v8.1, v8), then arm v8, v7, v6, v5.
 */
export function compatiblePlatforms(p: Platform): Platform[] {
  const n = normalizePlatform(p);
  const base: Platform = { os: n.os, architecture: n.architecture };
  if (n['os.version'] !== undefined) base['os.version'] = n['os.version'];
  if (n['os.features'] !== undefined) base['os.features'] = n['os.features'];
  const variant = (architecture: string, v?: string): Platform => (v ? { ...base, architecture, variant: v } : { ...base, architecture });
  const version = (v: string | undefined): number => (v && /^v\d+$/.test(v) ? Number(v.slice(1)) : Number.NaN);

  switch (n.architecture) {
    case 'amd64': {
      const out = [n];
      for (let v = version(n.variant) - 1; v >= 1; v--) out.push(variant('amd64', `v${v}`));
      return [...out, variant('386')];
    }
    case 'arm': {
      const out = [n];
      for (let v = version(n.variant) - 1; v >= 5; v--) out.push(variant('arm', `v${v}`));
      return out;
    }
    case 'arm64': {
      const arm64 = arm64Versions(n.variant ?? 'v8');
      if (arm64 === undefined) return [];
      const out: Platform[] = [];
      for (const [major, topMinor] of arm64) {
        for (let minor = topMinor; minor >= 0; minor--) out.push(variant('arm64', minor === 0 ? `v${major}` : `v${major}.${minor}`));
      }
      return [...out, ...[8, 7, 6, 5].map((v) => variant('arm', `v${v}`))];
    }
    default:
      return [n];
  }
}

// arm64 v9.x implies v8.(x+5) at most v8.9 (the Arm ARM's feature equivalence, as containerd has it).
function arm64Versions(variant: string): Array<[number, number]> | undefined {
  const m = /^v(8|9)(?:\.(\d))?$/.exec(variant);
  if (!m) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2] ?? 0);
  if (major === 8) return [[8, minor]];
  if (minor > 7) return undefined;
  return [
    [9, minor],
    [8, Math.min(minor + 5, 9)],
  ];
}

/**
 * The matcher for pulling and unpacking on a host of platform `p`: everything
 * `compatiblePlatforms(p)` lists, preferring them in that order. A linux/arm64 host thus
 * takes an arm64 image first, then arm/v8, v7, v6, v5; linux/amd64 takes amd64, then 386.
 */
export function onlyPlatform(p: Platform): PlatformMatchComparer {
  return orderedPlatforms(...compatiblePlatforms(p));
}

/** Like `onlyPlatform` without the compatibility fallbacks: exactly `p`, normalized. */
export function onlyPlatformStrict(p: Platform): PlatformMatchComparer {
  return orderedPlatforms(normalizePlatform(p));
}

/**
 * Ranks two candidates for `Array.prototype.sort`: negative when `a` is preferred, positive
 * when `b` is, 0 when neither is. Candidates that do not match sort last, in their order.
 * `manifests.sort((a, b) => comparePlatforms(onlyPlatform(host), a.platform, b.platform))`.
 */
export function comparePlatforms(matcher: PlatformMatchComparer, a: Platform | undefined, b: Platform | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  if (matcher.less(a, b)) return -1;
  if (matcher.less(b, a)) return 1;
  return 0;
}
