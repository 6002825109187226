import { isIP } from 'node:net';

/**
 * The client's network, coarsened for the security log: IPv4 to its /24, IPv6
 * to its /48 (roughly a site), so the log shows where a login came from without
 * keeping anyone's address. An IPv4 client seen through an IPv6 socket
 * (::ffff:a.b.c.d) counts as IPv4. Null for anything that is not an address.
 */
export function networkPrefix(ip: string | undefined): string | null {
  if (!ip) return null;
  const address = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const v4 = mapped ?? (isIP(address) === 4 ? address : undefined);
  if (v4 !== undefined) {
    if (isIP(v4) !== 4) return null;
    const [a, b, c] = v4.split('.').map(Number);
    return `${a}.${b}.${c}.0/24`;
  }
  if (isIP(address) !== 6) return null;
  const groups = ipv6Groups(address);
  return `${compress([groups[0], groups[1], groups[2], 0, 0, 0, 0, 0])}/48`;
}

/** The eight 16-bit groups of a valid IPv6 address (a dotted IPv4 tail counts as two). */
function ipv6Groups(address: string): number[] {
  const [head, tail = undefined] = address.includes('::') ? address.split('::') : [address];
  const parse = (part: string | undefined): number[] =>
    !part
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [parseInt(group, 16)];
          const [a, b, c, d] = group.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const first = parse(head);
  const last = parse(tail);
  return [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last];
}

/** RFC 5952 text: lower-case hex, the longest run of two or more zero groups as "::". */
function compress(groups: number[]): string {
  let best = { start: -1, length: 0 };
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j += 1;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.length < 2) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}
