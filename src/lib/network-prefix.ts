import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * The client's network, coarsened for the security log: IPv4 to its /24, IPv6
 * to its /48 (roughly a site), so the log shows where a login came from without
 * keeping anyone's address. An IPv4 client seen through an IPv6 socket
 * (::ffff:a.b.c.d) counts as IPv4. Null for anything that is not an address.
 */
export function networkPrefix(ip: string | undefined): string | null {
  if (!ip) return null;
  // A zone (%eth0) is no part of the network. isIP refuses the shorthand forms ipaddr.js accepts ("1.2.3").
  const bare = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIP(bare) === 0) return null;
  // process() turns an IPv4-mapped address into its IPv4 form.
  const address = ipaddr.process(bare);
  if (address.kind() === 'ipv4') {
    const [a, b, c] = (address as ipaddr.IPv4).octets;
    return `${a}.${b}.${c}.0/24`;
  }
  const parts = (address as ipaddr.IPv6).parts;
  return `${new ipaddr.IPv6([...parts.slice(0, 3), 0, 0, 0, 0, 0]).toRFC5952String()}/48`;
}
