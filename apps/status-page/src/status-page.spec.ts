import { type IncomingHttpHeaders, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createContext, runInContext, Script } from 'node:vm';
import { status } from '@grpc/grpc-js';
import { ConfigError, createLogger, INSECURE, type Logger, startGrpcServer } from '@paxos/grpc-kit';
import { sendOnOneConnection } from '@paxos/grpc-kit/testing';
import { encodeProposalValue, buildProposal } from '@paxos/proposal';
import { Counter, Histogram, Registry } from 'prom-client';
import { resolveStatusPageConfig } from './config';
import { failureState } from './node-clients';
import { PAGE_SCRIPT, STATUS_PAGE_HTML } from './page';
import { parsePrometheusText } from './prometheus-text';
import { quantileFromBuckets, RateHistory } from './rate-history';
import { escapeHtml, renderSlotPage, slotJson } from './slot-page';
import { startStatusServer, VIEWERS_PER_HOST_MAX } from './http-server';
import { latencyBuckets, type NetworkPoller, NetworkPoller as RealNetworkPoller } from './network-poller';
import { acceptorView, type NetworkView, slotView } from './network-view';
import { AcceptorServiceService, GetLeaderboardResponse, ReadLogResponse, ReadServiceService, StatusResponse } from '@paxos/proto';

describe('reading the proposer\'s metrics', () => {
  it('parses what prom-client serves: gauges, counters, histogram buckets with escaped labels', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ node: 'proposer-1' });
    const h = new Histogram({ name: 'x_seconds', help: 'h', labelNames: ['api', 'outcome'], buckets: [0.01, 0.1, 1], registers: [registry] });
    const c = new Counter({ name: 'x_total', help: 'c', labelNames: ['why'], registers: [registry] });
    h.observe({ api: 'unary', outcome: 'chosen' }, 0.005);
    h.observe({ api: 'unary', outcome: 'chosen' }, 0.05);
    h.observe({ api: 'stream', outcome: 'chosen' }, 0.5);
    c.inc({ why: 'a "quoted" \\ reason\nover lines' }, 3);
    const samples = parsePrometheusText(await registry.metrics(), (n) => n.startsWith('x_'));
    const buckets = samples.filter((s) => s.name === 'x_seconds_bucket' && s.labels['api'] === 'unary');
    expect(buckets.map((b) => [b.labels['le'], b.value])).toEqual([['0.01', 1], ['0.1', 2], ['1', 2], ['+Inf', 2]]);
    expect(samples.find((s) => s.name === 'x_total')).toMatchObject({ labels: { why: 'a "quoted" \\ reason\nover lines', node: 'proposer-1' }, value: 3 });
  });

  it('charts the latency of chosen answers only, as the dashboard does: duplicates and failures left out', async () => {
    const registry = new Registry();
    const h = new Histogram({ name: 'paxos_proposer_propose_seconds', help: 'h', labelNames: ['api', 'outcome'], buckets: [0.01, 0.1], registers: [registry] });
    h.observe({ api: 'unary', outcome: 'chosen' }, 0.05);
    h.observe({ api: 'bulk', outcome: 'chosen' }, 0.05);
    for (let i = 0; i < 10; i++) h.observe({ api: 'unary', outcome: 'duplicate' }, 0.002);
    h.observe({ api: 'unary', outcome: 'failed' }, 0.002);
    const buckets = latencyBuckets(parsePrometheusText(await registry.metrics(), () => true));
    expect([...buckets]).toEqual([[0.01, 0], [0.1, 2], [Infinity, 2]]);
  });

  it('skips lines that are not samples and never throws on garbage', () => {
    expect(parsePrometheusText('# HELP a b\n# TYPE a gauge\na 1\nnot a sample line\n{broken} 2\nb{x="1"} NaN\nc +Inf\n\u0000\u00ff', () => true).map((s) => [s.name, s.value])).toEqual([
      ['a', 1],
      ['b', NaN],
      ['c', Infinity],
    ]);
  });

  it('reads hostile pages in one pass: open quotes, braces, overlong lines', () => {
    const hostile = [`x{a="${'\\'.repeat(3000)}`, `x{${'a="b",'.repeat(500)}`, `x{a="b"}${' }'.repeat(1500)} 1`, 'x'.repeat(100_000) + ' 1', 'x{a="}"} 2'].join('\n');
    const text = Array.from({ length: 200 }, () => hostile).join('\n');
    expect(parsePrometheusText(text, (n) => n === 'x').map((s) => [s.labels['a'], s.value])).toEqual(Array.from({ length: 200 }, () => ['}', 2]));
  });

  it('interpolates quantiles within the bucket they fall in, as histogram_quantile does', () => {
    const b: Array<[number, number]> = [[0.01, 50], [0.1, 90], [1, 100], [Infinity, 100]];
    expect(quantileFromBuckets(b, 0.5)).toBeCloseTo(0.01);
    expect(quantileFromBuckets(b, 0.7)).toBeCloseTo(0.01 + 0.09 * 0.5);
    expect(quantileFromBuckets(b, 0.99)).toBeCloseTo(0.1 + 0.9 * 0.9);
    expect(quantileFromBuckets([[0.1, 0], [Infinity, 0]], 0.5)).toBeUndefined();
    expect(quantileFromBuckets([[0.1, 0], [Infinity, 4]], 0.5)).toBe(0.1);
  });

  it('turns successive readings into rates, and starts afresh when the proposer restarted', () => {
    const h = new RateHistory(3);
    const reading = (at: number, chosenCommands: number, deliveredSlot: number, fast: number, slow: number) => ({
      at,
      elapsedMs: at,
      chosenCommands,
      deliveredSlot,
      latencyBuckets: new Map([[0.01, fast], [0.1, fast + slow], [Infinity, fast + slow]]),
    });
    expect(h.add(reading(1000, 0, 0, 0, 0))).toBeUndefined();
    expect(h.add(reading(3000, 400, 10, 100, 0))).toEqual({ at: 3000, commandsPerSecond: 200, slotsPerSecond: 5, p50Ms: 5, p99Ms: 9.9 });
    // Counters went back: a restarted proposer. No point for that interval, nor for the next one
    // (the restarted proposer delivers the log it learns: not throughput).
    expect(h.add(reading(4000, 5, 1, 0, 0))).toBeUndefined();
    expect(h.add(reading(4500, 5000, 900, 0, 0))).toBeUndefined();
    const p = h.add(reading(5500, 5100, 902, 0, 10));
    expect(p).toMatchObject({ commandsPerSecond: 100, slotsPerSecond: 2 });
    expect(p?.p50Ms).toBeCloseTo(55);
    for (let t = 6500; t < 10_000; t += 1000) h.add(reading(t, 5100, 902, 0, 10));
    expect(h.all()).toHaveLength(3); // bounded
    expect(h.all().every((x) => x.p50Ms === undefined)).toBe(true); // nothing answered: no latency
  });

  it('leaves out the log a restarted proposer learns when its restart was seen as readings missed', () => {
    const h = new RateHistory(10);
    const reading = (at: number, chosenCommands: number, deliveredSlot: number) => ({ at, elapsedMs: at, chosenCommands, deliveredSlot, latencyBuckets: new Map([[Infinity, 0]]) });
    h.add(reading(1000, 0, 0));
    expect(h.add(reading(2000, 400, 10))).toMatchObject({ commandsPerSecond: 400 });
    // Killed: its metrics do not answer for a few polls; started again, it reads from zero, then learns the log.
    h.gap();
    h.gap();
    expect(h.add(reading(5000, 5, 1))).toBeUndefined();
    expect(h.add(reading(6000, 5000, 900))).toBeUndefined();
    expect(h.add(reading(7000, 5100, 902))).toMatchObject({ commandsPerSecond: 100, slotsPerSecond: 2 });
    // Paused and resumed (counters did not go back): the interval over the silence is left out, the next one counts.
    h.gap();
    expect(h.add(reading(9000, 5300, 906))).toBeUndefined();
    expect(h.add(reading(10_000, 5350, 907))).toMatchObject({ commandsPerSecond: 50, slotsPerSecond: 1 });
    expect(h.all().map((p) => p.commandsPerSecond)).toEqual([400, 100, 50]);
  });

  it('leaves out the log a restarted proposer learns however many polls it reads zero first', () => {
    const h = new RateHistory(10);
    const reading = (at: number, chosenCommands: number, deliveredSlot: number) => ({ at, elapsedMs: at, chosenCommands, deliveredSlot, latencyBuckets: new Map([[Infinity, 0]]) });
    h.add(reading(1000, 0, 0));
    expect(h.add(reading(2000, 400, 206))).toMatchObject({ commandsPerSecond: 400 });
    // Killed and started again: it answers from zero while it connects and runs phase 1 (two
    // polls, as a launched network's proposer does), then delivers the 206 slots it learns at once.
    h.gap();
    expect(h.add(reading(5000, 0, 0))).toBeUndefined();
    expect(h.add(reading(6000, 0, 0))).toBeUndefined();
    expect(h.add(reading(7000, 0, 0))).toBeUndefined();
    expect(h.add(reading(8000, 450, 206))).toBeUndefined();
    // Past the slot its last incarnation had delivered: throughput again.
    expect(h.add(reading(9000, 500, 210))).toMatchObject({ commandsPerSecond: 50, slotsPerSecond: 4 });
    expect(h.all().map((p) => p.commandsPerSecond)).toEqual([400, 50]);
  });

  it('takes rates over the time that passed, not over a step of the wall clock', () => {
    const h = new RateHistory(3);
    const reading = (at: number, elapsedMs: number, chosenCommands: number) => ({ at, elapsedMs, chosenCommands, deliveredSlot: chosenCommands, latencyBuckets: new Map<number, number>() });
    h.add(reading(1_000_000, 5000, 0));
    // The wall clock was set back an hour between two readings a second apart.
    expect(h.add(reading(1_000_000 - 3_600_000, 6000, 300))).toMatchObject({ at: 1_000_000 - 3_600_000, commandsPerSecond: 300 });
    // And forward a day: still one second.
    expect(h.add(reading(1_000_000 + 86_400_000, 7000, 500))).toMatchObject({ commandsPerSecond: 200 });
  });
});

describe('the page', () => {
  it('serves a script that compiles, inline, with nothing fetched from elsewhere', () => {
    expect(() => new Script(PAGE_SCRIPT)).not.toThrow();
    expect(STATUS_PAGE_HTML).toContain(PAGE_SCRIPT);
    expect(STATUS_PAGE_HTML).not.toMatch(/\b(src|href)="https?:/);
    // Network text is set as text, never parsed as HTML.
    expect(PAGE_SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('calls the page stale after polls of silence on the time that passed, whatever the browser\'s wall clock does', () => {
    // The page's script in a context of its own: a bare DOM, an event stream the test drives, and
    // a wall clock and a monotonic clock the test moves apart.
    const element = (): Record<string, unknown> => {
      const attrs = new Map<string, string>();
      return { textContent: '', className: '', attrs, setAttribute: (k: string, v: string) => attrs.set(k, v), removeAttribute: (k: string) => attrs.delete(k), replaceChildren: () => undefined, append: () => undefined };
    };
    const elements = new Map<string, Record<string, unknown>>();
    const body = element();
    let wallMs = 1_000_000_000;
    let monotonicMs = 50_000;
    let watch: (() => void) | undefined;
    const listeners = new Map<string, (e: { data: string }) => void>();
    const context = createContext({
      document: { body, getElementById: (id: string) => elements.get(id) ?? elements.set(id, element()).get(id), createElement: element, createElementNS: element, createTextNode: () => ({}) },
      Node: Object, // the fake elements are this realm's objects: el() appends them as nodes, not as their String()
      EventSource: Object.assign(function (this: { addEventListener: unknown }) { this.addEventListener = (name: string, f: (e: { data: string }) => void) => listeners.set(name, f); }, { CLOSED: 2 }),
      setInterval: (f: () => void) => (watch = f),
      setTimeout: () => undefined,
      Date: Object.assign(function (this: unknown, ...a: unknown[]) { return new (Date as unknown as new (...a: unknown[]) => Date)(...(a.length ? a : [wallMs])); }, { now: () => wallMs }),
      performance: { now: () => monotonicMs },
    });
    runInContext(PAGE_SCRIPT, context);
    const stale = () => (body['attrs'] as Map<string, string>).has('data-stale');
    const view = () => {
      // Only the view's arrival matters here: the rest of the drawing is not under test.
      try {
        listeners.get('view')?.({ data: JSON.stringify({ at: wallMs, pollMs: 1000, historySeconds: 60 }) });
      } catch {
        // render() goes on to draw from fields this view lacks
      }
    };
    view();
    // The wall clock is set back an hour, and the server then says nothing for 10 s.
    wallMs -= 3_600_000;
    monotonicMs += 10_000;
    wallMs += 10_000;
    watch?.();
    expect(stale()).toBe(true);
    // A view arrives; the wall clock is set forward a day a second later: not stale.
    view();
    expect(stale()).toBe(false);
    monotonicMs += 1000;
    wallMs += 86_400_000;
    watch?.();
    expect(stale()).toBe(false);
  });

  /** The page's script over a bare DOM that keeps what is drawn: `show` hands it a view, `text` reads an element's text. */
  const pageHarness = () => {
    type Fake = { textContent: string; kids: Fake[]; attrs: Map<string, string>; [k: string]: unknown };
    const element = (): Fake => {
      const e: Fake = { textContent: '', className: '', kids: [], attrs: new Map() };
      Object.assign(e, {
        setAttribute: (k: string, v: string) => e.attrs.set(k, String(v)),
        removeAttribute: (k: string) => e.attrs.delete(k),
        replaceChildren: (...k: Fake[]) => (e.kids = k),
        append: (...k: Fake[]) => e.kids.push(...k),
      });
      return e;
    };
    const elements = new Map<string, Fake>();
    const byId = (id: string) => elements.get(id) ?? (elements.set(id, element()).get(id) as Fake);
    let onView: ((e: { data: string }) => void) | undefined;
    const context = createContext({
      document: { body: element(), getElementById: byId, createElement: element, createElementNS: element, createTextNode: (t: string) => ({ ...element(), textContent: t }) },
      Node: Object, // the fake elements are this realm's objects: el() appends them as nodes, not as their String()
      EventSource: Object.assign(function (this: { addEventListener: unknown }) { this.addEventListener = (name: string, f: (e: { data: string }) => void) => name === 'view' && (onView = f); }, { CLOSED: 2 }),
      setInterval: () => undefined,
      setTimeout: () => undefined,
      performance: { now: () => 0 },
    });
    runInContext(PAGE_SCRIPT, context);
    // The script hands replaceChildren and append plain strings too, as the DOM takes them.
    const textOf = (e: Fake | string): string => (typeof e === 'string' ? e : e.textContent + e.kids.map(textOf).join(''));
    const base = { at: 1_000_000, pollMs: 1000, historySeconds: 60, clusterSize: 5, quorumSize: 3, alive: 5, voting: 5, quorumAlive: true, busy: 0, acceptors: [], proposer: { address: 'p', state: 'alive', leader: true }, latestSlots: [], proposals: [], problems: [] };
    return {
      show: (v: Record<string, unknown>) => onView?.({ data: JSON.stringify({ ...base, ...v }) }),
      text: (id: string) => textOf(byId(id)),
      attr: (id: string, name: string) => byId(id).attrs.get(name),
    };
  };

  it('names the last slot the leaderboard reflects as check and submit do (applied_slot counts the slots applied)', () => {
    const page = pageHarness();
    const shown = (appliedSlot: string) => {
      page.show({ leaderboard: { from: 'proposer p', appliedSlot, proposals: '2', refused: '0', rows: [] } });
      return page.text('lb-from');
    };
    expect(shown('2')).toBe('after slot 1 (2 slots applied) from proposer p · 2 proposals took effect, 0 refused');
    expect(shown('1')).toMatch(/^after slot 0 \(1 slot applied\) from/);
    expect(shown('0')).toMatch(/^before slot 0 \(no slot applied yet\) from/);
    expect(shown('18446744073709551615')).toMatch(/^after slot 18446744073709551614 \(18446744073709551615 slots applied\)/);
  });

  it('counts the copies of forgotten ids in the slot list apart from the duplicates', () => {
    const page = pageHarness();
    const c = (extra: Record<string, unknown>) => ({ clientRequestId: 'x', contentType: 'text/plain', bytes: 1, ...extra });
    page.show({ latestSlots: [{ slot: '52', ballot: '1.1', noop: false, commands: [c({ forgotten: true }), c({ duplicateOf: '3' }), c({})], commandCount: 3 }] });
    expect(page.text('slots')).toContain('3 commands, 1 duplicate, 1 of forgotten ids');
  });

  it('says the last slot the proposer delivered, not the count (as "applied through slot" does)', () => {
    const page = pageHarness();
    page.show({ proposer: { address: '127.0.0.1:7200', state: 'alive', leader: true, ballotRound: 7, deliveredSlot: 87 } });
    expect(page.text('proposer')).toContain('delivered through slot 86');
    page.show({ proposer: { address: '127.0.0.1:7200', state: 'alive', leader: true, ballotRound: 7, deliveredSlot: 0 } });
    expect(page.text('proposer')).toContain('no slot delivered yet');
  });

  it('does not call a quorum dead while acceptors it needs are only busy (running, refusing the page\'s calls)', () => {
    const page = pageHarness();
    page.show({ alive: 2, voting: 2, quorumAlive: false, busy: 2 });
    expect(page.text('quorum')).toBe('2/5 acceptors alive · quorum 3 not known (2 busy)');
    page.show({ alive: 1, voting: 1, quorumAlive: false, busy: 1 });
    expect(page.text('quorum')).toBe('1/5 acceptors alive · quorum 3 NOT alive');
    page.show({ alive: 3, voting: 3, quorumAlive: true, busy: 2 });
    expect(page.text('quorum')).toBe('3/5 acceptors alive · quorum 3 alive');
  });

  it('does not call an answering proposer "not leading" when its metrics, which say whether it leads, were not read', () => {
    const page = pageHarness();
    page.show({ proposer: { address: '127.0.0.1:7200', state: 'alive', leader: false, ballotRound: 7 } });
    expect(page.text('proposer')).toMatch(/^not leading proposer at 127\.0\.0\.1:7200 · ballot round 7/);
    expect(page.attr('proposer', 'data-leader')).toBe('false');
    page.show({ proposer: { address: '127.0.0.1:7200', state: 'alive' } });
    expect(page.text('proposer')).toMatch(/^leader unknown proposer at 127\.0\.0\.1:7200 · its metrics do not answer/);
    expect(page.attr('proposer', 'data-leader')).toBe('unknown');
    page.show({ proposer: { address: '127.0.0.1:7200', state: 'alive', leader: true, ballotRound: 8 } });
    expect(page.text('proposer')).toMatch(/^leader proposer at/);
    expect(page.attr('proposer', 'data-leader')).toBe('true');
  });

  it('says a proposer blocked at the ballot ceiling can choose nothing more, not that it leads', () => {
    const page = pageHarness();
    page.show({ proposer: { address: '127.0.0.1:7200', state: 'alive', leader: false, cannotChoose: true, ballotRound: 9 } });
    expect(page.text('proposer')).toMatch(/^cannot choose proposer at 127\.0\.0\.1:7200 · it can choose nothing more: acceptors promised ballots at the round ceiling/);
    page.show({ proposer: { address: '127.0.0.1:7200', state: 'alive', leader: true, cannotChoose: false, ballotRound: 9 } });
    expect(page.text('proposer')).toMatch(/^leader proposer at/);
  });

  it('says a starting proposer is learning the chosen log, not that it leads or does not', () => {
    const page = pageHarness();
    page.show({ proposer: { address: '127.0.0.1:7200', state: 'alive', leader: false, learning: true, ballotRound: 9 } });
    expect(page.text('proposer')).toMatch(/^learning proposer at 127\.0\.0\.1:7200 · it is learning the chosen log and takes client work once it has/);
    page.show({ proposer: { address: '127.0.0.1:7200', state: 'alive', leader: true, learning: false, ballotRound: 9 } });
    expect(page.text('proposer')).toMatch(/^leader proposer at/);
  });

  it('escapes what came over the network on a slot\'s page', () => {
    expect(escapeHtml('<img src=x onerror="a">&\'')).toBe('&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;');
    const hostile = '<script>alert(1)</script>';
    const entry = {
      slot: 7n,
      ballot: { round: 3n, proposerId: 1 },
      value: { kind: { $case: 'batch' as const, value: { commands: [{ clientRequestId: hostile, value: { contentType: hostile, data: Buffer.from([1, 2, 255]) }, verifiedBy: [] }] } } },
      outcomes: [{ clientRequestId: hostile, index: 0, duplicate: true, firstSlot: 5n, forgotten: false }],
    };
    const html = renderSlotPage(7n, { entry, from: hostile });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('0102ff');
    expect(html).toContain('took effect in slot <a href="/slot/5">5</a>');
    expect(renderSlotPage(9n, { from: '', problem: '<b>' })).toContain('Not readable: &lt;b&gt;');
  });

  it('says a copy whose id the node forgot is not known to have taken effect, as ReadLog and read -- log say', () => {
    const command = (id: string) => ({ clientRequestId: id, value: { contentType: 'text/plain', data: Buffer.from('A') }, verifiedBy: [] });
    const entry = {
      slot: 52n,
      ballot: { round: 1n, proposerId: 1 },
      value: { kind: { $case: 'batch' as const, value: { commands: [command('first'), command('took')] } } },
      outcomes: [
        { clientRequestId: 'first', index: 0, duplicate: false, firstSlot: 52n, forgotten: true },
        { clientRequestId: 'took', index: 1, duplicate: false, firstSlot: 52n, forgotten: false },
      ],
    };
    const json = slotJson(entry, 'proposer') as { commands: Array<Record<string, unknown>> };
    expect(json.commands[0]).toMatchObject({ clientRequestId: 'first', forgotten: true });
    expect(json.commands[1]).not.toHaveProperty('forgotten');
    const html = renderSlotPage(52n, { entry, from: '127.0.0.1:7200' });
    expect(html).toContain('its client_request_id is forgotten on 127.0.0.1:7200');
    expect(html.match(/forgotten/g)).toHaveLength(1);
    expect(slotView(entry).commands).toEqual([
      { clientRequestId: 'first', contentType: 'text/plain', bytes: 1, forgotten: true },
      { clientRequestId: 'took', contentType: 'text/plain', bytes: 1 },
    ]);
  });

  it('decodes a Monster Harmonic proposal on its slot\'s page and in the slot list', () => {
    const v = encodeProposalValue(buildProposal({ proposalNumber: 42n, proposerId: 1, leaderboard: [{ framework: 'lattice/e8', score: '99.25', pricePerPoint: '0.10', bid: '1.00', ask: '1.20' }] }));
    const entry = { slot: 3n, ballot: { round: 1n, proposerId: 1 }, value: { kind: { $case: 'batch' as const, value: { commands: [{ clientRequestId: 'c-1', value: v, verifiedBy: [0, 20] }] } } }, outcomes: [] };
    expect(renderSlotPage(3n, { entry, from: 'proposer' })).toContain('&quot;framework&quot;: &quot;lattice/e8&quot;');
    expect(slotJson(entry, 'proposer')).toMatchObject({ slot: '3', ballot: '1.1', commands: [{ clientRequestId: 'c-1', claimsVerifiedBy: [0, 20], proposal: { proposalNumber: '42' } }] });
    expect(slotView(entry)).toEqual({ slot: '3', ballot: '1.1', noop: false, commands: [{ clientRequestId: 'c-1', contentType: v.contentType, bytes: v.data.length, proposalNumber: '42' }], commandCount: 1 });
    expect(slotView({ slot: 4n, value: { kind: { $case: 'noop', value: {} } }, outcomes: [] })).toEqual({ slot: '4', noop: true, commands: [], commandCount: 0 });
  });
});

describe('a node that does not answer', () => {
  const grpcError = (code: status, details: string) => Object.assign(new Error(details), { code, details, metadata: undefined });
  it('is paused when its port takes the call but nothing answers, down when refused', () => {
    expect(failureState(grpcError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), 800)).toEqual({ state: 'paused', reason: 'no answer within 800 ms' });
    expect(failureState(grpcError(status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7105'), 800)).toEqual({
      state: 'down',
      reason: 'connection refused: nothing listens on 127.0.0.1:7105 (ECONNREFUSED)',
    });
    expect(failureState(grpcError(status.PERMISSION_DENIED, 'not for you'), 800)).toEqual({ state: 'down', reason: 'PERMISSION_DENIED: not for you' });
    expect(failureState(Object.assign(new Error('x'), { code: 'ETIMEDOUT' }), 500).state).toBe('paused');
    expect(failureState(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 500).state).toBe('down');
  });

  it('is busy, not down, when it answers that it is at one of its bounds', () => {
    expect(failureState(grpcError(status.RESOURCE_EXHAUSTED, '64 reads wait already for this acceptor\'s chosen history: retry shortly'), 800)).toEqual({
      state: 'busy',
      reason: "busy: 64 reads wait already for this acceptor's chosen history: retry shortly",
    });
  });

  it('is down when another acceptor answers at its address (it does not count toward the quorum)', () => {
    const s = StatusResponse.fromPartial({ nodeId: 4, committedIndex: 3n });
    expect(acceptorView(4, 'a:4', s, 0).state).toBe('alive');
    expect(acceptorView(5, 'a:5', s, 0)).toEqual({ id: 5, address: 'a:5', state: 'down', reason: 'answers as acceptor 4, not acceptor 5 of this network' });
  });

  it('shows why an alive acceptor serves no reads (its state machine stopped)', () => {
    const s = StatusResponse.fromPartial({ nodeId: 4, committedIndex: 3n, stateError: 'no state snapshot covers the slots below slot 83' });
    expect(acceptorView(4, 'a:4', s, 0)).toMatchObject({ state: 'alive', stateError: 'no state snapshot covers the slots below slot 83' });
    const rejoining = StatusResponse.fromPartial({ nodeId: 4, committedIndex: 3n, rejoining: true, rejoinCatchUpTo: 70n });
    expect(acceptorView(4, 'a:4', rejoining, 0)).toMatchObject({ state: 'alive', rejoinCatchUpTo: '70' });
    expect(acceptorView(4, 'a:4', s, 0).rejoinCatchUpTo).toBeUndefined();
    expect(acceptorView(4, 'a:4', StatusResponse.fromPartial({ nodeId: 4 }), 0).stateError).toBeUndefined();
  });
});

describe('flags', () => {
  it('has defaults for the local network and refuses what makes no sense', () => {
    const c = resolveStatusPageConfig([], {});
    expect(c).toMatchObject({ port: 9300, proposer: '127.0.0.1:7200', proposerMetrics: '127.0.0.1:9201', pollMs: 1000 });
    expect(c !== 'help' && c.acceptors).toHaveLength(23);
    expect(() => resolveStatusPageConfig(['--poll-ms', '10'], {})).toThrow(ConfigError);
    expect(() => resolveStatusPageConfig(['--proposer', 'a:1,b:2'], {})).toThrow(/one host:port/);
    expect(() => resolveStatusPageConfig(['--acceptors', 'nope'], {})).toThrow(/not host:port/);
  });
});

describe('the page\'s HTTP server', () => {
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
  let listeners: Array<(v: NetworkView) => void> = [];
  let latest: NetworkView | undefined;
  const poller = {
    latest: () => latest,
    viewNow: async () => latest,
    watch: () => () => undefined,
    rateHistory: () => latest?.rates ?? [],
    subscribe: (fn: (v: NetworkView) => void) => {
      listeners.push(fn);
      return () => (listeners = listeners.filter((l) => l !== fn));
    },
    readSlot: async (slot: bigint) =>
      slot === 7n
        ? { entry: { slot: 7n, value: { kind: { $case: 'noop' as const, value: {} } }, outcomes: [] }, from: 'proposer' }
        : slot === 9n
          ? { from: '', problem: '127.0.0.1:7200: no answer within 800 ms', noneAnswered: true }
          : { from: '', problem: 'not chosen yet' },
  } as unknown as NetworkPoller;
  let server: Awaited<ReturnType<typeof startStatusServer>>;
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path, method, headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
          if (path === '/events' && body.includes('\n\n')) res.destroy();
        });
        res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });

  beforeAll(async () => {
    server = await startStatusServer(poller, { host: '127.0.0.1', port: 0, maxViewers: 1, logger });
  });
  afterAll(() => server.close());

  it('answers with security headers, refuses foreign Host names, methods and paths', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-paxos-status-page']).toBe(String(process.pid));
    expect((await get('/', { host: 'rebound.example:9300' })).status).toBe(421);
    expect((await get('/', { host: 'localhost:9300' })).status).toBe(200);
    expect((await get('/', {}, 'POST')).status).toBe(405);
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/slot/abc')).status).toBe(404);
    expect((await get(`/slot/${2n ** 64n}`)).status).toBe(400);
    // However many digits: not "not found" (the path is a slot's), but out of range.
    expect((await get(`/slot/${10n ** 30n}`)).status).toBe(400);
    expect((await get(`/api/slot/${'9'.repeat(5000)}`)).status).toBe(400);
    expect(JSON.parse((await get(`/api/slot/${'0'.repeat(30)}7`)).body)).toMatchObject({ slot: '7' });
    expect((await get('/api/view')).status).toBe(503); // before the first poll
  });

  it('reads a small request body it does not want and answers, closes a connection whose body goes on, and answers a bad Host 400 and CONNECT 405', async () => {
    const send = (parts: readonly string[]) => sendOnOneConnection(server.port, parts);
    const icon = 'GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
    expect((await send([`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello${icon}`])).statusLines).toEqual(['HTTP/1.1 405 Method Not Allowed', 'HTTP/1.1 204 No Content']);
    // Node read and dropped such a body for as long as it came, up to the 10 s request timeout.
    expect((await send([`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000000000\r\n\r\n`, ...Array.from({ length: 64 }, () => 'x'.repeat(16 * 1024))])).closedByServer).toBe(true);
    // Two Host headers (Node keeps the first: the loopback check saw one name of two) or an
    // HTTP/1.1 request with none is 400; CONNECT is 405, not a connection closed without a word.
    expect((await send(['GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: rebound.example\r\n\r\n'])).statusLines).toEqual(['HTTP/1.1 400 Bad Request']);
    expect((await send(['GET / HTTP/1.1\r\n\r\n'])).statusLines).toEqual(['HTTP/1.1 400 Bad Request']);
    expect(await send(['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'])).toEqual({ statusLines: ['HTTP/1.1 405 Method Not Allowed'], closedByServer: true });
  });

  it('answers HEAD /events at once and keeps no place for it (Node sends a HEAD answer only when it ends)', async () => {
    const held: Socket[] = [];
    // The status line and headers, or what came before the connection closed or 2 s passed; the
    // connection is kept open (a place it held would stay taken).
    const head = (): Promise<string> =>
      new Promise((resolve) => {
        const s = connect({ host: '127.0.0.1', port: server.port }, () => s.write('HEAD /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
        held.push(s);
        let got = '';
        const timer = setTimeout(() => resolve(got), 2000);
        s.on('data', (b: Buffer) => {
          got += b.toString();
          if (got.includes('\r\n\r\n')) resolve(got);
        });
        s.on('close', () => {
          clearTimeout(timer);
          resolve(got);
        });
        s.on('error', () => undefined);
      });
    try {
      const answer = await head();
      expect(answer).toMatch(/^HTTP\/1.1 200/);
      expect(answer).toContain('content-type: text/event-stream');
      // The one place (--max-viewers 1) is still free for a page.
      expect((await get('/events')).status).toBe(200);
    } finally {
      for (const s of held) s.destroy();
    }
  });

  it('answers the icon every browser asks for with no content, not 404 (an error in the page\'s console at every open)', async () => {
    const icon = await get('/favicon.ico');
    expect(icon.status).toBe(204);
    expect(icon.body).toBe('');
    expect(icon.headers['cache-control']).toMatch(/max-age=\d+/);
  });

  it('serves a slot\'s page and JSON, and says when a slot cannot be read', async () => {
    expect(await get('/slot/7')).toMatchObject({ status: 200, body: expect.stringContaining('A no-op') });
    expect(JSON.parse((await get('/api/slot/7')).body)).toMatchObject({ slot: '7', noop: true, from: 'proposer' });
    expect(await get('/slot/8')).toMatchObject({ status: 404, body: expect.stringContaining('not chosen yet') });
    // No node answered (all paused or down): not "not found" but "ask again".
    expect(await get('/api/slot/9')).toMatchObject({ status: 503, headers: expect.objectContaining({ 'retry-after': '2' }), body: expect.stringContaining('no answer within') });
  });
});

describe('the page\'s places for one host', () => {
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
  const poller = { latest: () => undefined, viewNow: async () => undefined, watch: () => () => undefined, rateHistory: () => [], subscribe: () => () => undefined, readSlot: async () => ({ from: '', problem: 'x' }) } as unknown as NetworkPoller;
  let server: Awaited<ReturnType<typeof startStatusServer>>;
  const held: Socket[] = [];
  beforeAll(async () => {
    // Loopback addresses stand for hosts here: the bound per host is given (on loopback it is --max-viewers).
    server = await startStatusServer(poller, { host: '127.0.0.1', port: 0, maxViewers: 32, maxViewersPerHost: VIEWERS_PER_HOST_MAX, logger });
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    await server.close();
  });

  /** Opens /events from `from` (a loopback address) and returns the status line and first bytes of the answer, keeping the stream open. */
  const openEvents = (from: string) =>
    new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: server.port, localAddress: from }, () => s.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      held.push(s);
      let got = '';
      s.on('data', (b: Buffer) => {
        got += b.toString();
        if (got.includes('\r\n\r\n') && (got.startsWith('HTTP/1.1 200') || got.endsWith('\n'))) resolve(got);
      });
      s.on('error', reject);
    });

  it('keeps one host to its share of event streams, so pages from other hosts still open', async () => {
    for (let i = 0; i < VIEWERS_PER_HOST_MAX; i++) expect(await openEvents('127.0.0.2')).toMatch(/^HTTP\/1.1 200/);
    const refused = await openEvents('127.0.0.2');
    expect(refused).toMatch(/^HTTP\/1.1 503/);
    expect(refused).toContain(`${VIEWERS_PER_HOST_MAX} pages from your host are open already: close one`);
    expect(await openEvents('127.0.0.3')).toMatch(/^HTTP\/1.1 200/);
    // A closed page gives its place back, once the server has seen the close (tried again for up to 10 s while refused).
    held[0]?.destroy();
    const until = Date.now() + 10_000;
    let again = await openEvents('127.0.0.2');
    // Bounded by the deadline.
    while (!again.startsWith('HTTP/1.1 200') && Date.now() < until) {
      expect(again).toMatch(/^HTTP\/1.1 503/);
      held.pop()?.destroy();
      await new Promise((r) => setTimeout(r, 50));
      again = await openEvents('127.0.0.2');
    }
    expect(again).toMatch(/^HTTP\/1.1 200/);
  });

  it('keeps one host to its share of connections, even ones that never send a request, and a new one from it takes the place of its oldest', async () => {
    const idle = Array.from({ length: 64 }, () => connect({ host: '127.0.0.1', port: server.port, localAddress: '127.0.0.4' }));
    held.push(...idle);
    let closed = 0;
    for (const s of idle) s.on('close', () => closed++).on('error', () => undefined);
    const perHost = VIEWERS_PER_HOST_MAX + 8;
    // Each past the host's share takes the place of the oldest (closed with nothing written), so the share is what stays open.
    for (const end = Date.now() + 4000; closed < 64 - perHost && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
    expect(closed).toBe(64 - perHost);
    expect(idle.slice(64 - perHost).every((s) => !s.destroyed && s.readyState === 'open')).toBe(true);
    // Another host's page opens, and so does one from the host holding its share.
    expect(await openEvents('127.0.0.5')).toMatch(/^HTTP\/1.1 200/);
    expect(await openEvents('127.0.0.4')).toMatch(/^HTTP\/1.1 200/);
  });
});

describe('event streams asked for behind other requests on one connection', () => {
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
  const view = { at: 1, rates: [] } as unknown as NetworkView;
  let watching = 0;
  let listeners: Array<(v: NetworkView) => void> = [];
  /** Reads of the view never answered (a poll that takes long): a request pipelined behind one waits. */
  const poller = {
    latest: () => view,
    viewNow: () => new Promise(() => undefined),
    watch: () => {
      watching++;
      let released = false;
      return () => {
        if (!released) watching--;
        released = true;
      };
    },
    rateHistory: () => [],
    subscribe: (fn: (v: NetworkView) => void) => {
      listeners.push(fn);
      return () => (listeners = listeners.filter((l) => l !== fn));
    },
    readSlot: async () => ({ from: '', problem: 'x' }),
  } as unknown as NetworkPoller;
  let server: Awaited<ReturnType<typeof startStatusServer>>;
  beforeAll(async () => {
    server = await startStatusServer(poller, { host: '127.0.0.1', port: 0, maxViewers: 2, logger });
  });
  afterAll(() => server.close());

  const settled = async (what: () => boolean): Promise<boolean> => {
    for (const end = Date.now() + 3000; !what() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    return what();
  };
  /** Opens a page's stream on a new connection: its status line. */
  const openEvents = () =>
    new Promise<string>((resolve) => {
      const s = connect(server.port, '127.0.0.1', () => s.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      let got = '';
      s.on('data', (b: Buffer) => {
        got += b.toString();
        if (got.includes('\r\n')) {
          s.destroy();
          resolve(got.split('\r\n')[0] as string);
        }
      });
      s.on('error', () => resolve('error'));
    });

  it('gives back the places of streams its client closed before they were answered', async () => {
    // The stream waits behind a read of the view; the client goes before either is answered. Its
    // answer never had a connection, so never closed: it kept its place and held the poller to
    // whole polls for good, and two such connections left every page refused.
    for (let i = 0; i < 2; i++) {
      const s = connect(server.port, '127.0.0.1', () => s.write('GET /api/view HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      s.on('error', () => undefined);
      expect(await settled(() => watching > 0)).toBe(true);
      s.destroy();
    }
    expect(await settled(() => watching === 0)).toBe(true);
    expect(await openEvents()).toBe('HTTP/1.1 200 OK');
  });

  it('closes a connection that asks for more behind its stream, which never ends: nothing there could be answered', async () => {
    const s = connect(server.port, '127.0.0.1', () => s.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(3)));
    s.on('data', () => undefined).on('error', () => undefined);
    let closed = false;
    s.on('close', () => (closed = true));
    // Views go to the stream; the streams behind it, never answered, were written to in memory each poll.
    for (let i = 0; i < 5; i++) {
      for (const l of listeners) l(view);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await settled(() => closed)).toBe(true);
    expect(await settled(() => watching === 0)).toBe(true);
    expect(await openEvents()).toBe('HTTP/1.1 200 OK');
  });
});

describe('the page on a loopback address', () => {
  it('stays reachable while connections that send half a request\'s headers, opened again as each is closed, outnumber its places', async () => {
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
    const view = { rates: [] } as unknown as NetworkView;
    const poller = { latest: () => view, viewNow: async () => view, watch: () => () => undefined, rateHistory: () => [], subscribe: () => () => undefined, readSlot: async () => ({ from: '', problem: 'x' }) } as unknown as NetworkPoller;
    // 4 viewers and 32 other connections: 36 places, all from this machine's one host.
    const server = await startStatusServer(poller, { host: '127.0.0.1', port: 0, maxViewers: 4, logger });
    const attackers = new Set<Socket>();
    let opened = 0;
    let running = true;
    const halfRequest = () => {
      const s = connect({ host: '127.0.0.1', port: server.port }, () => {
        opened++;
        s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Still: coming\r\n');
      });
      attackers.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        attackers.delete(s);
        if (running) setTimeout(halfRequest, 20);
      });
    };
    /** The status line of `GET path` on a connection of its own, as curl sends it ('' if the connection was closed unanswered). */
    const curl = (path: string) =>
      new Promise<string>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: server.port }, () => s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUser-Agent: curl\r\nAccept: */*\r\n\r\n`));
        let got = '';
        s.on('data', (b: Buffer) => {
          got += b.toString();
          if (got.includes('\r\n\r\n')) s.destroy();
        });
        s.on('close', () => resolve(got.split('\r\n')[0] as string));
        s.on('error', () => undefined);
      });
    // A page open before the flood keeps its event stream through it.
    const viewer = connect({ host: '127.0.0.1', port: server.port }, () => viewer.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    let viewerGot = '';
    viewer.on('data', (b: Buffer) => (viewerGot += b.toString())).on('error', () => undefined);
    try {
      for (const end = Date.now() + 5000; !viewerGot.includes('\r\n\r\n') && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
      expect(viewerGot).toMatch(/^HTTP\/1.1 200/);
      for (let i = 0; i < 100; i++) halfRequest();
      // Until the half requests have taken every free place and are being closed and opened again.
      for (const end = Date.now() + 10_000; opened < 200 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
      expect(opened).toBeGreaterThanOrEqual(200);
      const answers: string[] = [];
      for (let i = 0; i < 5; i++) answers.push(await curl('/api/view'), await curl('/'));
      expect(answers).toEqual(Array(10).fill('HTTP/1.1 200 OK'));
      expect(viewer.destroyed).toBe(false);
    } finally {
      running = false;
      for (const s of attackers) s.destroy();
      viewer.destroy();
      await server.close();
    }
  });

  it('takes --max-viewers pages from this machine, its one host (browsers, SSH tunnels, a local proxy)', async () => {
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
    const poller = { latest: () => undefined, viewNow: async () => undefined, watch: () => () => undefined, rateHistory: () => [], subscribe: () => () => undefined, readSlot: async () => ({ from: '', problem: 'x' }) } as unknown as NetworkPoller;
    const maxViewers = VIEWERS_PER_HOST_MAX + 4;
    const server = await startStatusServer(poller, { host: '127.0.0.1', port: 0, maxViewers, logger });
    const held: Socket[] = [];
    const openEvents = () =>
      new Promise<string>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: server.port }, () => s.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
        held.push(s);
        let got = '';
        s.on('data', (b: Buffer) => {
          got += b.toString();
          if (got.includes('\r\n\r\n') && (got.startsWith('HTTP/1.1 200') || got.endsWith('\n'))) resolve(got.split('\r\n')[0] as string);
        });
        s.on('error', reject);
      });
    try {
      const answers: string[] = [];
      for (let i = 0; i < maxViewers + 1; i++) answers.push(await openEvents());
      expect(answers.slice(0, maxViewers)).toEqual(Array(maxViewers).fill('HTTP/1.1 200 OK'));
      expect(answers[maxViewers]).toBe('HTTP/1.1 503 Service Unavailable');
    } finally {
      for (const s of held) s.destroy();
      await server.close();
    }
  });
});

describe('the agreed state the page shows', () => {
  /** A node that has applied `applied` slots with one leaderboard row: Status, GetLeaderboard and ReadLog (plaintext, on a free port); with `stateError`, its state machine stopped. */
  const nodeAt = (logger: Logger, id: number, applied: bigint, stateError = '', readsFail = false) =>
    plaintextServer(logger, [
      {
        name: 'paxos.v1.AcceptorService',
        definition: AcceptorServiceService,
        implementation: { status: (_c: unknown, cb: (e: null, r: StatusResponse) => void) => cb(null, StatusResponse.fromPartial({ nodeId: id, committedIndex: applied, appliedSlot: applied, stateError })) },
      },
      {
        name: 'paxos.v1.ReadService',
        definition: ReadServiceService,
        implementation: {
          getLeaderboard: (_c: unknown, cb: (e: { code: number; details: string } | null, r?: GetLeaderboardResponse) => void) =>
            readsFail
              ? cb({ code: status.RESOURCE_EXHAUSTED, details: 'busy' })
              : cb(
                  null,
                  GetLeaderboardResponse.fromPartial({
                    appliedSlot: applied,
                    proposals: applied,
                    rows: applied > 0n ? [{ framework: 'fw', score: '1', pricePerPoint: '0.01', bid: '1', ask: '1', proposalNumber: 1n, slot: applied - 1n }] : [],
                  }),
                ),
          readLog: (c: { request: { fromSlot: bigint } }, cb: (e: null, r: ReadLogResponse) => void) =>
            cb(
              null,
              ReadLogResponse.fromPartial({
                entries: Array.from({ length: Math.max(0, Number(applied - c.request.fromSlot)) }, (_, i) => ({ slot: c.request.fromSlot + BigInt(i), value: { kind: { $case: 'noop' as const, value: {} } } })),
                appliedSlot: applied,
              }),
            ),
        },
      },
    ]);

  it('does not go back to an empty leaderboard while a restarted proposer learns the log: the furthest acceptor\'s applied state is shown', async () => {
    const logger = createLogger('status-page-spec');
    logger.level = 'silent';
    // The restarted proposer has applied nothing yet; acceptor 0 is behind, acceptor 1 has applied 5 slots, acceptor 2 serves no reads.
    const proposer = await nodeAt(logger, 0, 0n);
    const behind = await nodeAt(logger, 0, 3n);
    const furthest = await nodeAt(logger, 1, 5n);
    const stopped = await nodeAt(logger, 2, 9n, 'state machine stopped');
    const poller = plaintextPoller(logger, [`127.0.0.1:${behind.port}`, `127.0.0.1:${furthest.port}`, `127.0.0.1:${stopped.port}`], `127.0.0.1:${proposer.port}`);
    try {
      const v = await poller.pollOnce();
      expect(v.proposer.state).toBe('alive');
      expect(v.leaderboard).toMatchObject({ from: 'acceptor 1 (its applied state)', appliedSlot: '5', proposals: '5' });
      expect(v.leaderboard?.rows).toHaveLength(1);
      expect(v.latestSlots.map((s) => s.slot)).toEqual(['4', '3', '2', '1', '0']);
      expect(v.problems).toContainEqual(expect.stringMatching(/^proposer 127\.0\.0\.1:\d+: has applied 0 slots, acceptor 1 5 \(it is still learning the log\)$/));
    } finally {
      poller.stop();
      await Promise.all([proposer, behind, furthest, stopped].map((n) => n.shutdown(100)));
    }
  });

  it('shows the proposer\'s own applied state, with its slot, when the acceptor it is behind answers Status but not the reads', async () => {
    const logger = createLogger('status-page-spec');
    logger.level = 'silent';
    // The proposer has applied 3 slots; acceptor 0 has applied 5 but refuses reads (busy) this poll.
    const proposer = await nodeAt(logger, 0, 3n);
    const busy = await nodeAt(logger, 0, 5n, '', true);
    const poller = plaintextPoller(logger, [`127.0.0.1:${busy.port}`], `127.0.0.1:${proposer.port}`);
    try {
      const v = await poller.pollOnce();
      // Not "no node answered": the proposer did, and its answer names the slot it reflects.
      expect(v.leaderboard).toMatchObject({ from: `proposer 127.0.0.1:${proposer.port}`, appliedSlot: '3' });
      expect(v.latestSlots.map((s) => s.slot)).toEqual(['2', '1', '0']);
      expect(v.problems).toContainEqual(expect.stringMatching(/still learning the log/));
      expect(v.problems).toContainEqual(expect.stringMatching(/^acceptor 0 \(its applied state\): /));
    } finally {
      poller.stop();
      await Promise.all([proposer, busy].map((n) => n.shutdown(100)));
    }
  });

  it('reads the proposer once it has applied as much as the acceptors', async () => {
    const logger = createLogger('status-page-spec');
    logger.level = 'silent';
    const proposer = await nodeAt(logger, 0, 5n);
    const acceptor = await nodeAt(logger, 0, 5n);
    const poller = plaintextPoller(logger, [`127.0.0.1:${acceptor.port}`], `127.0.0.1:${proposer.port}`);
    try {
      const v = await poller.pollOnce();
      expect(v.leaderboard).toMatchObject({ from: `proposer 127.0.0.1:${proposer.port}`, appliedSlot: '5' });
    } finally {
      poller.stop();
      await Promise.all([proposer, acceptor].map((n) => n.shutdown(100)));
    }
  });
});

/** A poller over plaintext nodes, polling once a second, the proposer's metrics nowhere (port 1). */
function plaintextPoller(logger: Logger, acceptors: string[], proposer: string): RealNetworkPoller {
  return new RealNetworkPoller({ acceptors, proposer, proposerMetrics: '127.0.0.1:1', transport: INSECURE, pollMs: 1000, nodeDeadlineMs: 2000, historySeconds: 60, logger });
}

/** A node whose ReadService answers ReadLog with `answer` (plaintext, on a free port). */
function readLogServer(logger: Logger, answer: (fromSlot: bigint) => ReadLogResponse) {
  return plaintextServer(logger, [
    {
      name: 'paxos.v1.ReadService',
      definition: ReadServiceService,
      implementation: { readLog: (c: { request: { fromSlot: bigint } }, cb: (e: null, r: ReadLogResponse) => void) => cb(null, answer(c.request.fromSlot)) },
    },
  ]);
}

/** A plaintext gRPC server of `services` on a free port. */
function plaintextServer(logger: Logger, services: Parameters<typeof startGrpcServer>[0]['services']) {
  return startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1 << 20, transport: INSECURE, logger, services });
}

describe('reading one slot for its page', () => {
  it('asks every acceptor when the proposer and the first ones are down, and finds the one that holds it', async () => {
    const logger = createLogger('status-page-spec');
    const holder = await readLogServer(logger, () => ReadLogResponse.fromPartial({ entries: [{ slot: 7n, value: { kind: { $case: 'noop', value: {} } } }], appliedSlot: 8n }));
    // Port 1 refuses at once: the proposer and four acceptors are down, the fifth holds slot 7.
    const poller = plaintextPoller(logger, ['127.0.0.1:1', '127.0.0.1:1', '127.0.0.1:1', '127.0.0.1:1', `127.0.0.1:${holder.port}`], '127.0.0.1:1');
    try {
      const found = await poller.readSlot(7n);
      expect(found).toMatchObject({ from: `127.0.0.1:${holder.port}`, entry: { slot: 7n } });
      const missing = await poller.readSlot(9n);
      expect(missing.entry).toBeUndefined();
      expect(missing.problem).toMatch(/not chosen there yet \(applied through slot 7\)|and 2 more nodes/);
      // 8 slots applied: 0 to 7 (not "applied up to 8", which reads as if slot 8 were).
      const alone = plaintextPoller(logger, [`127.0.0.1:${holder.port}`], '127.0.0.1:1');
      expect((await alone.readSlot(8n)).problem).toContain(`127.0.0.1:${holder.port}: not chosen there yet (applied through slot 7)`);
      alone.stop();
    } finally {
      poller.stop();
      await holder.shutdown(100);
    }
  });

  it('takes a node\'s OUT_OF_RANGE (the slot is below the history it keeps) as an answer, not as a node to ask again', async () => {
    const logger = createLogger('status-page-spec');
    logger.level = 'silent';
    const details = 'slot 3 is below this acceptor\'s chosen history, which starts at slot 63';
    const pruned = await plaintextServer(logger, [
      {
        name: 'paxos.v1.ReadService',
        definition: ReadServiceService,
        implementation: { readLog: (_c: unknown, cb: (e: { code: number; details: string }) => void) => cb({ code: status.OUT_OF_RANGE, details }) },
      },
    ]);
    // The proposer is down; both acceptors answer that they no longer keep the slot.
    const poller = plaintextPoller(logger, [`127.0.0.1:${pruned.port}`, `127.0.0.1:${pruned.port}`], '127.0.0.1:1');
    try {
      const r = await poller.readSlot(3n);
      expect(r.entry).toBeUndefined();
      expect(r.problem).toContain(details);
      expect(r.noneAnswered).toBeUndefined();
      // Said once for the two nodes that said it, not once per node.
      expect(r.problem?.split(details)).toHaveLength(2);
      expect(r.problem).toContain(`127.0.0.1:${pruned.port}, 127.0.0.1:${pruned.port}: OUT_OF_RANGE: ${details}`);
    } finally {
      poller.stop();
      await pruned.shutdown(100);
    }
  });

  it("does not take the proposer's OUT_OF_RANGE as the answer when no acceptor answered (they may still hold the slot): ask again", async () => {
    const logger = createLogger('status-page-spec');
    logger.level = 'silent';
    const details = 'slot 3 is below the chosen history the acceptors that answered retain (from slot 63); 2 acceptors did not answer and may still hold it (ask again to read it from them)';
    const proposer = await plaintextServer(logger, [
      {
        name: 'paxos.v1.ReadService',
        definition: ReadServiceService,
        implementation: { readLog: (_c: unknown, cb: (e: { code: number; details: string }) => void) => cb({ code: status.OUT_OF_RANGE, details }) },
      },
    ]);
    // Both acceptors are down (port 1 refuses at once).
    const poller = plaintextPoller(logger, ['127.0.0.1:1', '127.0.0.1:1'], `127.0.0.1:${proposer.port}`);
    try {
      const r = await poller.readSlot(3n);
      expect(r.entry).toBeUndefined();
      expect(r.problem).toContain(details);
      expect(r.noneAnswered).toBe(true);
    } finally {
      poller.stop();
      await proposer.shutdown(100);
    }
  });

  it('keeps about 16 MiB of the slots it read, counting a slot read twice at once once', async () => {
    const logger = createLogger('status-page-spec');
    logger.level = 'silent';
    let reads = 0;
    const mib = Buffer.alloc(1024 * 1024, 1);
    const holder = await readLogServer(logger, (fromSlot) => {
      reads++;
      const command = { clientRequestId: `c${fromSlot}`, value: { contentType: 'application/octet-stream', data: mib }, verifiedBy: [] };
      return ReadLogResponse.fromPartial({ entries: [{ slot: fromSlot, value: { kind: { $case: 'batch', value: { commands: [command] } } } }], appliedSlot: 100n });
    });
    const poller = plaintextPoller(logger, [`127.0.0.1:${holder.port}`], '127.0.0.1:1');
    try {
      for (let slot = 0n; slot < 20n; slot++) await Promise.all([poller.readSlot(slot), poller.readSlot(slot)]);
      const before = reads;
      // The latest dozen 1 MiB slots are still cached: their pages ask no node.
      for (let slot = 8n; slot < 20n; slot++) expect((await poller.readSlot(slot)).entry?.slot).toBe(slot);
      expect(reads).toBe(before);
      // The oldest went out.
      await poller.readSlot(0n);
      expect(reads).toBe(before + 1);
    } finally {
      poller.stop();
      await holder.shutdown(100);
    }
  });
});

describe('the poller while no one looks', () => {
  /** An acceptor that counts the Status calls it answers (plaintext, on a free port). */
  const countingAcceptor = async (logger: Logger) => {
    const calls = { status: 0 };
    const server = await plaintextServer(logger, [
      {
        name: 'paxos.v1.AcceptorService',
        definition: AcceptorServiceService,
        implementation: {
          status: (_c: unknown, cb: (e: null, r: StatusResponse) => void) => {
            calls.status++;
            cb(null, StatusResponse.fromPartial({ nodeId: 0, committedIndex: 0n, appliedSlot: 0n }));
          },
        },
      },
    ]);
    return { server, calls };
  };
  const until = async (what: () => boolean): Promise<void> => {
    while (!what()) await new Promise((r) => setTimeout(r, 10));
  };

  it('reads no acceptor until a page opens or the view is read, then reads every poll, and stops again once the page closes', async () => {
    const logger = createLogger('status-page-spec');
    logger.level = 'silent';
    const { server, calls } = await countingAcceptor(logger);
    const poller = new RealNetworkPoller({ acceptors: [`127.0.0.1:${server.port}`], proposer: '127.0.0.1:1', proposerMetrics: '127.0.0.1:1', transport: INSECURE, pollMs: 20, nodeDeadlineMs: 500, historySeconds: 60, logger, viewAskedLingerMs: 0 });
    try {
      poller.start();
      // Several idle polls (each reads the proposer's counters: here a gap, as its metrics are nowhere).
      await new Promise((r) => setTimeout(r, 200));
      expect(calls.status).toBe(0);
      expect(poller.latest()).toBeUndefined();

      // A read of the view waits for a whole poll and gets the acceptor's answer.
      const v = await poller.viewNow();
      expect(v?.acceptors[0]?.state).toBe('alive');
      expect(calls.status).toBe(1);

      // An open page: whole polls until it closes.
      const release = poller.watch();
      await until(() => calls.status >= 4);
      expect(poller.latest()?.acceptors[0]?.state).toBe('alive');
      release();
      await until(() => poller.latest() === undefined);
      const after = calls.status;
      await new Promise((r) => setTimeout(r, 200));
      expect(calls.status).toBe(after);
    } finally {
      poller.stop();
      await server.shutdown(100);
    }
  });

  it('waits pollMs between whole polls that fail, as between those that succeed, when a page opens on an idle poller', async () => {
    const logger = createLogger('status-page-spec');
    logger.level = 'silent';
    const poller = new RealNetworkPoller({ acceptors: ['127.0.0.1:1'], proposer: '127.0.0.1:1', proposerMetrics: '127.0.0.1:1', transport: INSECURE, pollMs: 50, nodeDeadlineMs: 200, historySeconds: 60, logger, viewAskedLingerMs: 0 });
    const whole = jest.spyOn(poller, 'pollOnce').mockRejectedValue(new Error('a poll that fails'));
    try {
      poller.start();
      // Idle polls (the proposer's counters alone) until the view no longer follows the network.
      await new Promise((r) => setTimeout(r, 300));
      expect(whole).not.toHaveBeenCalled();
      const release = poller.watch();
      await new Promise((r) => setTimeout(r, 500));
      release();
      // One at once, then one every 50 ms: about 11 in 500 ms, never a poll after a poll with no wait.
      expect(whole.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect(whole.mock.calls.length).toBeLessThanOrEqual(15);
    } finally {
      poller.stop();
    }
  });

  it('answers a read of the view made after stop at once', async () => {
    const logger = createLogger('status-page-spec');
    logger.level = 'silent';
    const poller = new RealNetworkPoller({ acceptors: ['127.0.0.1:1'], proposer: '127.0.0.1:1', proposerMetrics: '127.0.0.1:1', transport: INSECURE, pollMs: 20, nodeDeadlineMs: 500, historySeconds: 60, logger });
    poller.stop();
    await expect(poller.viewNow()).resolves.toBeUndefined();
  });
});
