import ipaddr from 'ipaddr.js';

/**
 * The unit a per-IP budget counts. One host is routinely given a whole IPv6
 * /64 (SLAAC, privacy addresses), so counting IPv6 per address would hand it
 * 2^64 budgets; an IPv4 client is its address. An IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`, how a dual-stack socket reports IPv4 peers) is that IPv4
 * address, so the two spellings share one budget.
 */
export function budgetKey(ip: string): string {
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process() turns an IPv4-mapped address into its IPv4 form.
    address = ipaddr.process(ip);
  } catch {
    // Not an address (a test rig's socket without one): counted as given.
    return ip;
  }
  if (address.kind() === 'ipv4') return address.toString();
  const parts = (address as ipaddr.IPv6).parts;
  return `${new ipaddr.IPv6([...parts.slice(0, 4), 0, 0, 0, 0]).toRFC5952String()}/64`;
}
