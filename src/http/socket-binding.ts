import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { CloseCode, type WebSocket as GraphqlWsSocket } from 'graphql-ws';
import type { Logger } from 'pino';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import type { Budget } from '../lib/rate-limits';
import type { LiveConnection } from './live-connections';

/**
 * Close codes of a live connection, as the graphql-ws client reads them:
 * 4401 (CloseCode.Unauthorized) is final, so a client does not retry with a
 * token that will never work again; it must log in. 1013 and 1001 are retried.
 */
export const SubscriptionCloseCode = {
  /** No, unknown, expired or revoked token: at connection_init, or later when the token is revoked or expires. */
  Unauthorized: CloseCode.Unauthorized,
  /** The token could not be checked (the database did not answer): retry later. */
  TryAgainLater: 1013,
  /** The server is shutting down. */
  GoingAway: 1001,
  /**
   * Over a WebSocket limit: the account's newest connections exceed WS_MAX_CONNECTIONS_PER_ACCOUNT (the oldest goes),
   * the connection's message budget is spent, or it does not read what it is sent (MAX_BUFFERED_BYTES).
   */
  TooManyRequests: 4429,
} as const;

/**
 * What may wait to go out to one socket. A peer that does not read would
 * otherwise make the server hold everything sent to it (issue 25: twenty such
 * sockets took the server from 118 to 454 MiB); past this it is closed with 4429.
 */
export const MAX_BUFFERED_BYTES = 256 * 1024;

/** What send() returns when the message is on its way (see SocketBinding.send). */
const SENT = Promise.resolve();

/** graphql-ws's pong, without the ping's payload: echoing it let a peer that never reads make the server queue 64 KiB per ping. */
const PONG = JSON.stringify({ type: 'pong' });

/** The keep-alive sweep handles this many groups of sockets in turn, one group per tenth of WS_KEEPALIVE_MS. */
export const KEEPALIVE_SLICES = 10;

/**
 * One socket as graphql-ws sees it: the transport it sends on and reads from,
 * and its `extra` (only what the hooks use, not the upgrade request). All of
 * one socket's state is here; the live-connection registry and the sweep reach
 * it through the socket.
 */
export class SocketBinding implements GraphqlWsSocket {
  /** Whether the peer answered the last keep-alive ping. */
  alive = true;
  /** The payload of the keep-alive ping awaiting its pong: only that pong counts (a peer cannot keep itself alive with unasked pongs). */
  private pingNonce = 0;
  /** Which turn of the keep-alive sweep pings it. */
  readonly slice: number;
  /** When it opened (ms since the epoch), and whether its connection_init came: it has a deadline to send one. */
  readonly openedAt = Date.now();
  initReceived = false;
  /** The per-IP budget of connections without connection_init this socket counts against, until it sends one or closes. */
  pending?: { key: string; budget: PendingUpgrades };
  /** Subscriptions accepted whose stream graphql-ws does not hold yet (they count against the per-connection cap meanwhile). */
  subscribing = 0;
  /** Set once connection_init authenticated it. */
  connection?: LiveConnection;
  /** graphql-ws's handler of the socket's messages. */
  handle?: (data: string) => Promise<void>;
  /** Tells graphql-ws the socket closed. */
  closed?: (code?: number, reason?: string) => Promise<void>;
  /** Whether the TCP socket is corked until the current batch of work is done (see send), and whether its peer kept up. */
  private corked = false;
  private keepingUp = false;

  /** Messages counted in the budget's current window, and when that window ends (ms since the epoch). */
  private budgetUsed = 0;
  private budgetEnds = 0;

  constructor(
    readonly socket: WebSocket,
    readonly ip: string,
    /** The connection's number on this server; a counter, not a UUID, as a UUID string costs ten times the memory. */
    id: number,
    /** The TCP socket beneath `socket` (the upgrade's), which ws writes its frames to. */
    private readonly transport?: Socket,
    /** Told when a message send() already reported as sent could not be written; one function shared by every binding. */
    private readonly sendFailed?: (binding: SocketBinding, error: Error) => void,
  ) {
    this.slice = id % KEEPALIVE_SLICES;
  }

  get protocol(): string {
    return this.socket.protocol;
  }

  /**
   * Sends one message. graphql-ws answers an operation with two (next, then
   * complete) a few promise hops apart; each written on its own costs a write
   * system call and a TCP segment, the most expensive part of an answer over
   * loopback. So the first message of a batch of work corks the TCP socket
   * and the frames written until the work's promises have settled
   * (process.nextTick runs after them) leave in one write.
   *
   * That only works if graphql-ws goes on without waiting for the write
   * itself: while the peer keeps up (nothing was waiting to go out when the
   * batch began) the message counts as sent once it is queued, and a failed
   * write reaches sendFailed. A peer that lags keeps the old pace: each
   * message resolves when it is written, so a subscription's events wait in
   * its stream (bounded, oldest dropped) rather than in the socket's buffer.
   */
  send(data: string): Promise<void> {
    const { socket } = this;
    if (socket.readyState !== socket.OPEN) return SENT;
    if (this.closeIfNotReading()) return SENT;
    if (!this.corked) this.cork();
    if (this.keepingUp) {
      socket.send(data, this.written);
      return SENT;
    }
    return new Promise((resolve, reject) => socket.send(data, (error) => (error ? reject(error) : resolve())));
  }

  private cork(): void {
    this.keepingUp = this.socket.bufferedAmount === 0;
    if (!this.transport) return;
    this.corked = true;
    this.transport.cork();
    process.nextTick(SocketBinding.uncork, this);
  }

  /** ws's callback for a message send() reported as sent: one function per socket rather than a promise and its callbacks per message. */
  private readonly written = (error?: Error) => {
    if (error) this.sendFailed?.(this, error);
  };

  /** After the batch of work that corked it: its frames leave in one write. Static, so no closure is made per batch. */
  private static uncork(binding: SocketBinding): void {
    binding.corked = false;
    binding.transport?.uncork();
  }

  /** Closes with 4429 a socket whose peer leaves more than MAX_BUFFERED_BYTES unread; true when it did. */
  closeIfNotReading(): boolean {
    if (this.socket.bufferedAmount <= MAX_BUFFERED_BYTES) return false;
    this.close(SubscriptionCloseCode.TooManyRequests, 'Not reading: too much waiting to be sent');
    return true;
  }

  /** A keep-alive ping whose pong alone will count as an answer. */
  ping(): void {
    this.alive = false;
    this.pingNonce = randomBytes(4).readUInt32BE(0) || 1;
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(this.pingNonce, 0);
    this.socket.ping(payload);
  }

  /** A pong from the peer: it proves the peer alive only when it answers our own last ping. */
  ponged(payload: Buffer): void {
    if (this.pingNonce !== 0 && payload.length === 4 && payload.readUInt32BE(0) === this.pingNonce) {
      this.alive = true;
      this.pingNonce = 0;
    }
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  /** connection_init came (or the socket closed): from now on it no longer counts against its address's pending budget. */
  settle(): void {
    this.initReceived = true;
    if (!this.pending) return;
    this.pending.budget.release(this.pending.key);
    this.pending = undefined;
  }

  onMessage(handle: (data: string) => Promise<void>): void {
    this.handle = handle;
  }

  /**
   * Counts one message against `budget`, in fixed windows that start with a
   * message; false once the window's points are spent. Two numbers on the
   * socket rather than a rate limiter's keyed store, which holds a record and a
   * timer for every open socket.
   */
  spend(budget: Budget, now: number): boolean {
    if (now >= this.budgetEnds) {
      this.budgetEnds = now + budget.durationSeconds * 1000;
      this.budgetUsed = 0;
    }
    this.budgetUsed += 1;
    return this.budgetUsed <= budget.points;
  }
}

/**
 * Upgrades that have not sent connection_init yet, per client (budgetKey: an
 * IPv4 address, an IPv6 /64). Such a socket costs the server memory and a slot
 * while it proves nothing; without a cap one address could hold thousands for
 * 3 s each, over and over. Counted from the upgrade request on, so upgrades
 * still in their handshake count too.
 */
export class PendingUpgrades {
  private readonly counts = new Map<string, number>();
  /** The upgrade requests not yet handed to a binding, with what they count against. */
  private readonly unbound = new WeakMap<object, string>();

  /** `limit`: at most this many at once per key; undefined lifts it (RATE_LIMITS=off). */
  constructor(private readonly limit: number | undefined) {}

  /** Counts the upgrade on `transport` (its TCP socket) against `key`; false when the key is at its limit. */
  admit(transport: object, key: string): boolean {
    const count = this.counts.get(key) ?? 0;
    if (this.limit !== undefined && count >= this.limit) return false;
    this.counts.set(key, count + 1);
    this.unbound.set(transport, key);
    return true;
  }

  /** The upgrade became a socket: its binding releases the count (settle()) from now on. */
  bind(transport: object, binding: SocketBinding): void {
    const key = this.unbound.get(transport);
    if (key === undefined) return;
    this.unbound.delete(transport);
    binding.pending = { key, budget: this };
  }

  /** The transport closed: releases its count unless a binding took it over (a handshake that failed, or a peer gone before it). */
  dropped(transport: object): void {
    const key = this.unbound.get(transport);
    if (key === undefined) return;
    this.unbound.delete(transport);
    this.release(key);
  }

  release(key: string): void {
    const count = (this.counts.get(key) ?? 1) - 1;
    if (count <= 0) this.counts.delete(key);
    else this.counts.set(key, count);
  }
}

export interface SocketBindingOptions {
  logger: Logger;
  /** Messages one connection may send per window; none when rate limits are off. */
  messageBudget: Budget | undefined;
  /** The client's address, as HTTP reads it. */
  clientIp(request: IncomingMessage): string;
  /** The per-IP budget of sockets without connection_init; the upgrade already counted the socket. */
  pendingUpgrades: PendingUpgrades;
  /** Hands a new binding to graphql-ws; returns what tells graphql-ws it closed. */
  opened(binding: SocketBinding): (code?: number, reason?: string) => Promise<void>;
}

/** Finds the binding of an open socket of the server. */
export type BindingOf = (socket: WebSocket) => SocketBinding | undefined;

/**
 * graphql-ws over `ws`, as graphql-ws's own ws adapter wires it, with what
 * 10,000 open sockets need: the message budget in the message listener,
 * nothing of the upgrade request kept but the address, and listeners shared by
 * every socket (each finds its binding), so a socket costs its binding and
 * little else. Errors close with a bare reason.
 */
export function bindSockets(wss: WebSocketServer, options: SocketBindingOptions): BindingOf {
  const { logger, messageBudget } = options;
  const bindings = new WeakMap<WebSocket, SocketBinding>();
  let connectionsOpened = 0;
  const closeOnError = (binding: SocketBinding, error: unknown, what: string) => {
    logger.error({ err: error }, what);
    binding.close(CloseCode.InternalServerError, 'Internal server error');
  };
  const sendFailed = (binding: SocketBinding, error: Error) => closeOnError(binding, error, 'sending on a WebSocket failed');
  function onSocketMessage(this: WebSocket, data: RawData) {
    const binding = bindings.get(this)!;
    if (messageBudget && !binding.spend(messageBudget, Date.now())) {
      if (this.readyState !== this.OPEN) return;
      logger.info({ limit: 'messages', budget: messageBudget }, 'WebSocket connection over its message budget: closed');
      return this.close(SubscriptionCloseCode.TooManyRequests, 'Too many messages');
    }
    const text = String(data);
    if (isPing(text)) {
      binding.send(PONG).catch((error: unknown) => closeOnError(binding, error, 'answering a WebSocket ping failed'));
      return;
    }
    binding.handle?.(text).catch((error: unknown) => closeOnError(binding, error, 'handling a WebSocket message failed'));
  }
  function onSocketPong(this: WebSocket, payload: Buffer) {
    bindings.get(this)!.ponged(payload);
  }
  /** A protocol-level ping is answered with an empty pong (ws's own answer, autoPong, would echo its payload). */
  function onSocketPing(this: WebSocket) {
    if (this.readyState === this.OPEN && !bindings.get(this)!.closeIfNotReading()) this.pong();
  }
  function onSocketError(this: WebSocket, error: Error) {
    closeOnError(bindings.get(this)!, error, 'WebSocket error: closing the connection');
  }
  function onSocketClose(this: WebSocket, code: number, reason: Buffer) {
    const binding = bindings.get(this)!;
    binding.settle();
    void binding.closed?.(code, String(reason));
  }
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const binding = new SocketBinding(socket, options.clientIp(request), (connectionsOpened += 1), request.socket, sendFailed);
    bindings.set(socket, binding);
    options.pendingUpgrades.bind(request.socket, binding);
    socket.on('message', onSocketMessage);
    socket.on('pong', onSocketPong);
    socket.on('ping', onSocketPing);
    // `on`, not `once`: a socket closes once anyway, and each `once` costs a wrapper and its state per socket.
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    binding.closed = options.opened(binding);
  });
  return (socket) => bindings.get(socket);
}

/** graphql-ws's ping message (`{"type":"ping", payload?}`), answered here so its payload is never echoed. Only text that names "ping" is parsed. */
function isPing(text: string): boolean {
  if (!text.includes('"ping"')) return false;
  try {
    return (JSON.parse(text) as { type?: unknown } | null)?.type === 'ping';
  } catch {
    return false;
  }
}
