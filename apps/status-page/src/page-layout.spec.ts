// The page as a browser lays it out (Debian's chromium driven by playwright-core, as the operator's
// browser test), fed a view of what nodes may send within the network's own bounds: a framework
// name of 64 characters with numbers of 32 digits, an acceptor's error naming a long file path, a
// ballot as wide as a real one. Nothing of one part may paint over another (a row whose score lay
// under the next section read as a row without one), and nothing becomes HTML.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import type { Logger } from '@paxos/grpc-kit';
import { startStatusServer } from './http-server';
import type { NetworkPoller } from './network-poller';
import type { AcceptorView, NetworkView } from './network-view';

jest.setTimeout(60_000);

const CHROMIUM = process.env['CHROMIUM_PATH'] || '/usr/bin/chromium';
const HOSTILE = '<img src=x onerror="document.title=1">';
const WIDE_NAME = 'W'.repeat(64);
const DIGITS = `${'9'.repeat(29)}.99`;
const LONG_PATH = `/var/lib/paxos/${'deeply-nested-directory-name/'.repeat(6)}history/segment-000000000000000123.log`;

/**
 * What of the page lies where it should not, as the browser laid it out (a script run in the page:
 * this project's types have no DOM).
 */
const LAYOUT_PROBLEMS = `(() => {
  const box = (e) => e.getBoundingClientRect();
  const spills = (inner, outer) => inner.left < outer.left - 0.5 || inner.right > outer.right + 0.5;
  const problems = [];
  // Nothing wider than the window: the page does not scroll sideways as a whole.
  if (document.documentElement.scrollWidth > window.innerWidth) problems.push('the page is ' + document.documentElement.scrollWidth + ' px wide in a ' + window.innerWidth + ' px window');
  // What a section holds stays within it, or the section scrolls it (its neighbours paint over what spills out).
  for (const s of document.querySelectorAll('section')) {
    if (getComputedStyle(s).overflowX !== 'visible') continue;
    for (const e of s.querySelectorAll('td, th, li, .node, #proposer, #lb-from')) {
      if (spills(box(e), box(s))) problems.push(e.tagName.toLowerCase() + ' "' + (e.textContent || '').slice(0, 40) + '" spills out of its section');
    }
  }
  // An acceptor's text stays in its tile (the tiles sit side by side).
  for (const t of document.querySelectorAll('.node')) {
    if (t.scrollWidth > t.clientWidth) problems.push('acceptor ' + t.getAttribute('data-node-id') + "'s text is " + t.scrollWidth + ' px wide in a ' + t.clientWidth + ' px tile');
  }
  // A framework's score is seen beside its name, not pushed out of sight by a long name.
  const row = document.querySelector('#leaderboard tr');
  const section = row && row.closest('section');
  const score = row && row.querySelectorAll('td')[1];
  if (section && score && box(score).left >= box(section).right) problems.push("the first row's score lies beyond its section's right edge");
  return problems;
})()`;

function hostileView(): NetworkView {
  const acceptors: AcceptorView[] = Array.from({ length: 23 }, (_, id) =>
    id % 5 === 3
      ? { id, address: `127.0.0.1:${7100 + id}`, state: 'down', reason: `UNKNOWN: ${LONG_PATH}${HOSTILE}` }
      : {
          id,
          address: `127.0.0.1:${7100 + id}`,
          state: 'alive',
          promised: '1796698353684.18446744073709551615',
          committedIndex: '18446744073709551615',
          appliedSlot: '18446744073709551615',
          source: { source: id % 10, table: `ec_curvedata${HOSTILE}`, loaded: true, rows: '18446744073709551615', invalid: '0' },
          storage: { healthy: id % 5 !== 1, ...(id % 5 === 1 ? { error: `EIO: i/o error, fdatasync '${LONG_PATH}'` } : {}), historyFirstSlot: '0', snapshotSlot: '0', historyBytes: '0' },
          ...(id % 5 === 2 ? { stateError: `slot 18446744073709551614 could not be applied: ${LONG_PATH}` } : {}),
        },
  );
  return {
    at: 1_800_000_000_000,
    pollMs: 1000,
    historySeconds: 300,
    clusterSize: 23,
    quorumSize: 12,
    alive: 18,
    voting: 15,
    quorumAlive: true,
    busy: 0,
    acceptors,
    proposer: { address: '127.0.0.1:7200', state: 'alive', leader: true, ballotRound: 1_796_698_353_684, deliveredSlot: 2 ** 53, inFlightSlots: 2, pendingCommands: 256 },
    rates: [],
    latestSlots: Array.from({ length: 12 }, (_, i) => ({
      slot: String(18446744073709551603n + BigInt(i)),
      ballot: '4611686018427387904.18446744073709551615',
      noop: false,
      commands: [{ clientRequestId: `${'c'.repeat(200)}${HOSTILE}`, contentType: HOSTILE, bytes: 1, proposalNumber: '18446744073709551615' }],
      commandCount: 1,
    })),
    leaderboard: {
      from: `proposer 127.0.0.1:7200`,
      appliedSlot: '18446744073709551615',
      proposals: '18446744073709551615',
      refused: '18446744073709551615',
      rows: [
        { framework: WIDE_NAME, score: DIGITS, pricePerPoint: DIGITS, bid: DIGITS, ask: DIGITS, proposalNumber: '18446744073709551615', slot: '18446744073709551615' },
        { framework: HOSTILE, score: '1.5', pricePerPoint: '0.01', bid: '1.1', ask: '1.2', proposalNumber: '7', slot: '0' },
      ],
    },
    proposals: [{ number: '18446744073709551615', slot: '18446744073709551615', proposerId: 0, claims: [{ text: `0:${'1'.repeat(240)}${HOSTILE}`, source: 0, checkedBy: [0, 10, 20] }] }],
    problems: [`proposal 7: ${LONG_PATH}${HOSTILE}`],
  };
}

describe('the page in a browser, fed long and hostile text from the network', () => {
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
  const view = hostileView();
  const poller = {
    latest: () => view,
    viewNow: async () => view,
    watch: () => () => undefined,
    rateHistory: () => [],
    subscribe: () => () => undefined,
    readSlot: async (slot: bigint) =>
      slot === 5n
        ? {
            from: `127.0.0.1:7200${HOSTILE}`,
            entry: {
              slot: 5n,
              ballot: { round: 4611686018427387904n, proposerId: 4294967295 },
              value: { kind: { $case: 'batch' as const, value: { commands: [{ clientRequestId: `${'c'.repeat(220)}${HOSTILE}`, value: { contentType: `text/${'x'.repeat(200)}`, data: Buffer.from('A') }, verifiedBy: [] }] } } },
              outcomes: [{ clientRequestId: 'c', index: 0, duplicate: false, firstSlot: 5n, forgotten: true }],
            },
          }
        : { from: '', problem: `not chosen yet: ${LONG_PATH}` },
  } as unknown as NetworkPoller;
  let server: Awaited<ReturnType<typeof startStatusServer>>;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
    server = await startStatusServer(poller, { host: '127.0.0.1', port: 0, maxViewers: 4, logger });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.each([1280, 800])('keeps every part of the page in its own place at %i px wide, and shows the text as text', async (width) => {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(`http://127.0.0.1:${server.port}/`);
      await page.locator('#leaderboard tr').first().waitFor({ timeout: 10_000 });
      expect(errors).toEqual([]);
      // Text, never markup.
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.title()).toBe('Paxos network status');
      expect(await page.locator('#leaderboard tr').nth(1).locator('td').first().textContent()).toBe(HOSTILE);

      const layout = await page.evaluate<string[]>(LAYOUT_PROBLEMS);
      expect(layout).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it.each(['/slot/5', '/slot/6'])("keeps %s's page within the window, and its text as text", async (path) => {
    const page = await browser.newPage({ viewport: { width: 800, height: 900 } });
    try {
      await page.goto(`http://127.0.0.1:${server.port}${path}`);
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.evaluate<string[]>(LAYOUT_PROBLEMS)).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
