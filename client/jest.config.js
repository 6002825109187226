// The client package's tests, one jest project per kind, chosen by folder:
//   client            tests/unit: nothing but this package;
//                     tests/api: the client against a real server in the test's process (the server's sources and
//                     test helpers from the repository around this package; SQLite unless DATABASE_URL says otherwise)
//   client-processes  tests/processes: processes of their own (npm pack, the CLI, Chromium, codegen, concurrent writers);
//                     tests/convergence: long randomized runs of many devices
// `npm test` here runs the client project, `npm run test:all` both; the top-level jest.config.js runs them too.
const path = require('node:path');

const source = (file) => path.join(__dirname, 'src', file);

/** A project of the folders `folders` under tests/. */
function project(displayName, folders) {
  return {
    displayName,
    rootDir: __dirname,
    roots: folders.map((folder) => `<rootDir>/tests/${folder}`),
    testMatch: ['**/*.test.ts'],
    testEnvironment: 'node',
    testTimeout: 30_000,
    // The top-level tsconfig: the tests against a server compile its decorated sources (type-graphql, TypeORM).
    transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(__dirname, '..', 'tsconfig.json') }] },
    setupFiles: ['reflect-metadata'],
    // The package by its own name, from source, as a wallet app imports it: no build needed to test.
    moduleNameMapper: {
      '^wallet-sync-client$': source('index.ts'),
      '^wallet-sync-client/cli$': source('cli/wallet-sync.cli.ts'),
      '^wallet-sync-client/portable$': source('portable.ts'),
    },
  };
}

module.exports = {
  testTimeout: 30_000,
  maxWorkers: 2,
  projects: [project('client', ['unit', 'api']), project('client-processes', ['processes', 'convergence'])],
};
