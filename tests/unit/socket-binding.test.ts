import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { MAX_BUFFERED_BYTES, SocketBinding } from '../../src/http/socket-binding';

/**
 * A ws socket with `bufferedAmount` bytes waiting to go out, over a TCP socket that records its corks. What it is
 * given to send waits in `callbacks` until writeAll() "writes" it (with `failWith`, a failed write).
 */
function fakeSocket(bufferedAmount: number, failWith?: Error) {
  const events: string[] = [];
  const callbacks: Array<(error?: Error) => void> = [];
  const socket = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount,
    protocol: 'graphql-transport-ws',
    send: (data: string, done: (error?: Error) => void) => {
      events.push(`send ${data}`);
      callbacks.push(done);
    },
    close: (code: number, reason: string) => events.push(`close ${code} ${reason}`),
  };
  const transport = { cork: () => events.push('cork'), uncork: () => events.push('uncork') };
  const failures: Error[] = [];
  const binding = new SocketBinding(socket as unknown as WebSocket, '127.0.0.1', 1, transport as unknown as Socket, (_binding, error) =>
    failures.push(error),
  );
  const writeAll = () => callbacks.splice(0).forEach((done) => done(failWith));
  return { binding, events, failures, writeAll };
}

/** After the promises of the current batch of work and the ticks they queued. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Issue 25, item 1: a peer that does not read leaves what the server sends in the socket's buffer. Past
 * MAX_BUFFERED_BYTES (256 KiB) the connection is closed with 4429 and nothing more is queued. (Over a real socket the
 * kernel's buffers, several MiB on loopback, fill first, and this schema's events are too small to fill them in a test.)
 */
describe('a socket binding whose peer does not read', () => {
  it.each([
    ['nothing waits', 0, false],
    ['exactly 256 KiB wait', MAX_BUFFERED_BYTES, false],
    ['one byte over 256 KiB waits', MAX_BUFFERED_BYTES + 1, true],
  ])('when %s to go out (%d bytes), then the message is refused and the socket closed with 4429: %s', async (_case, buffered, closed) => {
    const { binding, events, writeAll } = fakeSocket(buffered);
    const sending = binding.send('{"type":"next"}');
    writeAll();
    await sending;
    expect(events.filter((event) => !event.includes('cork'))).toEqual([closed ? 'close 4429 Not reading: too much waiting to be sent' : 'send {"type":"next"}']);
  });
});

/**
 * An operation's answer (next, then complete) leaves in one write: the binding corks the TCP socket at the first
 * message of a batch of work and uncorks it once the batch's promises have settled. Meanwhile graphql-ws must go on
 * without waiting for the write, but only while the peer keeps up: a peer that lags keeps the old pace.
 */
describe('a socket binding answering an operation', () => {
  it('when the peer keeps up, then next and complete are sent before the socket is uncorked, in one write', async () => {
    const { binding, events } = fakeSocket(0);
    await binding.send('next');
    await binding.send('complete');
    expect(events).toEqual(['cork', 'send next', 'send complete']);
    await settled();
    expect(events).toEqual(['cork', 'send next', 'send complete', 'uncork']);
  });

  it('when a message reported as sent then fails to be written, then the failure is reported', async () => {
    const failure = new Error('EPIPE');
    const { binding, failures, writeAll } = fakeSocket(0, failure);
    await binding.send('next');
    writeAll();
    expect(failures).toEqual([failure]);
  });

  it('when the peer lags (something still waits to go out), then a message resolves only once it is written', async () => {
    const { binding, events, writeAll } = fakeSocket(1);
    let sent = false;
    const sending = binding.send('next').then(() => (sent = true));
    await settled();
    expect({ sent, events }).toEqual({ sent: false, events: ['cork', 'send next', 'uncork'] });
    writeAll();
    await sending;
    expect(sent).toBe(true);
  });

  it("when a lagging peer's write fails, then send rejects, as before, and nothing else is told", async () => {
    const failure = new Error('EPIPE');
    const { binding, writeAll, failures } = fakeSocket(1, failure);
    const sending = binding.send('next');
    writeAll();
    await expect(sending).rejects.toBe(failure);
    expect(failures).toEqual([]);
  });
});
