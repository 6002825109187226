// `npm run test:outage` alone: the outage test stops DATABASE_URL's database server for everything on the machine (.ci/run runs it last).
const { projects, ...shared } = require('./jest.config');

const server = projects.find((project) => project.displayName === 'server');

module.exports = { ...shared, projects: [{ ...server, displayName: 'outage', roots: ['<rootDir>/tests/outage'], testPathIgnorePatterns: ['/node_modules/'] }] };
