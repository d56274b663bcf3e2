// The live status page in a real browser (Debian's chromium driven by playwright-core; no browser
// download): a launched 23-node network, one acceptor killed and one paused, a proposal that
// changes the leaderboard, a slot's page, and a screenshot in dist/test-output/operator/.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortRange } from '@paxos/test-cluster';
import { type Browser, chromium, type Page } from 'playwright-core';
import { runLaunch } from './launch';
import { pidFile, STATUS_PAGE_NAME, workspaceRoot } from './network-dir';
import { readPid } from './processes';
import { runStop } from './stop';
import { EXIT, runSubmit } from './submit';

jest.setTimeout(240_000);

const CHROMIUM = process.env['CHROMIUM_PATH'] || '/usr/bin/chromium';
/** How long the page may take to show a change: a poll (1 s) and its node deadline (0.8 s), with room for 25 processes and a browser on a slow 2-core machine (the polls return as soon as it shows). */
const SHOWN_WITHIN_MS = 30_000;

/** Polls `check` (reads through locators: the page's CSP allows no eval) until it holds, or fails naming `what`. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + SHOWN_WITHIN_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not shown within ${SHOWN_WITHIN_MS} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the live status page, in a real browser', () => {
  let dir: string;
  let base: number;
  let browser: Browser;
  let page: Page;
  const lines: string[] = [];
  const out = (l: string) => lines.push(l);
  const acceptorPid = (i: number) => readPid(pidFile(dir, `node_${i}`)) as number;
  let paused: number | undefined;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
    dir = mkdtempSync(join(tmpdir(), 'paxos-status-'));
    // A window apart from network.e2e's, which may launch its network at the same time.
    base = await freePortRange(102, { from: 17_000, to: 21_000 });
    expect(await runLaunch(['--dir', dir, '--lmfdb-cache', join(dir, 'lmfdb'), '--base-port', String(base), '--status-port', String(base + 101)], out)).toBe(0);
    expect(lines).toContain(`status page: http://127.0.0.1:${base + 101}/`);
    // The flags keep a headless chromium off the network: no background fetches, updates or sync.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  });

  afterAll(async () => {
    if (paused !== undefined) process.kill(paused, 'SIGCONT');
    await browser?.close();
    await runStop(['--dir', dir, '--grace-ms', '2000'], () => undefined);
    if (!process.env['KEEP_TEST_CLUSTER']) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the 23 acceptors alive and the leader with its ballot', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${base + 101}/`);
    await until('23 acceptors alive', async () => (await page.locator('#acceptors [data-node-id][data-state="alive"]').count()) === 23);
    expect(await page.locator('#acceptors [data-node-id]').count()).toBe(23);
    await page.waitForSelector('#proposer[data-state="alive"][data-leader="true"]', { timeout: SHOWN_WITHIN_MS });
    expect(await page.locator('#proposer').textContent()).toMatch(/leader proposer at 127\.0\.0\.1:\d+ · ballot round \d+/);
    await until('23/23 alive in the header', async () => (await page.locator('#quorum').textContent()) === '23/23 acceptors alive · quorum 12 alive');
    expect(errors).toEqual([]);
  });

  it('marks a killed acceptor down and a stopped one paused within seconds', async () => {
    process.kill(acceptorPid(3), 'SIGKILL');
    paused = acceptorPid(4);
    process.kill(paused, 'SIGSTOP');
    await page.waitForSelector('[data-node-id="3"][data-state="down"]', { timeout: SHOWN_WITHIN_MS });
    await page.waitForSelector('[data-node-id="4"][data-state="paused"]', { timeout: SHOWN_WITHIN_MS });
    // A call cut by the kill may say "connection dropped" once; the next poll is refused.
    await until('acceptor 3 refusing connections', async () => ((await page.locator('[data-node-id="3"]').textContent()) ?? '').includes('connection refused'));
    await until('21/23 alive in the header', async () => (await page.locator('#quorum').textContent()) === '21/23 acceptors alive · quorum 12 alive');
    process.kill(paused, 'SIGCONT');
    paused = undefined;
    await page.waitForSelector('[data-node-id="4"][data-state="alive"]', { timeout: SHOWN_WITHIN_MS });
  });

  it('says the page is stale when its own server is paused, and recovers when it runs again', async () => {
    paused = readPid(pidFile(dir, STATUS_PAGE_NAME)) as number;
    process.kill(paused, 'SIGSTOP');
    // The stream stays open and silent: the page's watchdog notices after 3 polls (at least 5 s).
    await page.waitForSelector('body[data-stale="true"]', { timeout: 3 * SHOWN_WITHIN_MS });
    expect(await page.locator('#updated').textContent()).toMatch(/^STALE: no update for \d+ s \(the status page server is paused, overloaded or gone\)/);
    process.kill(paused, 'SIGCONT');
    paused = undefined;
    await page.waitForSelector('body:not([data-stale])', { timeout: SHOWN_WITHIN_MS });
    expect(await page.locator('#updated').textContent()).toMatch(/^updated /);
  });

  it('shows a chosen proposal: the leaderboard changes, its claim with who verified it, its slot links to the value', async () => {
    const framework = `status-page/e2e-${process.pid}`;
    expect(await page.locator('#leaderboard').textContent()).not.toContain(framework);
    lines.length = 0;
    const code = await runSubmit(['4242', '--dir', dir, '--entry', `${framework},99.75,0.0100,1.10,1.15`, '--claim', '0:11.a2:jinv=-122023936/161051'], out);
    expect(code).toBe(EXIT.chosen);
    const row = page.locator('#leaderboard tr', { hasText: framework });
    await row.waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await row.locator('td').allTextContents()).toEqual([framework, '99.75', '0.0100', '1.10', '1.15', '4242', expect.stringMatching(/^\d+$/)]);
    const claim = page.locator('#claims > li', { hasText: 'proposal 4242' });
    await claim.waitFor({ timeout: SHOWN_WITHIN_MS });
    // A majority of source 0's acceptors (0, 10, 20): the first two that answered, or all three.
    expect(await claim.textContent()).toMatch(/0:11\.a2:jinv=-122023936\/161051 — verified by the proposer and acceptors (0, 10|0, 20|10, 20)(, 20)? \(source 0\)/);
    await page.locator('#slots tr', { hasText: 'proposal 4242' }).waitFor({ timeout: SHOWN_WITHIN_MS });

    // The chart has points, and the page keeps updating.
    const updated = await page.locator('#updated').textContent();
    await until('a newer view', async () => (await page.locator('#updated').textContent()) !== updated);
    expect(await page.locator('#throughput polyline').getAttribute('points')).toMatch(/\d+\.\d,\d+\.\d/);

    const shots = join(workspaceRoot(), 'dist/test-output/operator');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'status-page.png'), fullPage: true });

    await row.locator('a').click();
    await page.waitForSelector('h1');
    expect(await page.locator('h1').textContent()).toMatch(/^slot \d+$/);
    expect(await page.locator('body').textContent()).toContain(`"framework": "${framework}"`);
    await page.screenshot({ path: join(shots, 'status-page-slot.png'), fullPage: true });
  });
});
