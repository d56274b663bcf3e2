// Writes each project's test counts to dist/test-results/<project>.json, so that `npm test` can
// print one closing line "N passed, N failed" over all projects.
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

class SummaryReporter {
  constructor(globalConfig) {
    this.globalConfig = globalConfig;
  }

  onRunComplete(contexts, results) {
    const [context] = [...contexts];
    const name = (context && context.config.displayName && context.config.displayName.name) || 'unknown';
    const dir = join(__dirname, '../../dist/test-results');
    mkdirSync(dir, { recursive: true });
    const failedSuites = results.testResults.filter((r) => r.testExecError).length;
    writeFileSync(
      join(dir, `${name}.json`),
      JSON.stringify({
        project: name,
        passed: results.numPassedTests,
        failed: results.numFailedTests + failedSuites,
        skipped: results.numPendingTests + results.numTodoTests,
        finishedAt: new Date().toISOString(),
      }) + '\n',
    );
  }
}

module.exports = SummaryReporter;
