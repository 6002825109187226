/**
 * The floor: what this stack can do at best on this machine. A bare node:http
 * server doing the server's work for walletState and updateWalletState with the
 * same drivers, the same SQL and the same SQLite pragmas, answering the same
 * JSON, with no GraphQL and no ORM in between. Its write is the server's whole
 * write: one transaction holding the lock of the account's row and then of the
 * writer's token (which must still exist), the wallet's compare-and-set and, when it
 * landed, the state's header with its content, the drop of the content that
 * left the kept window, and the WALLET_UPDATED event of the security log. It shares the benchmark's
 * database with the real server (they never run at the same time).
 *
 * On PostgreSQL the statements are rendered as the server's dialect renders
 * them (named prepared statements, $1… placeholders), and the event goes behind
 * the savepoint the server puts it behind.
 *
 * Started by bench/run.ts as its own process: DATABASE_URL as for the server,
 * SQLITE_SYNCHRONOUS to measure the cost of the durability choice,
 * FLOOR_HISTORY=off to measure the cost of the history rows (the write is then
 * the compare-and-set alone, as before wallet history existed). Prints one
 * JSON line with its URL once it listens.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sqliteDriver } from '../src/db/dialects/sqlite-driver';
import mysql from 'mysql2/promise';
import { Pool, type PoolClient } from 'pg';

const Sqlite = sqliteDriver();

interface TokenRow {
  id: number;
  accountId: number;
  expiresAt: Date;
  lastUsedAt: Date;
}

interface TokenWithWallet extends TokenRow {
  wallet: WalletRow | undefined;
}

interface WalletRow {
  encryptedWallet: string;
  hmac: string;
  sequence: number;
  updatedAt: Date;
}

interface WalletWrite {
  encryptedWallet: string;
  hmac: string;
  sequence: number;
}

/** The statements the server's repositories run, and nothing else. */
interface Store {
  findToken(tokenHash: string): Promise<TokenRow | undefined>;
  /** The token and its account's wallet in one statement, as the server reads for walletState. */
  findTokenWithWallet(tokenHash: string): Promise<TokenWithWallet | undefined>;
  touchToken(id: number, now: Date): Promise<void>;
  findWallet(accountId: number): Promise<WalletRow | undefined>;
  /**
   * In one transaction: the account's row and the writer's token locked (Unauthenticated when the token is gone), the
   * conditional INSERT (sequence 1) or UPDATE (sequence = previous) and, when it landed, the history writes. True when
   * it landed.
   */
  compareAndSet(accountId: number, tokenId: number, write: WalletWrite, now: Date): Promise<boolean>;
  close(): Promise<void>;
}

const TOUCH_INTERVAL_MS = 60_000; // as the server: lastUsedAt is refreshed at most once a minute

const TOKEN_COLUMNS =
  't.id, t.account_id AS accountId, t.device_id AS deviceId, t.created_at AS createdAt, t.expires_at AS expiresAt, t.last_used_at AS lastUsedAt';
const TOKEN_SQL = `SELECT ${TOKEN_COLUMNS} FROM auth_tokens t WHERE t.token_hash = ?`;
// As the server: the once-a-minute touch also slides the expiry (TOKEN_TTL_DAYS after the use).
const TOUCH_SQL = 'UPDATE auth_tokens SET last_used_at = ?, expires_at = ? WHERE id = ?';
const TOKEN_TTL_MS = 14 * 24 * 3600_000;
const TOKEN_WALLET_SQL = `SELECT ${TOKEN_COLUMNS}, w.encrypted_wallet AS encryptedWallet, w.hmac, w.sequence, w.updated_at AS updatedAt
  FROM auth_tokens t LEFT JOIN wallets w ON w.account_id = t.account_id WHERE t.token_hash = ?`;
const WALLET_SQL = 'SELECT account_id AS accountId, encrypted_wallet AS encryptedWallet, hmac, sequence, updated_at AS updatedAt FROM wallets WHERE account_id = ?';
const INSERT_SQL = 'INSERT INTO wallets (account_id, encrypted_wallet, hmac, sequence, updated_at) VALUES (?, ?, ?, ?, ?)';
const UPDATE_SQL = 'UPDATE wallets SET encrypted_wallet = ?, hmac = ?, sequence = ?, updated_at = ? WHERE account_id = ? AND sequence = ?';
// The history rows, as the server writes them (device and network prefix as the bench's clients would have them).
const HEADER_SQL = 'INSERT INTO wallet_versions (account_id, sequence, hmac, device_id, updated_at, bytes, encrypted_wallet) VALUES (?, ?, ?, ?, ?, ?, ?)';
const DROP_CONTENT_SQL = 'UPDATE wallet_versions SET encrypted_wallet = NULL WHERE account_id = ? AND sequence = ? AND encrypted_wallet IS NOT NULL';
const EVENT_SQL = 'INSERT INTO account_events (account_id, at, kind, device_id, new_device, sequence, ip_prefix) VALUES (?, ?, ?, ?, ?, ?, ?)';
// As the server (WalletRepository.lockForWriter): the account's row, then the writer's token, locked where the database
// has concurrent writers (SQLite runs one transaction at a time: no clause).
const LOCK_ACCOUNT_SQL = 'SELECT a.id FROM accounts a WHERE a.id = ?';
const LOCK_TOKEN_SQL = 'SELECT t.id FROM auth_tokens t WHERE t.id = ? AND t.account_id = ?';
const FOR_UPDATE = ' FOR UPDATE';
/** The server's default WALLET_VERSIONS_KEPT. */
const VERSIONS_KEPT = 10;
const HISTORY = process.env.FLOOR_HISTORY !== 'off';
const DEVICE = 'device-0';
const IP_PREFIX = '127.0.0.0/24';
const historyParameters = (accountId: number, write: WalletWrite, at: unknown) => ({
  header: [accountId, write.sequence, write.hmac, DEVICE, at, Buffer.byteLength(write.encryptedWallet, 'utf8'), write.encryptedWallet],
  drop: [accountId, write.sequence - VERSIONS_KEPT],
  event: [accountId, at, 'WALLET_UPDATED', DEVICE, null, write.sequence, IP_PREFIX],
});

/** SQLite keeps datetime(3) as 'YYYY-MM-DD HH:MM:SS.SSS' in UTC, as TypeORM writes it. */
const toSqliteTime = (date: Date) => date.toISOString().replace('T', ' ').slice(0, 23);
const fromSqliteTime = (text: string) => new Date(`${text.replace(' ', 'T')}Z`);

function openSqlite(file: string, synchronous: string): Store {
  const db = new Sqlite(file);
  for (const pragma of ['journal_mode = WAL', `synchronous = ${synchronous}`, 'foreign_keys = ON', 'busy_timeout = 5000']) db.pragma(pragma);
  const token = db.prepare<[string], { id: number; accountId: number; expiresAt: string; lastUsedAt: string }>(TOKEN_SQL);
  const touch = db.prepare(TOUCH_SQL);
  type SqliteWallet = { encryptedWallet: string; hmac: string; sequence: number; updatedAt: string };
  const wallet = db.prepare<[number], SqliteWallet>(WALLET_SQL);
  const tokenWallet = db.prepare<[string], { id: number; accountId: number; expiresAt: string; lastUsedAt: string } & SqliteWallet>(TOKEN_WALLET_SQL);
  const lockAccount = db.prepare(LOCK_ACCOUNT_SQL);
  const lockToken = db.prepare(LOCK_TOKEN_SQL);
  const insert = db.prepare(INSERT_SQL);
  const update = db.prepare(UPDATE_SQL);
  const header = db.prepare(HEADER_SQL);
  const dropContent = db.prepare(DROP_CONTENT_SQL);
  const event = db.prepare(EVENT_SQL);
  const casLanded = (accountId: number, write: WalletWrite, at: string): boolean => {
    if (write.sequence === 1) {
      try {
        insert.run(accountId, write.encryptedWallet, write.hmac, 1, at);
        return true;
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return false;
        throw error;
      }
    }
    return update.run(write.encryptedWallet, write.hmac, write.sequence, at, accountId, write.sequence - 1).changes === 1;
  };
  // better-sqlite3 is synchronous: the transaction runs whole within one turn of the event loop.
  const write = db.transaction((accountId: number, tokenId: number, input: WalletWrite, at: string): boolean => {
    lockAccount.get(accountId);
    if (!lockToken.get(tokenId, accountId)) throw new Unauthenticated();
    if (!casLanded(accountId, input, at)) return false;
    if (!HISTORY) return true;
    const p = historyParameters(accountId, input, at);
    header.run(...p.header);
    if (p.drop[1] >= 1) dropContent.run(...p.drop);
    event.run(...p.event);
    return true;
  });
  return {
    async findToken(tokenHash) {
      const row = token.get(tokenHash);
      return row && { ...row, expiresAt: fromSqliteTime(row.expiresAt), lastUsedAt: fromSqliteTime(row.lastUsedAt) };
    },
    async findTokenWithWallet(tokenHash) {
      const row = tokenWallet.get(tokenHash);
      if (!row) return undefined;
      const { encryptedWallet, hmac, sequence, updatedAt, ...token } = row;
      return {
        ...token,
        expiresAt: fromSqliteTime(token.expiresAt),
        lastUsedAt: fromSqliteTime(token.lastUsedAt),
        wallet: sequence === null ? undefined : { encryptedWallet, hmac, sequence, updatedAt: fromSqliteTime(updatedAt) },
      };
    },
    async touchToken(id, now) {
      touch.run(toSqliteTime(now), toSqliteTime(new Date(now.getTime() + TOKEN_TTL_MS)), id);
    },
    async findWallet(accountId) {
      const row = wallet.get(accountId);
      return row && { ...row, updatedAt: fromSqliteTime(row.updatedAt) };
    },
    async compareAndSet(accountId, tokenId, input, now) {
      return write(accountId, tokenId, input, toSqliteTime(now));
    },
    async close() {
      db.close();
    },
  };
}

/** A connection taken from a MariaDB or PostgreSQL pool for one write, and how its dialect says each step. */
interface PooledConnection {
  /** The statement that opens a transaction. */
  begin: string;
  /** Runs one statement; resolves to the rows it changed. */
  run(sql: string, values?: unknown[]): Promise<number>;
  /** Runs a locking SELECT (prepared, as the server's lockForWriter sends it); resolves to the rows it found. */
  lock(sql: string, values: number[]): Promise<number>;
  /** The first state's INSERT: false when another write's row was there first. */
  insertFirst(values: unknown[]): Promise<boolean>;
  /** Whether the event goes behind a savepoint, as the server puts it on this dialect. */
  eventSavepoint: boolean;
  release(): void;
}

/**
 * Store.compareAndSet on a pooled connection, as the server writes: one
 * transaction holding the conditional INSERT (sequence 1) or UPDATE (sequence =
 * previous) and, when it landed, the history writes; the connection goes back
 * to its pool whatever happens.
 */
async function pooledWrite(accountId: number, tokenId: number, write: WalletWrite, now: Date, connection: PooledConnection): Promise<boolean> {
  try {
    await connection.run(connection.begin);
    // As the server's WalletRepository.lockForWriter: the account's row, then the writer's token, which must still exist.
    await connection.lock(LOCK_ACCOUNT_SQL + FOR_UPDATE, [accountId]);
    if ((await connection.lock(LOCK_TOKEN_SQL + FOR_UPDATE, [tokenId, accountId])) === 0) throw new Unauthenticated();
    const landed =
      write.sequence === 1
        ? await connection.insertFirst([accountId, write.encryptedWallet, write.hmac, 1, now])
        : (await connection.run(UPDATE_SQL, [write.encryptedWallet, write.hmac, write.sequence, now, accountId, write.sequence - 1])) === 1;
    if (landed && HISTORY) {
      const p = historyParameters(accountId, write, now);
      await connection.run(HEADER_SQL, p.header);
      if (p.drop[1] >= 1) await connection.run(DROP_CONTENT_SQL, p.drop);
      if (connection.eventSavepoint) await connection.run('SAVEPOINT recoverable');
      await connection.run(EVENT_SQL, p.event);
      if (connection.eventSavepoint) await connection.run('RELEASE SAVEPOINT recoverable');
    }
    await connection.run('COMMIT');
    return landed;
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    connection.release();
  }
}

function openMysql(url: string): Store {
  // The server's pool: TypeORM's mysql driver over a mysql2 pool of 10, in UTC; statements prepared (execute), as the
  // server's dialect runs them.
  const pool = mysql.createPool({ uri: url, connectionLimit: 10, timezone: 'Z', charset: 'utf8mb4_unicode_ci', supportBigNumbers: true, queueLimit: 1000 });
  return {
    async findToken(tokenHash) {
      const [rows] = await pool.execute<mysql.RowDataPacket[]>(TOKEN_SQL, [tokenHash]);
      return rows[0] as TokenRow | undefined;
    },
    async findTokenWithWallet(tokenHash) {
      const [rows] = await pool.execute<mysql.RowDataPacket[]>(TOKEN_WALLET_SQL, [tokenHash]);
      const row = rows[0];
      if (!row) return undefined;
      const { encryptedWallet, hmac, sequence, updatedAt, ...token } = row;
      return { ...(token as TokenRow), wallet: sequence === null ? undefined : { encryptedWallet, hmac, sequence, updatedAt } };
    },
    async touchToken(id, now) {
      await pool.execute(TOUCH_SQL, [now, new Date(now.getTime() + TOKEN_TTL_MS), id]);
    },
    async findWallet(accountId) {
      const [rows] = await pool.execute<mysql.RowDataPacket[]>(WALLET_SQL, [accountId]);
      return rows[0] as WalletRow | undefined;
    },
    async compareAndSet(accountId, tokenId, write, now) {
      const connection = await pool.getConnection();
      // Statements with values as the server's dialect runs them (prepared, mysql2's execute); BEGIN/COMMIT as TypeORM sends them.
      const run = async (sql: string, values?: unknown[]) =>
        (values === undefined ? await connection.query<mysql.ResultSetHeader>(sql) : await connection.execute<mysql.ResultSetHeader>(sql, values as mysql.ExecuteValues[]))[0].affectedRows;
      return pooledWrite(accountId, tokenId, write, now, {
        begin: 'START TRANSACTION',
        run,
        lock: async (sql, values) => (await connection.execute<mysql.RowDataPacket[]>(sql, values))[0].length,
        insertFirst: (values) =>
          run(INSERT_SQL, values).then(
            () => true,
            (error: { code?: string }) => {
              if (error.code !== 'ER_DUP_ENTRY') throw error;
              return false;
            },
          ),
        eventSavepoint: false,
        release: () => connection.release(),
      });
    },
    close: () => pool.end(),
  };
}

/** A statement as PostgreSQL takes it (the server's dialect renders it so): $1… placeholders, camelCase aliases quoted. */
function pgStatement(sql: string): { name: string; text: string } {
  let n = 0;
  const text = sql.replace(/\?/g, () => `$${(n += 1)}`).replace(/\bAS ([a-z]+[A-Z]\w*)/g, 'AS "$1"');
  return { name: `floor_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
}

function openPostgres(url: string): Store {
  // The server's pool: TypeORM's postgres driver over a pg pool of 10, sessions in UTC, and its connect timeout
  // (connectTimeoutMS), which pg-pool also arms on every checkout of a pooled connection: a timer per statement.
  const pool = new Pool({ connectionString: url, max: 10, options: '-c TimeZone=UTC', connectionTimeoutMillis: 5000 });
  const statements = new Map<string, { name: string; text: string }>();
  // Named, so each pooled connection parses a statement once and reuses it, as the server's dialect does.
  const query = async <T = Record<string, unknown>>(on: Pool | PoolClient, sql: string, values: unknown[]) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = pgStatement(sql)));
    return on.query<T & Record<string, unknown>>({ ...statement, values });
  };
  return {
    async findToken(tokenHash) {
      return (await query<TokenRow>(pool, TOKEN_SQL, [tokenHash])).rows[0];
    },
    async findTokenWithWallet(tokenHash) {
      const row = (await query(pool, TOKEN_WALLET_SQL, [tokenHash])).rows[0];
      if (!row) return undefined;
      const { encryptedWallet, hmac, sequence, updatedAt, ...token } = row as unknown as TokenRow & WalletRow;
      return { ...token, wallet: sequence === null ? undefined : { encryptedWallet, hmac, sequence, updatedAt } };
    },
    async touchToken(id, now) {
      await query(pool, TOUCH_SQL, [now, new Date(now.getTime() + TOKEN_TTL_MS), id]);
    },
    async findWallet(accountId) {
      return (await query<WalletRow>(pool, WALLET_SQL, [accountId])).rows[0];
    },
    async compareAndSet(accountId, tokenId, write, now) {
      const connection = await pool.connect();
      // Statements with values go named, as the server's dialect sends them; BEGIN, COMMIT and the savepoints go as they are.
      const run = async (sql: string, values?: unknown[]) => (values === undefined ? await connection.query(sql) : await query(connection, sql, values)).rowCount ?? 0;
      return pooledWrite(accountId, tokenId, write, now, {
        begin: 'BEGIN',
        run,
        lock: async (sql, values) => (await query(connection, sql, values)).rowCount ?? 0,
        insertFirst: async (values) => (await run(`${INSERT_SQL} ON CONFLICT DO NOTHING`, values)) === 1,
        // As the server: the event behind a savepoint, so that a log entry that cannot be written leaves the write standing.
        eventSavepoint: true,
        release: () => connection.release(),
      });
    },
    close: () => pool.end(),
  };
}

const UNAUTHENTICATED = {
  message: 'This token is unknown, expired or revoked: log in again',
  extensions: { code: 'UNAUTHENTICATED' },
};

class Unauthenticated extends Error {}

/** The server's rule (src/context.ts), restated so the floor loads no GraphQL module. */
const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]+)[ \t]*$/i;

async function authenticate(store: Store, authorization: string | undefined): Promise<TokenRow> {
  return checkToken(store, await store.findToken(tokenHashOf(authorization)));
}

function tokenHashOf(authorization: string | undefined): string {
  const token = BEARER.exec(authorization ?? '')?.[1];
  if (!token) throw new Unauthenticated();
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

async function checkToken<T extends TokenRow>(store: Store, row: T | undefined): Promise<T> {
  const now = new Date();
  if (!row || row.expiresAt.getTime() <= now.getTime()) throw new Unauthenticated();
  if (now.getTime() - row.lastUsedAt.getTime() >= TOUCH_INTERVAL_MS) await store.touchToken(row.id, now);
  return row;
}

const walletJson = (w: WalletRow) => ({ encryptedWallet: w.encryptedWallet, sequence: w.sequence, hmac: w.hmac, updatedAt: w.updatedAt.toISOString() });

async function walletState(store: Store, authorization: string | undefined) {
  const { wallet } = await checkToken(store, await store.findTokenWithWallet(tokenHashOf(authorization)));
  return { walletState: wallet ? walletJson(wallet) : null };
}

async function updateWalletState(store: Store, authorization: string | undefined, input: WalletWrite) {
  const { accountId, id: tokenId } = await authenticate(store, authorization);
  if (await store.compareAndSet(accountId, tokenId, input, new Date())) {
    return { updateWalletState: { __typename: 'WalletStateSuccess', walletState: { sequence: input.sequence } } };
  }
  const latest = await store.findWallet(accountId);
  const same = latest && latest.sequence === input.sequence && latest.encryptedWallet === input.encryptedWallet && latest.hmac === input.hmac;
  if (same) return { updateWalletState: { __typename: 'WalletStateSuccess', walletState: { sequence: latest.sequence } } };
  return { updateWalletState: { __typename: 'WalletStateConflict', latest: latest ? { sequence: latest.sequence } : null } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function handle(store: Store, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: string; variables?: { input?: WalletWrite } };
  try {
    // The benchmark sends only these two operations; the floor tells them apart without parsing GraphQL.
    const data = request.query.includes('updateWalletState')
      ? await updateWalletState(store, req.headers.authorization, request.variables!.input!)
      : await walletState(store, req.headers.authorization);
    send(res, 200, { data });
  } catch (error) {
    if (!(error instanceof Unauthenticated)) throw error;
    send(res, 200, { errors: [UNAUTHENTICATED], data: null });
  }
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL ?? '';
  const store = /^(mysql|mariadb):/.test(url)
    ? openMysql(url.replace(/^mariadb:/, 'mysql:'))
    : /^postgres(ql)?:/.test(url)
      ? openPostgres(url)
      : openSqlite(url.replace(/^sqlite:(\/\/)?/, ''), process.env.SQLITE_SYNCHRONOUS ?? 'FULL');
  const server = createServer((req, res) => {
    handle(store, req, res).catch((error: unknown) => {
      process.stderr.write(`floor: ${error instanceof Error ? error.stack : String(error)}\n`);
      if (!res.headersSent) send(res, 500, { errors: [{ message: 'Internal server error' }] });
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
  });
  const stop = () => server.close(() => void store.close().then(() => process.exit(0)));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
