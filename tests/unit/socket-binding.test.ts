import type { WebSocket } from 'ws';
import { MAX_BUFFERED_BYTES, SocketBinding } from '../../src/http/socket-binding';

/**
 * Issue 25, item 1: a peer that does not read leaves what the server sends in the socket's buffer. Past
 * MAX_BUFFERED_BYTES (256 KiB) the connection is closed with 4429 and nothing more is queued. (Over a real socket the
 * kernel's buffers, several MiB on loopback, fill first, and this schema's events are too small to fill them in a test.)
 */
function socketWith(bufferedAmount: number) {
  const sent: string[] = [];
  const closes: Array<[number, string]> = [];
  const socket = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount,
    protocol: 'graphql-transport-ws',
    send: (data: string, done: (error?: Error) => void) => {
      sent.push(data);
      done();
    },
    close: (code: number, reason: string) => closes.push([code, reason]),
  };
  return { binding: new SocketBinding(socket as unknown as WebSocket, '127.0.0.1', 1), sent, closes };
}

describe('a socket binding whose peer does not read', () => {
  it.each([
    ['nothing waits', 0, false],
    ['exactly 256 KiB wait', MAX_BUFFERED_BYTES, false],
    ['one byte over 256 KiB waits', MAX_BUFFERED_BYTES + 1, true],
  ])('when %s to go out (%d bytes), then the message is refused and the socket closed with 4429: %s', async (_case, buffered, closed) => {
    const { binding, sent, closes } = socketWith(buffered);
    await binding.send('{"type":"next"}');
    expect({ sent: sent.length, closes }).toEqual(closed ? { sent: 0, closes: [[4429, 'Not reading: too much waiting to be sent']] } : { sent: 1, closes: [] });
  });
});
