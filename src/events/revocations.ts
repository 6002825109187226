import type { TokensRevokedEvent } from './topics';
import type { EventTransport } from './transport';

/** The live connections of this instance, as the revocation fan-out reaches them. */
export interface RevocationTarget {
  /** Closes the matching connections whose token no longer authenticates. */
  tokensRevoked(event: TokensRevokedEvent): void;
  /** Checks every connection's token again. */
  recheckAll(): Promise<void>;
}

export interface RevocationListener {
  close(): Promise<void>;
}

/**
 * Revocations from every instance (this one included) reach the connections held
 * here. Resolves once this instance hears the others (with Redis: its SUBSCRIBE
 * is confirmed), so the server serves only then. Revocations published while the
 * link was down were lost: when it comes back, every connection's token is checked again.
 */
export async function listenForRevocations(
  transport: EventTransport,
  target: RevocationTarget,
  reportError: (error: unknown, what: string) => void,
): Promise<RevocationListener> {
  const revocations = transport.pubSub.subscribe('TOKENS_REVOKED');
  const forwarding = (async () => {
    for await (const event of revocations) {
      if (event && typeof event.accountId === 'number') target.tokensRevoked({ accountId: event.accountId, deviceId: event.deviceId ?? null });
    }
  })();
  await transport.settled();
  const stopRecheck = transport.onRecovered(() => {
    target.recheckAll().catch((error) => reportError(error, 'checking live connections after the pub/sub link came back'));
  });
  return {
    async close() {
      stopRecheck();
      await revocations.return();
      await forwarding;
    },
  };
}
