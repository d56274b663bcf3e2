import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

// The core's purity rules (no I/O, no clock, no randomness of its own) are enforced by lint.
// ESLint loads the flat config (an .mjs file) with a dynamic import, which jest's VM does not
// allow, so the ESLint API runs in a child Node process: one process lints every sample.
const root = path.resolve(__dirname, '../../..');
const filePath = path.join(root, 'libs/consensus-core/src/forbidden-example.ts');

const LINT_SCRIPT = `
const { ESLint } = require('eslint');
const samples = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
(async () => {
  const eslint = new ESLint({ cwd: ${JSON.stringify(root)} });
  const out = [];
  for (const code of samples) {
    const [r] = await eslint.lintText(code, { filePath: ${JSON.stringify(filePath)} });
    out.push(r.messages.map((m) => m.ruleId || m.message));
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;

const forbidden: [string, string][] = [
  ["import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n", 'no-restricted-imports'],
  ["import * as grpc from '@grpc/grpc-js';\nexport const g = grpc;\n", 'no-restricted-imports'],
  ["import { Ballot } from '@paxos/proto';\nexport type B = Ballot;\n", 'no-restricted-imports'],
  ['export const t = Date.now();\n', 'no-restricted-properties'],
  ['export const r = Math.random();\n', 'no-restricted-properties'],
  ['setTimeout(() => undefined, 1);\n', 'no-restricted-globals'],
];
const clean =
  "import { compareBallots } from './ballot';\nexport const same = compareBallots({ round: 1n, proposerId: 1 }, { round: 1n, proposerId: 1 }) === 0;\n";

describe('lint keeps the consensus core pure', () => {
  let results: string[][] = [];

  beforeAll(() => {
    const stdout = execFileSync(process.execPath, ['-e', LINT_SCRIPT], {
      cwd: root,
      input: JSON.stringify([...forbidden.map(([code]) => code), clean]),
      encoding: 'utf8',
      timeout: 120_000,
    });
    results = JSON.parse(stdout) as string[][];
  }, 120_000);

  it.each(forbidden.map(([code, rule], i) => [code.split('\n')[0], rule, i] as const))('reports %s (%s)', (_line, rule, i) => {
    expect(results[i]).toContain(rule);
  });

  it('passes clean core code', () => {
    expect(results[forbidden.length]).toEqual([]);
  });
});
