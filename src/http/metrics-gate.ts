import { createHash, timingSafeEqual } from 'node:crypto';
import type { MetricsAccess } from '../config';

/**
 * Whether an Authorization header may read /metrics. The token is compared in
 * constant time: both sides are hashed first, so neither the length nor the
 * first differing byte shows in the timing.
 */
export function metricsGate(access: MetricsAccess): (authorization: string | undefined) => boolean {
  if (access.kind === 'public') return () => true;
  if (access.kind === 'closed') return () => false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  const expected = digest(`Bearer ${access.token}`);
  return (authorization) => timingSafeEqual(digest(authorization ?? ''), expected);
}
