// The page: one HTML document with its style and script inline (nothing fetched from anywhere
// but this server). It listens to /events and redraws from each view; every text that came from
// the network is set with textContent, never as HTML. The chart is a few SVG polylines drawn
// here: two series over a few hundred points need no chart library.
// A section scrolls what is wider than it and text wraps anywhere: a 64-character framework name
// with 32-digit numbers spilled out of the leaderboard under the next section, hiding its scores,
// and a long storage error ran over the acceptor tiles beside it.

const STYLE = `
:root{--ok:#1f9d55;--paused:#d69e2e;--down:#c53030;--ink:#1d2230;--muted:#6b7080;--line:#e2e4ea;--bg:#f7f8fa}
*{box-sizing:border-box}body{margin:0;font:13px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);background:var(--bg)}
header{display:flex;gap:2em;align-items:baseline;padding:12px 20px;background:#fff;border-bottom:1px solid var(--line)}
header h1{font-size:16px;margin:0}header .muted{color:var(--muted)}
main{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:16px;padding:16px 20px}
body[data-stale] main{opacity:.45;filter:grayscale(1)}body[data-stale] #updated{color:var(--down);font-weight:600}
section{background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px 14px;min-width:0;overflow-x:auto;overflow-wrap:anywhere}
section h2{font-size:13px;margin:0 0 8px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
#acceptors{display:grid;grid-template-columns:repeat(auto-fill,minmax(112px,1fr));gap:6px}
.node{border:1px solid var(--line);border-left:5px solid var(--down);border-radius:4px;padding:5px 7px;font-size:11px;min-height:74px}
.node[data-state=alive]{border-left-color:var(--ok)}.node[data-state=paused],.node[data-state=busy]{border-left-color:var(--paused);background:#fffaf0}.node[data-state=down]{background:#fff5f5}
.node b{font-size:12px}.node .state{float:right;font-weight:600}.node[data-state=alive] .state{color:var(--ok)}.node[data-state=paused] .state,.node[data-state=busy] .state{color:var(--paused)}.node[data-state=down] .state{color:var(--down)}
.node .bad{color:var(--down);font-weight:600}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 6px;border-bottom:1px solid var(--line);white-space:nowrap}td.framework{white-space:normal;min-width:10em}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600}.pill.ok{background:#e6f6ec;color:var(--ok)}.pill.bad{background:#fdecec;color:var(--down)}.pill.warn{background:#fdf5e3;color:#9c6b12}
svg{width:100%;height:150px;display:block}svg text{font-size:10px;fill:var(--muted)}
.legend span{margin-right:1em}.muted{color:var(--muted)}#problems{color:var(--down);font-size:12px}
.wide{grid-column:1/-1}ul{margin:0;padding-left:1.2em}
`;

/** The page's script (exported so a test can compile it). */
export const PAGE_SCRIPT = `
const $ = (id) => document.getElementById(id);
const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) { if (v !== undefined) e.setAttribute(k, v); }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
};
let rates = [];
let now = Date.now();

function nodeTile(a) {
  const t = el('div', { class: 'node', 'data-node-id': a.id, 'data-state': a.state, title: a.reason || a.address });
  t.append(el('span', { class: 'state' }, a.state), el('b', {}, 'acceptor ' + a.id), el('br'));
  if (a.state !== 'alive') { t.append(el('span', { class: 'muted' }, a.reason || '')); return t; }
  t.append('promised ' + (a.promised || '-'), el('br'), 'committed ' + a.committedIndex + ' · applied ' + a.appliedSlot, el('br'));
  if (a.source) t.append(el('span', { class: a.source.loaded ? '' : 'bad' }, a.source.table + (a.source.loaded ? ': ' + a.source.rows + ' rows' : ': not loaded')), el('br'));
  t.append(a.storage && !a.storage.healthy ? el('span', { class: 'bad' }, 'storage: ' + (a.storage.error || 'unhealthy')) : el('span', { class: 'muted' }, 'storage healthy'));
  if (a.stateError) t.append(el('br'), el('span', { class: 'bad' }, 'no reads: ' + a.stateError));
  if (a.rejoinCatchUpTo) t.append(el('br'), el('span', { class: 'bad' }, 'rejoining: votes once committed reaches ' + a.rejoinCatchUpTo));
  return t;
}

function drawChart(svg, series, unit) {
  svg.replaceChildren();
  const W = 600, H = 150, L = 44, B = 16;
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  const span = Math.max(60000, now - (rates[0] ? rates[0].at : now));
  let max = 0;
  for (const s of series) for (const p of rates) { const v = p[s.key]; if (typeof v === 'number' && v > max) max = v; }
  max = max > 0 ? max * 1.1 : 1;
  const x = (t) => L + (W - L - 4) * (1 - (now - t) / span), y = (v) => (H - B) - (H - B - 6) * (v / max);
  const ns = 'http://www.w3.org/2000/svg';
  const line = (x1, y1, x2, y2) => { const l = document.createElementNS(ns, 'line'); l.setAttribute('x1', x1); l.setAttribute('y1', y1); l.setAttribute('x2', x2); l.setAttribute('y2', y2); l.setAttribute('stroke', '#e2e4ea'); svg.append(l); };
  const text = (tx, ty, s, anchor) => { const t = document.createElementNS(ns, 'text'); t.setAttribute('x', tx); t.setAttribute('y', ty); if (anchor) t.setAttribute('text-anchor', anchor); t.textContent = s; svg.append(t); };
  for (const f of [0, 0.5, 1]) { line(L, y(max * f), W - 4, y(max * f)); text(L - 4, y(max * f) + 3, (max * f).toFixed(max < 10 ? 1 : 0) + unit, 'end'); }
  text(L, H - 2, '-' + Math.round(span / 1000) + ' s'); text(W - 4, H - 2, 'now', 'end');
  for (const s of series) {
    const pts = rates.filter((p) => typeof p[s.key] === 'number').map((p) => x(p.at).toFixed(1) + ',' + y(p[s.key]).toFixed(1));
    const pl = document.createElementNS(ns, 'polyline');
    pl.setAttribute('points', pts.join(' ')); pl.setAttribute('fill', 'none'); pl.setAttribute('stroke', s.color); pl.setAttribute('stroke-width', '1.5');
    svg.append(pl);
  }
}

// When the last view arrived (this browser's performance.now(): a step of its wall clock must not
// hide a silent server, or call a live one stale) and how often views come: a server that is
// paused keeps the stream open and sends nothing, so silence itself is watched.
let lastViewAt;
let expectEveryMs = 1000;

function render(v) {
  // The server's clock, not this browser's, places the chart's points.
  now = v.at;
  lastViewAt = performance.now();
  expectEveryMs = v.pollMs;
  document.body.removeAttribute('data-stale');
  $('updated').textContent = 'updated ' + new Date(v.at).toLocaleTimeString();
  const q = $('quorum');
  // Busy acceptors run but refused the page's calls: a quorum that needs them is not known dead.
  const busy = v.busy || 0;
  const unknown = !v.quorumAlive && busy > 0 && v.voting + busy >= v.quorumSize;
  q.textContent = v.alive + '/' + v.clusterSize + ' acceptors alive' + (v.voting < v.alive ? ' (' + (v.alive - v.voting) + ' not voting)' : '') + ' · quorum ' + v.quorumSize + (v.quorumAlive ? ' alive' : unknown ? ' not known (' + busy + ' busy)' : ' NOT alive');
  q.className = 'pill ' + (v.quorumAlive ? 'ok' : unknown ? 'warn' : 'bad');
  $('acceptors').replaceChildren(...v.acceptors.map(nodeTile));
  const p = v.proposer;
  const pe = $('proposer');
  pe.setAttribute('data-state', p.state);
  // Whether it leads comes from its metrics: when they were not read, that is not known (not "not leading").
  const leads = p.leader === undefined ? 'unknown' : p.leader ? 'true' : 'false';
  pe.setAttribute('data-leader', leads);
  const blocked = p.state === 'alive' && p.cannotChoose === true;
  const learning = p.state === 'alive' && !blocked && p.learning === true;
  pe.replaceChildren(
    el('span', { class: 'pill ' + (p.state === 'busy' || learning ? 'warn' : p.state !== 'alive' || blocked ? 'bad' : leads === 'true' ? 'ok' : 'warn') }, p.state !== 'alive' ? 'proposer ' + p.state : blocked ? 'cannot choose' : learning ? 'learning' : leads === 'true' ? 'leader' : leads === 'false' ? 'not leading' : 'leader unknown'),
    ' proposer at ' + p.address + (p.state === 'alive' && leads === 'unknown' ? ' · its metrics do not answer' : '') +
      (learning ? ' · it is learning the chosen log and takes client work once it has (it holds the proposals it receives meanwhile)' : '') +
      (blocked ? ' · it can choose nothing more: acceptors promised ballots at the round ceiling (npm run check names them; DESIGN section 12, "The ballot ceiling")' : '') + (p.ballotRound !== undefined ? ' · ballot round ' + p.ballotRound : '') + (p.deliveredSlot !== undefined ? ' · ' + (p.deliveredSlot === 0 ? 'no slot delivered yet' : 'delivered through slot ' + (p.deliveredSlot - 1)) : '') +
      (p.inFlightSlots !== undefined ? ' · ' + p.inFlightSlots + ' slots in flight, ' + p.pendingCommands + ' commands queued' : '') + (p.reason ? ' · ' + p.reason : ''),
  );
  if (v.latestRate && (!rates.length || v.latestRate.at !== rates[rates.length - 1].at)) {
    // A point earlier than the last one: the server's wall clock was set back, and the points after it no longer fit the time axis.
    while (rates.length && rates[rates.length - 1].at >= v.latestRate.at) rates.pop();
    rates.push(v.latestRate);
  }
  while (rates.length && rates[0].at < v.at - v.historySeconds * 1000) rates.shift();
  const last = rates[rates.length - 1];
  const fresh = last && last.at >= v.at - 2.5 * v.pollMs;
  $('rate-now').textContent = fresh ? Math.round(last.commandsPerSecond) + ' commands/s, ' + last.slotsPerSecond.toFixed(1) + ' slots/s' + (last.p50Ms !== undefined ? ', p50 ' + last.p50Ms.toFixed(1) + ' ms, p99 ' + last.p99Ms.toFixed(1) + ' ms' : '') : last ? "no current figures: the proposer's metrics do not answer" : 'no figures yet';
  drawChart($('throughput'), [{ key: 'commandsPerSecond', color: '#3366cc' }], '/s');
  drawChart($('latency'), [{ key: 'p50Ms', color: '#1f9d55' }, { key: 'p99Ms', color: '#c53030' }], ' ms');
  const lb = v.leaderboard;
  // appliedSlot counts the slots applied: the last one applied is the slot before it (as check and submit say).
  $('lb-from').textContent = lb ? (lb.appliedSlot === '0' ? 'before slot 0 (no slot applied yet)' : 'after slot ' + (BigInt(lb.appliedSlot) - 1n) + ' (' + lb.appliedSlot + (lb.appliedSlot === '1' ? ' slot' : ' slots') + ' applied)') + ' from ' + lb.from + ' · ' + lb.proposals + ' proposals took effect, ' + lb.refused + ' refused' : 'no node answered';
  $('leaderboard').replaceChildren(...(lb ? lb.rows : []).map((r) =>
    el('tr', {}, el('td', { class: 'framework' }, r.framework), el('td', { class: 'num' }, r.score), el('td', { class: 'num' }, r.pricePerPoint), el('td', { class: 'num' }, r.bid), el('td', { class: 'num' }, r.ask),
      el('td', { class: 'num' }, r.proposalNumber), el('td', { class: 'num' }, el('a', { href: '/slot/' + r.slot }, r.slot)))));
  $('slots').replaceChildren(...v.latestSlots.map((s) => {
    const what = s.noop ? 'no-op' : s.commandCount + ' command' + (s.commandCount === 1 ? '' : 's') +
      (s.commands.some((c) => c.proposalNumber) ? ' (proposal ' + s.commands.filter((c) => c.proposalNumber).map((c) => c.proposalNumber).join(', ') + ')' : '') +
      (s.commands.some((c) => c.duplicateOf) ? ', ' + s.commands.filter((c) => c.duplicateOf).length + ' duplicate' : '') +
      (s.commands.some((c) => c.forgotten) ? ', ' + s.commands.filter((c) => c.forgotten).length + ' of forgotten ids' : '');
    return el('tr', {}, el('td', { class: 'num' }, el('a', { href: '/slot/' + s.slot }, s.slot)), el('td', {}, s.ballot || '-'), el('td', {}, what));
  }));
  $('claims').replaceChildren(...v.proposals.map((p) =>
    el('li', {}, el('a', { href: '/slot/' + p.slot }, 'proposal ' + p.number), ' (slot ' + p.slot + ', proposer ' + p.proposerId + '): ',
      p.claims.length === 0 ? el('span', { class: 'muted' }, 'no claims') : el('ul', {}, ...p.claims.map((c) => el('li', {}, c.text + ' — verified by the proposer' + (c.checkedBy.length ? ' and acceptors ' + c.checkedBy.join(', ') : ' alone (no acceptor holds the source)') + ' (source ' + c.source + ')'))))));
  $('problems').textContent = v.problems.length ? 'not read this time: ' + v.problems.slice(0, 5).join('; ') : '';
  $('problems').hidden = v.problems.length === 0;
}

// EventSource retries a dropped stream by itself, but not one that was refused (503 when too many
// pages are open): that one is opened again here, later each time.
let retryMs = 2000;
function connect() {
  const events = new EventSource('/events');
  events.addEventListener('history', (e) => { rates = JSON.parse(e.data); });
  events.addEventListener('view', (e) => { retryMs = 2000; render(JSON.parse(e.data)); });
  events.onerror = () => {
    $('updated').textContent = 'no event stream from the status page server (it does not answer, or too many pages are open: close one); retrying';
    if (events.readyState === EventSource.CLOSED) { setTimeout(connect, retryMs); retryMs = Math.min(retryMs * 2, 60000); }
  };
}
connect();

// No view for 3 polls (at least 5 s): what is shown is old. Say so, and grey it out.
setInterval(() => {
  if (lastViewAt === undefined) return;
  const silentMs = performance.now() - lastViewAt;
  if (silentMs < Math.max(3 * expectEveryMs, 5000)) return;
  document.body.setAttribute('data-stale', 'true');
  $('updated').textContent = 'STALE: no update for ' + Math.round(silentMs / 1000) + ' s (the status page server is paused, overloaded or gone); shown: ' + new Date(now).toLocaleTimeString();
  const q = $('quorum');
  q.className = 'pill warn';
}, 1000);
`;

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Paxos network status</title><style>${STYLE}</style></head>
<body>
<header><h1>Paxos network</h1><span id="quorum" class="pill">connecting…</span><span id="updated" class="muted"></span></header>
<main>
<section class="wide"><h2>Leader</h2><div id="proposer" data-state="down" data-leader="false">waiting for the first reading</div></section>
<section><h2>Acceptors</h2><div id="acceptors"></div></section>
<section><h2>Throughput and latency</h2><div id="rate-now" class="muted"></div>
<svg id="throughput" role="img" aria-label="commands chosen per second"></svg>
<div class="legend"><span style="color:#3366cc">commands chosen / s</span></div>
<svg id="latency" role="img" aria-label="propose latency"></svg>
<div class="legend"><span style="color:#1f9d55">p50 propose latency</span><span style="color:#c53030">p99</span></div></section>
<section><h2>Monster Harmonic leaderboard</h2><div id="lb-from" class="muted"></div>
<table><thead><tr><th>framework</th><th class="num">score</th><th class="num">price/pt</th><th class="num">bid</th><th class="num">ask</th><th class="num">proposal</th><th class="num">slot</th></tr></thead><tbody id="leaderboard"></tbody></table></section>
<section><h2>Latest chosen slots</h2><table><thead><tr><th class="num">slot</th><th>ballot</th><th>value</th></tr></thead><tbody id="slots"></tbody></table></section>
<section class="wide"><h2>Claims of the latest proposals</h2><ul id="claims"></ul></section>
<section class="wide" id="problems" hidden></section>
</main>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
