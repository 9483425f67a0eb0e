// The flatgrad rows again, in a process of their own: bench/index.ts starts it as
//   node --experimental-wasm-relaxed-simd --import tsx bench/flatgrad_only.ts OUT.json [TIME_MS ROUNDS MIN_ITERATIONS]
// to measure flatgrad with relaxed SIMD (a flag on Node 20), which must not leak into the main run's peers.
// jax-js runs here too, as the reference the relaxed targets are judged against: it uses f32x4.relaxed_madd
// itself when the engine has it, so the like-with-like ratio is against jax-js in this same process.
// Writes { relaxedSimd, rows: [{ name, checks, results, notes }] } to OUT.json; progress goes to stderr.
import { writeFileSync } from 'node:fs';
import { measure } from './measure.ts';
import { jaxPeer } from './peers/jax.ts';
import { flatgradPeers, hasRelaxedSimd, makeData, type PeerTasks } from './workloads.ts';

const [out, time = '3000', rounds = '3', minIterations = '3'] = process.argv.slice(2);
if (!out) throw new Error('usage: flatgrad_only.ts OUT.json [TIME_MS ROUNDS MIN_ITERATIONS]');

const data = makeData();
const peers: PeerTasks[] = [...(await flatgradPeers(data)), await jaxPeer(data)];
const results = await measure(peers, {
  timeMs: Number(time), rounds: Number(rounds), minIterations: Number(minIterations),
  log: (line) => process.stderr.write(`[relaxed SIMD process]${line}\n`),
});
const rows = peers.map((p) => ({
  name: p.name,
  checks: Object.fromEntries(Object.entries(p.tasks).map(([id, t]) => [id, t!.check])),
  results: results.get(p.name) ?? {},
  notes: p.notes ?? {},
}));
writeFileSync(out, JSON.stringify({ relaxedSimd: hasRelaxedSimd(), node: process.version, rows }));
