// `npm run test:cluster` alone: the Galera cluster test starts three mariadbd of its own (about 45 s wall with the cluster's
// start-up on this 2-core machine under load 8); .ci/run runs it once, beside the passes of the whole suite.
const { projects, ...shared } = require('./jest.config');

const server = projects.find((project) => project.displayName === 'server');

module.exports = {
  ...shared,
  projects: [{ ...server, displayName: 'cluster', roots: ['<rootDir>/tests/cluster'], testPathIgnorePatterns: ['/node_modules/'], testTimeout: 120_000 }],
};
