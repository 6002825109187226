import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createSchema, printSchemaSdl } from '../src/graphql/schema';

/** Writes schema.graphql from the type-graphql classes (npm run schema). */
async function main() {
  const target = path.resolve(__dirname, '..', 'schema.graphql');
  writeFileSync(target, printSchemaSdl(await createSchema()));
  process.stdout.write(`wrote ${target}\n`);
}

void main();
