import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema as buildSdl, findBreakingChanges } from 'graphql';
import { createSchema, printSchemaSdl } from '../../src/graphql/schema';

const ROOT = path.resolve(__dirname, '..', '..');
const CONTRACT = path.resolve(ROOT, '..', 'shared', 'api', 'contract.graphql');

describe('schema.graphql', () => {
  it('when the code is built, then it prints exactly the committed schema.graphql (run `npm run schema` after changing types)', async () => {
    const committed = readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8');
    expect(printSchemaSdl(await createSchema())).toBe(committed);
  });

  it('when compared with ../shared/api/contract.graphql, then nothing in the contract is removed, renamed or changed', () => {
    if (!existsSync(CONTRACT)) {
      if (process.env.CI === 'true') throw new Error(`${CONTRACT} is missing: CI always has ../shared beside the clone`);
      console.warn(`contract check skipped: ${CONTRACT} is not beside this clone`);
      return;
    }
    const contract = buildSdl(readFileSync(CONTRACT, 'utf8'));
    const ours = buildSdl(readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8'));
    expect(findBreakingChanges(contract, ours)).toEqual([]);
    // Every contract type and field exists in ours.
    for (const [name, type] of Object.entries(contract.getTypeMap())) {
      if (name.startsWith('__')) continue;
      const mine = ours.getType(name);
      expect(mine?.toString()).toBe(name);
      if ('getFields' in type && mine && 'getFields' in mine) {
        expect(Object.keys(mine.getFields())).toEqual(expect.arrayContaining(Object.keys(type.getFields())));
      }
    }
  });
});
