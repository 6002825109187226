import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema as buildSdl, findBreakingChanges, isEnumType, type GraphQLSchema } from 'graphql';
import { createSchema, printSchemaSdl } from '../../src/graphql/schema';

const ROOT = path.resolve(__dirname, '..', '..');
const CONTRACT = contractPath();

/**
 * ../shared/api/contract.graphql beside this checkout, or, for a clone made
 * elsewhere (e.g. in a temporary folder) from a local checkout, beside the
 * checkout it was cloned from.
 */
function contractPath(): string {
  const beside = (checkout: string) => path.resolve(checkout, '..', 'shared', 'api', 'contract.graphql');
  if (existsSync(beside(ROOT))) return beside(ROOT);
  try {
    const origin = execFileSync('git', ['-C', ROOT, 'config', '--get', 'remote.origin.url'], { encoding: 'utf8' }).trim();
    if (origin && path.isAbsolute(origin) && existsSync(beside(origin))) return beside(origin);
  } catch {
    // Not a git checkout, or no origin: only the path beside this checkout.
  }
  return beside(ROOT);
}

/**
 * Contract (protocol 3) names that the server does not serve yet, each with the
 * issue that adds it. This list only shrinks: an entry goes when its issue lands,
 * and it is empty once issues 21 (TOTP), 22 (passkeys) and 23 (live connection) are resolved.
 * A type entry is the whole type; `Type.field` is one field (or one enum value);
 * `Type.field(arg)` is one argument.
 */
const NOT_YET_SERVED: ReadonlyArray<readonly [name: string, issue: number]> = [];

const isSkipped = (name: string) => NOT_YET_SERVED.some(([skipped]) => skipped === name);

/** The contract name a breaking change is about, in the list's notation, or undefined. */
function changedName(description: string): string | undefined {
  const patterns: Array<[RegExp, (m: RegExpExecArray) => string]> = [
    [/^([A-Za-z_][\w.]*) was removed\.$/, (m) => m[1]],
    [/^Standard scalar (\w+) was removed because it is not referenced anymore\.$/, (m) => m[1]],
    [/^(\w+) was removed from enum type (\w+)\.$/, (m) => `${m[2]}.${m[1]}`],
    [/^(\w+\.\w+) arg (\w+) was removed\.$/, (m) => `${m[1]}(${m[2]})`],
  ];
  for (const [pattern, name] of patterns) {
    const match = pattern.exec(description);
    if (match) return name(match);
  }
  return undefined;
}

function breakingChanges(contract: GraphQLSchema, ours: GraphQLSchema): string[] {
  return findBreakingChanges(contract, ours)
    .map((change) => change.description)
    .filter((description) => {
      const named = changedName(description);
      return !(named && isSkipped(named));
    });
}

/** Whether `name` (in the list's notation) is in the schema. */
function serves(schema: GraphQLSchema, name: string): boolean {
  const [, typeName, member, arg] = /^(\w+)(?:\.(\w+))?(?:\((\w+)\))?$/.exec(name) ?? [];
  const type = typeName ? schema.getType(typeName) : undefined;
  if (!type) return false;
  if (!member) return true;
  if (isEnumType(type)) return type.getValue(member) !== undefined;
  if (!('getFields' in type)) return false;
  const field = type.getFields()[member];
  if (!field) return false;
  if (!arg) return true;
  return 'args' in field && field.args.some((a) => a.name === arg);
}

describe('schema.graphql', () => {
  it('when the code is built, then it prints exactly the committed schema.graphql (run `npm run schema` after changing types)', async () => {
    const committed = readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8');
    expect(printSchemaSdl(await createSchema())).toBe(committed);
  });

  it('when compared with ../shared/api/contract.graphql, then nothing in the contract is removed, renamed or changed (but the listed, not yet served names)', () => {
    if (!existsSync(CONTRACT)) {
      if (process.env.CI === 'true') throw new Error(`${CONTRACT} is missing: CI always has ../shared beside the clone (or beside the local checkout it was cloned from)`);
      console.warn(`contract check skipped: ${CONTRACT} is not beside this clone`);
      return;
    }
    const contract = buildSdl(readFileSync(CONTRACT, 'utf8'));
    const ours = buildSdl(readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8'));
    expect(breakingChanges(contract, ours)).toEqual([]);
    // Every contract type and field exists in ours.
    for (const [name, type] of Object.entries(contract.getTypeMap())) {
      if (name.startsWith('__') || isSkipped(name)) continue;
      const mine = ours.getType(name);
      expect(mine?.toString()).toBe(name);
      if ('getFields' in type && mine && 'getFields' in mine) {
        const wanted = Object.keys(type.getFields()).filter((field) => !isSkipped(`${name}.${field}`));
        expect(Object.keys(mine.getFields())).toEqual(expect.arrayContaining(wanted));
      }
    }
  });

  it('when a listed name is served already, then it is gone from the list (the list only shrinks)', () => {
    const ours = buildSdl(readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8'));
    const served = NOT_YET_SERVED.filter(([name]) => serves(ours, name));
    expect(served).toEqual([]);
  });

  it('when a name is listed, then the contract has it (the list names only real contract names)', () => {
    if (!existsSync(CONTRACT)) return; // the contract test above says why
    const contract = buildSdl(readFileSync(CONTRACT, 'utf8'));
    expect(NOT_YET_SERVED.filter(([name]) => !serves(contract, name))).toEqual([]);
  });
});
