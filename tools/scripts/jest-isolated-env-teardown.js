// Jest's globalTeardown: removes the empty HOME jest-isolated-env.js made for the run.
module.exports = require('./jest-isolated-env').teardown;
