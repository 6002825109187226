import WebSocket from 'ws';
import type { WalletSyncClientOptions } from 'wallet-sync-client';
import type { TestServer } from '../../../tests/helpers/app';

/** How many `operation`s the server answered over `transport` (its per-transport metric). */
export async function served(server: TestServer, operation: string, transport: 'http' | 'websocket'): Promise<number> {
  const { values } = await server.app.metrics.graphqlRequests.get();
  return values.filter((v) => v.labels.operation === operation && v.labels.transport === transport).reduce((sum, v) => sum + v.value, 0);
}

/** A device's WebSockets under a test's control: counted, cut and refused, or dropped in the middle of an upload. */
export interface SocketControl {
  /** For WalletSyncClientOptions.webSocket. */
  readonly webSocket: WalletSyncClientOptions['webSocket'];
  /** The sockets that reached the server so far. */
  opened(): number;
  /** Kills every open socket, and new ones fail to connect until restore(). */
  cut(): void;
  restore(): void;
  /**
   * The socket drops at a point of the next upload: before it leaves ('unsent':
   * the server never runs it), or once the server has answered, with the
   * answer lost ('unanswered': it ran).
   */
  dropNextUpload(at: 'unsent' | 'unanswered'): void;
}

export function controlledWebSockets(): SocketControl {
  let down = false;
  let opened = 0;
  const open = new Set<WebSocket>();
  let dropAt: 'unsent' | 'unanswered' | null = null;
  let uploadId: string | null = null;
  class ControlledWebSocket extends WebSocket {
    constructor(address: string, ...rest: unknown[]) {
      // Port 1 on loopback refuses at once, as a server that is down does.
      super(down ? 'ws://127.0.0.1:1/graphql' : address, ...(rest as []));
      if (down) return;
      opened += 1;
      open.add(this);
      this.once('close', () => open.delete(this));
    }
    override send(data: unknown, ...rest: unknown[]): void {
      const message = JSON.parse(String(data)) as { id?: string; type: string; payload?: { query?: string } };
      if (dropAt && message.type === 'subscribe' && message.payload?.query?.includes('updateWalletState')) {
        if (dropAt === 'unsent') return this.dropped();
        uploadId = message.id ?? null;
      }
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
    override emit(event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'message' && uploadId !== null) {
        const message = JSON.parse(String(args[0])) as { id?: string; type: string };
        if (message.id === uploadId) {
          if (message.type === 'complete') this.dropped();
          return true;
        }
      }
      return super.emit(event, ...args);
    }
    private dropped(): void {
      dropAt = null;
      uploadId = null;
      this.terminate();
    }
  }
  return {
    webSocket: ControlledWebSocket as unknown as WalletSyncClientOptions['webSocket'],
    opened: () => opened,
    cut: () => {
      down = true;
      for (const socket of open) socket.terminate();
    },
    restore: () => {
      down = false;
    },
    dropNextUpload: (at) => {
      dropAt = at;
    },
  };
}

export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
