// The test suites, one jest project per kind, chosen by folder (README "Development" says what each costs):
//   server            tests/{unit,services,resolvers,integration,golden,api}: everything under tests/ but the folders
//                     below; the API tests run a real server in the test's process (SQLite, or DATABASE_URL's MariaDB)
//   server-processes  tests/processes: processes of their own (the server, the admin CLI, the demo, two instances)
//   server-redis      tests/redis: a Redis at REDIS_URL (skipped with a warning when it is unset; a failure with CI=true)
//   client, client-processes: the client package's own (client/jest.config.js)
// `npm test` runs the server and client projects (the fast set); `npm run test:all` (CI) runs every project.
// tests/outage stops the database server for the whole machine: only `npm run test:outage` runs it (jest.outage.config.js).
// tests/cluster starts a 3-node Galera cluster of its own: only `npm run test:cluster` runs it (jest.cluster.config.js).
const client = require('./client/jest.config');

/** A project of the folder `root`; `ignore` are folders under tests/ it leaves to other projects. */
function project(displayName, root, ignore = []) {
  return {
    displayName,
    rootDir: __dirname,
    roots: [`<rootDir>/${root}`],
    testMatch: ['**/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', ...ignore.map((folder) => `<rootDir>/tests/${folder}/`)],
    testEnvironment: 'node',
    testTimeout: 30_000,
    transform: { '^.+\\.ts$': ['ts-jest', {}] },
    setupFiles: ['reflect-metadata'],
    moduleNameMapper: client.projects[0].moduleNameMapper,
  };
}

module.exports = {
  testTimeout: 30_000,
  // Three workers on this 2-core machine: the processes, browser and socket tests wait on timers and other processes,
  // and a third worker fills those waits. One pass of everything on SQLite (CI=true, jest's cache warm): 231 s with
  // two workers, 194 s with three, 209 s with four (npm test's fast set, which waits more, takes four).
  maxWorkers: 3,
  projects: [
    project('server', 'tests', ['processes', 'redis', 'outage', 'cluster']),
    project('server-processes', 'tests/processes'),
    project('server-redis', 'tests/redis'),
    ...client.projects,
  ],
};
