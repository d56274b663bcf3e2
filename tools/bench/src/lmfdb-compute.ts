// `npm run bench:lmfdb`: figures of the LMFDB checks — a_p computed per second (primes up to
// 1,000, one core), the share of shipped rows each check covers, and the ingest's rows per second
// against a local server shaped like the LMFDB API with pacing off. One JSON line per figure.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, exitWithError, helpText } from '@paxos/grpc-kit';
import { AP_PRIME_MAX, apModP, loadSource, polynomialDiscriminant, polynomialDiscriminantBareiss, primesUpTo, type RawRow, startFakeLmfdbServer } from '@paxos/lmfdb-client';
import { lmfdbBenchCommand, parseLmfdbBenchArgs } from './lmfdb-compute-args';

const root = resolve(__dirname, '../../..');
const snapshot = join(root, 'data/lmfdb-snapshot');

async function apRate(): Promise<void> {
  const curves = (await loadSource(snapshot, 0)).records.map((r) => r.row['ainvs'] as bigint[]);
  const primes = primesUpTo(AP_PRIME_MAX);
  const started = process.hrtime.bigint();
  let computed = 0;
  let checksum = 0;
  for (const ainvs of curves) {
    for (const p of primes) {
      checksum += apModP(ainvs, p);
      computed++;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ figure: 'ap_per_second', curves: curves.length, primes: primes.length, primeMax: AP_PRIME_MAX, computed, seconds: +seconds.toFixed(3), perSecond: Math.round(computed / seconds), checksum }));
}

/**
 * Milliseconds a number field's discriminant check takes at the check's bound (degree 40, 64-bit
 * coefficients): by resultants modulo primes (what the check runs) and by the Sylvester
 * determinant (what it ran before), on the same seeded polynomials; they must agree.
 */
function discriminantCost(): void {
  let seed = 12345n;
  const rnd = () => ((seed = (seed * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n)), seed - (1n << 63n));
  const polys = Array.from({ length: 8 }, () => [...Array.from({ length: 40 }, rnd), 1n]);
  polynomialDiscriminant(polys[0] as bigint[]); // the primes of the modulus are found once
  const time = (f: (c: readonly bigint[]) => bigint) => {
    const started = process.hrtime.bigint();
    const values = polys.map(f);
    return { msPerRow: +(Number(process.hrtime.bigint() - started) / 1e6 / polys.length).toFixed(1), values };
  };
  const modular = time(polynomialDiscriminant);
  const determinant = time(polynomialDiscriminantBareiss);
  const agree = modular.values.every((v, i) => v === determinant.values[i]);
  console.log(JSON.stringify({ figure: 'nf_discriminant_ms_per_row', degree: 40, coefficientBits: 64, rows: polys.length, modularResultant: modular.msPerRow, sylvesterDeterminant: determinant.msPerRow, agree }));
  if (!agree) throw new Error('the two discriminant computations disagree');
}

/** Rows of each shipped source that a check recomputes something of, by check. */
async function coverage(): Promise<void> {
  const share = (n: number, of: number) => `${n}/${of}`;
  const ec = (await loadSource(snapshot, 0)).records;
  const has = (r: { row: Record<string, unknown> }, ...cols: string[]) => cols.every((c) => r.row[c] !== undefined);
  console.log(
    JSON.stringify({
      figure: 'check_coverage',
      source: 0,
      label: share(ec.filter((r) => has(r, 'lmfdb_label')).length, ec.length),
      ainvs_discriminant_jinv: share(ec.filter((r) => has(r, 'ainvs', 'absD', 'signD', 'jinv')).length, ec.length),
      torsion_divides_points: share(ec.filter((r) => has(r, 'ainvs', 'torsion')).length, ec.length),
      ap_anlist_claims: share(ec.filter((r) => has(r, 'ainvs')).length, ec.length),
    }),
  );
  const mf = (await loadSource(snapshot, 1)).records;
  const rationalWeight2 = mf.filter((r) => r.row['weight'] === 2n && r.row['dim'] === 1n && Array.isArray(r.row['trace_display']));
  console.log(JSON.stringify({ figure: 'check_coverage', source: 1, label: share(mf.length, mf.length), modular_curve_claims: share(rationalWeight2.length, mf.length), rows: rationalWeight2.map((r) => r.label) }));
  const nf = (await loadSource(snapshot, 3)).records;
  console.log(JSON.stringify({ figure: 'check_coverage', source: 3, label: share(nf.length, nf.length), polynomial_discriminant: share(nf.filter((r) => has(r, 'coeffs', 'disc_abs', 'disc_sign')).length, nf.length) }));
}

/** The ingest (a real process) against a local API with `rows` curves and no pacing. */
async function ingestRate(rows: number): Promise<void> {
  const base = (await loadSource(snapshot, 0)).records.map((r) => r.raw);
  const table: RawRow[] = Array.from({ length: rows }, (_, i) => {
    const r = base[i % base.length] as RawRow;
    return { ...r, lmfdb_label: `${String(r['lmfdb_label'])}-${i}` };
  });
  const server = await startFakeLmfdbServer({ tables: { ec_curvedata: table } });
  const dir = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
  try {
    const bundle = spawnSync(process.execPath, [join(root, 'tools/scripts/bundle.mjs'), 'lmfdb-ingest'], { cwd: root, encoding: 'utf8' });
    if (bundle.status !== 0) throw new Error(`bundling the ingest failed: ${bundle.stderr}`);
    const started = performance.now();
    const run = await new Promise<{ status: number | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, [join(root, 'dist/apps/lmfdb-ingest/main.js'), '--sources', '0', '--base-url', server.baseUrl, '--cache-dir', dir, '--min-interval-ms', '0'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, LOG_LEVEL: 'warn' },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (status) => done({ status, stderr }));
    });
    const seconds = (performance.now() - started) / 1000;
    if (run.status !== 0) throw new Error(`the ingest failed (${run.status}): ${run.stderr.slice(-2000)}`);
    console.log(JSON.stringify({ figure: 'ingest_rows_per_second', rows, pages: server.requests.length, seconds: +seconds.toFixed(2), perSecond: Math.round(rows / seconds), note: 'process start and bundle-free run included; pacing off (--min-interval-ms 0)' }));
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = parseLmfdbBenchArgs(process.argv.slice(2));
  if (args.help) {
    console.log(helpText(lmfdbBenchCommand));
    return;
  }
  await apRate();
  discriminantCost();
  await coverage();
  await ingestRate(args.rows);
}

main().catch((e: unknown) => (e instanceof ConfigError ? exitWithError('bench:lmfdb', e, 2) : (console.error(e), process.exit(1))));
