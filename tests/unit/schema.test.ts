import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema as buildSdl, findBreakingChanges, type GraphQLSchema } from 'graphql';
import { createSchema, printSchemaSdl } from '../../src/graphql/schema';

const ROOT = path.resolve(__dirname, '..', '..');
const CONTRACT = path.resolve(ROOT, '..', 'shared', 'api', 'contract.graphql');

/**
 * Contract (protocol 2) names that the server does not serve yet, each with the
 * issue that adds it. This list only shrinks: an entry goes when its issue lands,
 * and it is empty once issues 11 (security) and 13 (history) are resolved.
 * A type entry is the whole type; a `Type.field` entry is one field.
 */
const NOT_YET_SERVED: ReadonlyArray<readonly [name: string, issue: number]> = [
];

const isSkipped = (name: string) => NOT_YET_SERVED.some(([skipped]) => skipped === name);

function breakingChanges(contract: GraphQLSchema, ours: GraphQLSchema): string[] {
  return findBreakingChanges(contract, ours)
    .map((change) => change.description)
    .filter((description) => {
      const named = /^([A-Za-z_][\w.]*) was removed\.$/.exec(description)?.[1];
      return !(named && isSkipped(named));
    });
}

describe('schema.graphql', () => {
  it('when the code is built, then it prints exactly the committed schema.graphql (run `npm run schema` after changing types)', async () => {
    const committed = readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8');
    expect(printSchemaSdl(await createSchema())).toBe(committed);
  });

  it('when compared with ../shared/api/contract.graphql, then nothing in the contract is removed, renamed or changed (but the listed, not yet served names)', () => {
    if (!existsSync(CONTRACT)) {
      if (process.env.CI === 'true') throw new Error(`${CONTRACT} is missing: CI always has ../shared beside the clone`);
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
    const served = NOT_YET_SERVED.filter(([name]) => {
      const [typeName, field] = name.split('.');
      const type = ours.getType(typeName);
      if (!field) return type !== undefined && type !== null;
      return type !== undefined && type !== null && 'getFields' in type && field in type.getFields();
    });
    expect(served).toEqual([]);
  });
});
