// `npm run test:cluster` alone: the Galera cluster test starts three mariadbd of its own (about a minute and a half
// with the cluster's start-up); .ci/run runs it once, beside the passes of the whole suite.
const { projects, ...shared } = require('./jest.config');

const server = projects.find((project) => project.displayName === 'server');

module.exports = {
  ...shared,
  projects: [{ ...server, displayName: 'cluster', roots: ['<rootDir>/tests/cluster'], testPathIgnorePatterns: ['/node_modules/'], testTimeout: 120_000 }],
};
