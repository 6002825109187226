import { createHash } from 'node:crypto';
import type { DataSource, EntityManager, EntityMetadata, ObjectLiteral } from 'typeorm';
import type { DatabaseConfig } from '../config';
import { openDatabase } from '../db/data-source';
import type { Database } from '../db/database';
import { dialectNamed, type DialectName } from '../db/dialects';
import { checkFailed, refused } from './admin.errors';

export interface TableCopy {
  table: string;
  rows: number;
  /** SHA-256 over the table's rows, as each database's entity mapping reads them back, in one canonical form. */
  checksum: string;
}

export interface MigrationReport {
  from: DialectName;
  to: DialectName;
  tables: TableCopy[];
}

/** Rows per INSERT, and the bytes one INSERT may carry (wallets are up to MAX_WALLET_BYTES each; max_allowed_packet is often 16 MiB). */
const BATCH_ROWS = 200;
const BATCH_BYTES = 4 * 1024 * 1024;
const PAGE_ROWS = 500;

/**
 * Copies every table of the embedded database into an empty server database,
 * then proves the copy: the same row count and the same checksum on both sides
 * for each table, each computed from the rows as that database reads them back.
 * The target's schema comes from its own migrations, run first. Refused while a
 * server holds the embedded database (its later writes would be lost) and when the
 * target already holds data. Nothing is written to the source.
 */
export async function migrateToServer(source: DatabaseConfig, target: DatabaseConfig): Promise<MigrationReport> {
  const fromDialect = dialectNamed(source.dialect);
  const toDialect = dialectNamed(target.dialect);
  if (!fromDialect.admin.assertAlone) {
    throw refused(`migrate-to copies from the embedded database: DATABASE_URL is ${fromDialect.title}, a server database`, 'NOT_EMBEDDED');
  }
  if (toDialect.admin.assertAlone) throw refused(`migrate-to copies into a server database: the URL is ${toDialect.title}, an embedded one`, 'TARGET_EMBEDDED');
  fromDialect.admin.assertAlone(source.url);

  const from = await openDatabase(source);
  let to: Database | undefined;
  try {
    to = await openDatabase(target);
    const tables = tablesInCopyOrder(from.dataSource);
    for (const metadata of tables) {
      const present = await to.dataSource.manager.count(targetMetadata(to.dataSource, metadata.tableName).target);
      if (present > 0) throw refused(`the target database is not empty (${metadata.tableName} has ${present} rows): give migrate-to a new, empty database`, 'TARGET_NOT_EMPTY');
    }
    // One read snapshot of the source for the whole copy.
    await from.dataSource.transaction(async (read) => {
      await to!.dataSource.transaction(async (write) => {
        for (const metadata of tables) {
          const into = targetMetadata(to!.dataSource, metadata.tableName).target;
          for await (const rows of pages(read, metadata)) for (const batch of batches(rows)) await write.insert(into, batch);
        }
        await toDialect.admin.afterCopy?.(write, tables.map((metadata) => metadata.tableName));
      });
    });

    const report: TableCopy[] = [];
    for (const metadata of tables) {
      const copied = await tableDigest(from.dataSource, metadata);
      const landed = await tableDigest(to.dataSource, targetMetadata(to.dataSource, metadata.tableName));
      if (copied.rows !== landed.rows || copied.checksum !== landed.checksum) {
        throw checkFailed(
          `${metadata.tableName} differs after the copy: ${copied.rows} rows (${copied.checksum.slice(0, 12)}) in ${fromDialect.title}, ${landed.rows} (${landed.checksum.slice(0, 12)}) in ${toDialect.title}`,
        );
      }
      report.push({ table: metadata.tableName, rows: copied.rows, checksum: copied.checksum });
    }
    return { from: source.dialect, to: target.dialect, tables: report };
  } finally {
    await to?.close();
    await from.close();
  }
}

/** Every entity's table, each after the tables its foreign keys point to. */
export function tablesInCopyOrder(dataSource: DataSource): EntityMetadata[] {
  const ordered: EntityMetadata[] = [];
  const visit = (metadata: EntityMetadata, path: Set<EntityMetadata>) => {
    if (ordered.includes(metadata) || path.has(metadata)) return;
    path.add(metadata);
    for (const key of metadata.foreignKeys) visit(key.referencedEntityMetadata, path);
    ordered.push(metadata);
  };
  for (const metadata of [...dataSource.entityMetadatas].sort((a, b) => a.tableName.localeCompare(b.tableName))) visit(metadata, new Set());
  return ordered;
}

function targetMetadata(dataSource: DataSource, tableName: string): EntityMetadata {
  const metadata = dataSource.entityMetadatas.find((candidate) => candidate.tableName === tableName);
  if (!metadata) throw new Error(`the target has no entity for table ${tableName}`);
  return metadata;
}

function primaryOrder(metadata: EntityMetadata): Record<string, 'ASC'> {
  return Object.fromEntries(metadata.primaryColumns.map((column) => [column.propertyName, 'ASC' as const]));
}

function* batches(rows: ObjectLiteral[]): Generator<ObjectLiteral[]> {
  let batch: ObjectLiteral[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = JSON.stringify(row).length;
    if (batch.length > 0 && (batch.length >= BATCH_ROWS || bytes + size > BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(row);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

/**
 * Row count and a checksum over every column of every row, with values in one
 * canonical form. The rows' own digests are hashed in sorted order, not in the
 * order the database returns them: a text key sorts by each database's
 * collation (bytes on one, language rules on another), which must not make
 * two equal tables differ.
 */
export async function tableDigest(dataSource: DataSource, metadata: EntityMetadata): Promise<{ rows: number; checksum: string }> {
  const columns = metadata.columns.map((column) => column.propertyName).sort();
  const digests: string[] = [];
  for await (const rows of pages(dataSource.manager, metadata)) {
    for (const row of rows) digests.push(createHash('sha256').update(JSON.stringify(columns.map((name) => canonical(row[name])))).digest('hex'));
  }
  const hash = createHash('sha256');
  for (const digest of digests.sort()) hash.update(`${digest}\n`);
  return { rows: digests.length, checksum: hash.digest('hex') };
}

/** The table's rows in primary-key order, a page at a time (wallets are large: never the whole table in memory). */
async function* pages(manager: EntityManager, metadata: EntityMetadata): AsyncGenerator<ObjectLiteral[]> {
  for (let skip = 0; ; skip += PAGE_ROWS) {
    const rows = await manager.find(metadata.target, { order: primaryOrder(metadata), skip, take: PAGE_ROWS });
    if (rows.length > 0) yield rows;
    if (rows.length < PAGE_ROWS) return;
  }
}

/** Each database's driver hands back its own types (a date as text or a Date, a boolean as 1 or true): one form for all. */
function canonical(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
  return value ?? null;
}
