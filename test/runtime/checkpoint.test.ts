// Checkpoints: the file format, resuming bit for bit, and every corruption refused before the model changes.
import { closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { thrown } from '../support/helpers.ts';
import { compile, FlatgradError, graph, mulberry32, randn, type Model, type Optimizer } from '../../src/index.ts';
import { batches } from '../../src/runtime/data.ts';
import { checkpointHeader, crc32, io, loadCheckpoint, saveCheckpoint, type CheckpointModel } from '../../src/runtime/checkpoint.ts';
import { readCheckpoint, writeCheckpoint } from '../../src/runtime/checkpoint-file.ts';
import { createModel as createTwoLayerNet } from '../../generated/two_layer_net.ts';

/** A small MLP: x [4, 3] → w1 [3, hidden] (+ b1, ReLU) → w2 [hidden, 2], softmax cross-entropy. */
async function mlp(options: { name?: string; hidden?: number; optimizer?: Optimizer; seed?: number; dtype?: 'f32' | 'f64'; extra?: boolean } = {}) {
  const g = graph(options.name ?? 'ckpt_mlp');
  const x = g.input('x', ['N', 3]);
  const y = g.input('y', ['N'], 'i32');
  const hidden = options.hidden ?? 5;
  let h = x.matmul(g.param('w1', [3, hidden], { init: { normal: 0.5 } })).add(g.param('b1', [hidden], { init: 'zeros' })).relu();
  if (options.extra) h = h.mul(g.param('gain', [hidden], { init: 1 }));
  const loss = h.matmul(g.param('w2', [hidden, 2], { init: { normal: 0.5 } })).softmaxCrossEntropy(y);
  return compile(g, { loss, dims: { N: 4 }, optimizer: options.optimizer, seed: options.seed ?? 1, dtype: options.dtype });
}

const rng = mulberry32(42);
const dataset = {
  x: { values: Float32Array.from({ length: 40 * 3 }, () => randn(rng)), shape: [40, 3] },
  y: { values: Int32Array.from({ length: 40 }, () => Math.floor(rng() * 2)), shape: [40] },
};

/** Every param and state value, copied. */
const snapshot = (m: CheckpointModel) => ({
  params: Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Array.from(v)])),
  state: Object.fromEntries(Object.entries(m.state).map(([k, v]) => [k, Array.from(v)])),
});

/** Train `steps` steps from batch `from` of the seeded stream; the losses. */
function train(model: Model, steps: number, from = 0): number[] {
  const data = batches(dataset, { batchSize: 4, seed: 5 });
  const losses: number[] = [];
  const stream = data.stream(Math.floor(from / data.batchesPerEpoch), from % data.batchesPerEpoch);
  for (const { feeds } of stream) if (losses.push(model.step(feeds, 0.05)) === steps) break;
  return losses;
}

const optimizers: [string, Optimizer][] = [['sgd', { sgd: {} }], ['momentum', { momentum: { nesterov: true } }], ['adam', { adam: {} }], ['rmsprop', { rmsprop: {} }]];

describe('saveCheckpoint / loadCheckpoint', () => {
  it('writes the documented format: magic, version, JSON header, 8-byte aligned little-endian data, CRC-32 at the end', async () => {
    const model = await mlp({ optimizer: { adam: {} } });
    train(model, 3);
    const bytes = saveCheckpoint(model, { epoch: 2, note: 'π' });
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('FLATGRAD');
    expect(view.getUint32(8, true)).toBe(1);
    const H = view.getUint32(12, true);
    expect((16 + H) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + H)));
    expect(header).toEqual(checkpointHeader(bytes));
    expect(header).toMatchObject({ version: 1, dtype: 'f32', graph: 'ckpt_mlp', bytes: bytes.length, meta: { epoch: 2, note: 'π' } });
    expect(header.entries.map((e: { key: string; kind: string; dtype: string; shape: number[] }) => [e.key, e.kind, e.dtype, e.shape])).toEqual([
      ['w1', 'param', 'f32', [3, 5]], ['b1', 'param', 'f32', [5]], ['w2', 'param', 'f32', [5, 2]],
      ['m_w1', 'state', 'f32', [3, 5]], ['v_w1', 'state', 'f32', [3, 5]], ['m_b1', 'state', 'f32', [5]], ['v_b1', 'state', 'f32', [5]],
      ['m_w2', 'state', 'f32', [5, 2]], ['v_w2', 'state', 'f32', [5, 2]], ['step_count', 'state', 'f64', [1]],
    ]);
    for (const e of header.entries) {
      expect(e.offset % 8).toBe(0);
      const buf = e.kind === 'param' ? model.params[e.key]! : model.state[e.key]!;
      const values = Array.from({ length: e.length }, (_, i) => (e.dtype === 'f64' ? view.getFloat64(e.offset + 8 * i, true) : view.getFloat32(e.offset + 4 * i, true)));
      expect(values).toEqual(Array.from(buf));
    }
    expect(model.state.step_count?.[0]).toBe(3);
    expect(view.getUint32(bytes.length - 4, true)).toBe(crc32(bytes, bytes.length - 4));
    if (typeof (zlib as { crc32?: unknown }).crc32 === 'function') {
      expect(crc32(bytes, bytes.length - 4)).toBe((zlib as unknown as { crc32(b: Uint8Array): number }).crc32(bytes.subarray(0, bytes.length - 4)));
    }
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('round trip: a model of another seed, loaded, holds the same params and state bit for bit', async () => {
    const a = await mlp({ optimizer: { adam: {} } });
    train(a, 5);
    const b = await mlp({ optimizer: { adam: {} }, seed: 77 });
    expect(snapshot(b)).not.toEqual(snapshot(a));
    loadCheckpoint(b, saveCheckpoint(a));
    expect(snapshot(b)).toEqual(snapshot(a));
  });

  it.each(optimizers)('resuming from a checkpoint gives the same next losses as never stopping, bit for bit (%s)', async (_, optimizer) => {
    const a = await mlp({ optimizer });
    const first = train(a, 13); // 13 steps: the stream is mid-epoch (10 batches an epoch)
    const bytes = saveCheckpoint(a, { step: 13 });
    const uninterrupted = train(a, 12, 13);
    const b = await mlp({ optimizer, seed: 1234 });
    loadCheckpoint(b, bytes);
    const resumed = train(b, 12, checkpointHeader(bytes).meta.step as number);
    expect(resumed).toEqual(uninterrupted);
    expect(snapshot(b)).toEqual(snapshot(a));
    expect(first.length + resumed.length).toBe(25);
  });

  it('works with a generated module (createModel), whose state is empty', () => {
    const a = createTwoLayerNet({ seed: 1 });
    const b = createTwoLayerNet({ seed: 2 });
    loadCheckpoint(b, saveCheckpoint(a));
    expect(Array.from(b.params.w1)).toEqual(Array.from(a.params.w1));
    expect(Array.from(b.params.w2)).toEqual(Array.from(a.params.w2));
    expect(checkpointHeader(saveCheckpoint(a)).graph).toBeUndefined(); // a generated module's model does not carry its graph's name
  });

  it('converts between f32 and f64 models: f32 → f64 exactly, f64 → f32 rounded to nearest', async () => {
    const f32 = await mlp({ optimizer: { momentum: {} } });
    const f64 = await mlp({ optimizer: { momentum: {} }, dtype: 'f64', seed: 9 });
    train(f32, 4);
    loadCheckpoint(f64, saveCheckpoint(f32));
    expect(snapshot(f64)).toEqual(snapshot(f32));
    train(f64, 4);
    const back = await mlp({ optimizer: { momentum: {} } });
    loadCheckpoint(back, saveCheckpoint(f64));
    expect(Array.from(back.params.w1!)).toEqual(Array.from(f64.params.w1!, Math.fround));
    expect(Array.from(back.state.velocity_w2!)).toEqual(Array.from(f64.state.velocity_w2!, Math.fround));
    expect(checkpointHeader(saveCheckpoint(f64)).dtype).toBe('f64');
  });

  it('loads from bytes at any alignment (a view at an odd offset)', async () => {
    const a = await mlp({ optimizer: { adam: {} } });
    train(a, 2);
    const bytes = saveCheckpoint(a);
    const odd = new Uint8Array(bytes.length + 1);
    odd.set(bytes, 1);
    const b = await mlp({ optimizer: { adam: {} }, seed: 3 });
    loadCheckpoint(b, odd.subarray(1));
    expect(snapshot(b)).toEqual(snapshot(a));
  });
});

describe('a failed load names the problem and changes nothing', () => {
  /** Load `bytes` into a fresh model; expect `message` and the model as it was. */
  async function refused(bytes: Uint8Array, message: string | RegExp, into?: Model) {
    const model = into ?? (await mlp({ optimizer: { adam: {} }, seed: 99 }));
    train(model, 1);
    const before = snapshot(model);
    expect(() => loadCheckpoint(model, bytes)).toThrow(message);
    expect(snapshot(model)).toEqual(before);
  }
  const saved = async () => {
    const a = await mlp({ optimizer: { adam: {} } });
    train(a, 3);
    return saveCheckpoint(a, { epoch: 1 });
  };
  /** The bytes with a fresh CRC: as a writer would have written them. */
  const resealed = (bytes: Uint8Array) => {
    const out = bytes.slice();
    new DataView(out.buffer).setUint32(out.length - 4, crc32(out, out.length - 4), true);
    return out;
  };

  it('a truncated file, at any length', async () => {
    const bytes = await saved();
    const H = new DataView(bytes.buffer).getUint32(12, true);
    const lengths = [0, 1, 7, 8, 12, 16, 19, 20, 16 + (H >> 1), 16 + H - 1, 16 + H, 16 + H + 3, 16 + H + 8, bytes.length - 9, bytes.length - 5, bytes.length - 4, bytes.length - 1];
    for (const n of lengths) await refused(bytes.slice(0, n), /^checkpoint: truncated/);
    await refused(bytes.slice(0, bytes.length - 1), `checkpoint: truncated: the file has ${bytes.length - 1} bytes, but its header describes ${bytes.length}`);
  });

  it('a flipped byte anywhere: a CRC-32 mismatch', async () => {
    const bytes = await saved();
    const model = await mlp({ optimizer: { adam: {} }, seed: 99 });
    const before = snapshot(model);
    for (let at = 0; at < bytes.length; at++) {
      for (const mask of [0x01, 0x80]) {
        const bad = bytes.slice();
        bad[at]! ^= mask;
        expect(() => loadCheckpoint(model, bad), `byte ${at} ^ ${mask}`).toThrow(/^checkpoint: (corrupted|truncated or corrupted): CRC-32 mismatch/);
      }
    }
    expect(snapshot(model)).toEqual(before);
  });

  it('another kind of file; extra bytes at the end', async () => {
    await refused(
      Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Uint8Array(40)),
      'checkpoint: not a flatgrad checkpoint: it starts with "\\x89PNG\\x0d\\x0a\\x1a\\x0a", not the magic bytes "FLATGRAD"',
    );
    await refused(new TextEncoder().encode('{"w1": [1, 2, 3]}'), /not a flatgrad checkpoint/);
    const bytes = await saved();
    const longer = new Uint8Array(bytes.length + 8);
    longer.set(bytes);
    await refused(longer, /^checkpoint: corrupted: CRC-32 mismatch/);
    await refused(resealed(longer), `checkpoint: the header says the file has ${bytes.length} bytes, but it has ${bytes.length + 8}`);
  });

  it('a future format version', async () => {
    const bytes = (await saved()).slice();
    new DataView(bytes.buffer).setUint32(8, 2, true);
    await refused(resealed(bytes), 'checkpoint: format version 2 is not supported: this flatgrad reads version 1 (was the file written by a newer flatgrad?)');
  });

  it('a header that is not JSON, or not a checkpoint header', async () => {
    const bytes = await saved();
    const bad = bytes.slice();
    bad[17] = 0x7b; // '{"version"…' becomes '{{version"…'
    await refused(resealed(bad), /^checkpoint: the header is not valid JSON/);
    const edit = (f: (h: Record<string, unknown> & { entries: Record<string, unknown>[] }) => void) => {
      const view = new DataView(bytes.buffer);
      const H = view.getUint32(12, true);
      const h = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + H)));
      f(h);
      const text = new TextEncoder().encode(JSON.stringify(h));
      expect(text.length).toBeLessThanOrEqual(H);
      const out = bytes.slice();
      out.fill(0x20, 16, 16 + H);
      out.set(text, 16);
      return resealed(out);
    };
    await refused(edit((h) => (h.entries[1]!.shape = [6])), "checkpoint: entry 'b1': length 5 is not the size of its shape [6]");
    await refused(edit((h) => (h.entries[1]!.offset = (h.entries[0]!.offset as number) + 8)), "checkpoint: entries 'w1' and 'b1' overlap");
    await refused(edit((h) => (h.entries[2]!.offset = Math.floor((h.bytes as number) / 8) * 8 - 8)), "checkpoint: entry 'w2': its 10 values at offset");
    await refused(edit((h) => (h.entries[0]!.dtype = 'f16')), "checkpoint: entry 'w1': dtype must be 'f32' or 'f64', got \"f16\"");
    await refused(edit((h) => (h.entries[3]!.key = 'w1')), "checkpoint: the file has two entries named 'w1'");
  });

  it("another graph's checkpoint: the mismatches one per line, the first few, then a count", async () => {
    const other = await mlp({ name: 'wider', hidden: 6, optimizer: { adam: {} } });
    const model = await mlp({ optimizer: { adam: {} }, seed: 99 });
    const e = thrown(() => loadCheckpoint(model, saveCheckpoint(other)));
    expect(e.message.split('\n')).toEqual([
      "checkpoint: the file does not fit this model (the file was saved from graph 'wider', this model is graph 'ckpt_mlp'): 9 mismatches",
      "  - param 'w1' has shape [3, 6] in the file but [3, 5] in the model",
      "  - param 'b1' has shape [6] in the file but [5] in the model",
      "  - param 'w2' has shape [6, 2] in the file but [5, 2] in the model",
      "  - state 'm_w1' has shape [3, 6] in the file but [3, 5] in the model",
      "  - state 'v_w1' has shape [3, 6] in the file but [3, 5] in the model",
      "  - state 'm_b1' has shape [6] in the file but [5] in the model",
      "  - state 'v_b1' has shape [6] in the file but [5] in the model",
      "  - state 'm_w2' has shape [6, 2] in the file but [5, 2] in the model",
      '  - … and 1 more',
    ]);
    await refused(saveCheckpoint(other), "checkpoint: the file does not fit this model (the file was saved from graph 'wider', this model is graph 'ckpt_mlp'): 9 mismatches");
    // a param the file lacks, and one it has that the model does not: then what each side holds
    const gained = await mlp({ extra: true, optimizer: { adam: {} }, seed: 4 });
    await refused(await saved(), "  - the model's param 'gain' [5] is not in the file\n  - the model's state 'm_gain' [5] is not in the file", gained);
    await refused(
      await saved(),
      "  the file holds params 'w1', 'b1', 'w2'; state 'm_w1', 'v_w1', 'm_b1', 'v_b1', 'm_w2', 'v_w2', 'step_count'\n  the model holds params 'w1', 'b1', 'gain', 'w2';",
      gained,
    );
    await refused(saveCheckpoint(gained), "  - the file has param 'gain' [5], which the model does not");
    // optimizer state that does not match: Adam's checkpoint into an SGD model, and back
    const sgd = await mlp({ seed: 4 });
    await refused(await saved(), "  - the file has state 'm_w1' [3, 5], which the model does not", sgd);
    await refused(await saved(), 'the model holds params \'w1\', \'b1\', \'w2\'; state none', sgd);
    await refused(saveCheckpoint(sgd), "  - the model's state 'm_w1' [3, 5] is not in the file");
  });

  it('a checkpoint of another optimizer suggests { paramsOnly: true }, which then loads it; a param mismatch does not', async () => {
    const hint = '  the params all fit: only the optimizer state differs (another optimizer?); load the params alone with { paramsOnly: true }';
    const adam = await mlp({ optimizer: { adam: {} } });
    train(adam, 2);
    const sgd = await mlp({ seed: 4 });
    expect(thrown(() => loadCheckpoint(sgd, saveCheckpoint(adam))).message.split('\n').at(-1)).toBe(hint);
    expect(thrown(() => loadCheckpoint(adam, saveCheckpoint(sgd))).message.split('\n').at(-1)).toBe(hint);
    loadCheckpoint(sgd, saveCheckpoint(adam), { paramsOnly: true });
    expect(snapshot(sgd).params).toEqual(snapshot(adam).params);
    const wider = await mlp({ name: 'wider', hidden: 6 });
    expect(thrown(() => loadCheckpoint(sgd, saveCheckpoint(wider))).message).not.toContain('paramsOnly');
    expect(() => loadCheckpoint(sgd, saveCheckpoint(adam), { paramOnly: true } as never)).toThrow("checkpoint: unknown option 'paramOnly' — did you mean 'paramsOnly'?");
  });

  it('a model without state and shapes (older generated code) is an error saying so', async () => {
    const a = await mlp();
    const old = { params: a.params } as unknown as CheckpointModel;
    expect(() => saveCheckpoint(old)).toThrow('saveCheckpoint: the model has no `state`: every model flatgrad compiles has `state` (the optimizer\'s buffers) and `shapes`');
    expect(() => loadCheckpoint(old, saveCheckpoint(a))).toThrow('checkpoint: the model has no `state`');
  });
});

describe('writeCheckpoint / readCheckpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flatgrad-ckpt-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('write then read: the same bytes as saveCheckpoint, and the model restored', async () => {
    const a = await mlp({ optimizer: { adam: {} } });
    train(a, 4);
    const path = join(dir, 'a.ckpt');
    writeCheckpoint(path, a, { epoch: 4 });
    expect(new Uint8Array(readFileSync(path))).toEqual(saveCheckpoint(a, { epoch: 4 }));
    const b = await mlp({ optimizer: { adam: {} }, seed: 8 });
    readCheckpoint(path, b);
    expect(snapshot(b)).toEqual(snapshot(a));
  });

  it('a missing path, a directory, another kind of file: clear errors naming it, the model unchanged', async () => {
    const a = await mlp();
    const before = snapshot(a);
    expect(() => readCheckpoint(join(dir, 'nope.ckpt'), a)).toThrow(new FlatgradError(`checkpoint '${join(dir, 'nope.ckpt')}': no such file`));
    expect(() => readCheckpoint(dir, a)).toThrow(new FlatgradError(`checkpoint '${dir}': is a directory, not a checkpoint file`));
    expect(snapshot(a)).toEqual(before);
  });

  it('a file over 2 GiB is read in pieces, not as one Buffer (a sparse file of zeros: not a checkpoint)', async () => {
    const a = await mlp();
    const path = join(dir, 'huge.ckpt');
    const fd = openSync(path, 'w');
    ftruncateSync(fd, 3 * 2 ** 30);
    closeSync(fd);
    try {
      expect(() => readCheckpoint(path, a)).toThrow(`checkpoint '${path}': not a flatgrad checkpoint: it starts with "\\x00\\x00`);
    } finally {
      rmSync(path);
    }
  });

  it('read and written in pieces of any size: the same bytes, the same model (f32 ↔ f64 converted a piece at a time)', async () => {
    const saved = io.chunk;
    try {
      for (const chunk of [1, 7, 64, 1000]) {
        io.chunk = chunk;
        const a = await mlp({ optimizer: { adam: {} } });
        train(a, 2);
        const path = join(dir, `pieces_${chunk}.ckpt`);
        writeCheckpoint(path, a, { chunk });
        expect(new Uint8Array(readFileSync(path))).toEqual(saveCheckpoint(a, { chunk }));
        const b = await mlp({ optimizer: { adam: {} }, seed: 8 });
        readCheckpoint(path, b);
        expect(snapshot(b)).toEqual(snapshot(a));
        const c = await mlp({ optimizer: { adam: {} }, seed: 9, dtype: 'f64' });
        readCheckpoint(path, c);
        expect(Array.from(c.params.w1!)).toEqual(Array.from(a.params.w1!));
      }
    } finally {
      io.chunk = saved;
    }
  });

  it('a write that cannot be renamed into place removes its .tmp and says why', async () => {
    const a = await mlp();
    const target = join(dir, 'occupied');
    mkdirSync(join(target, 'inside'), { recursive: true }); // a non-empty directory: rename fails
    expect(() => writeCheckpoint(target, a)).toThrow(new RegExp(`^writeCheckpoint '${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': could not write it: `));
    expect(existsSync(`${target}.tmp`)).toBe(false);
    expect(() => writeCheckpoint(join(dir, 'no', 'such', 'dir.ckpt'), a)).toThrow(/could not write it: ENOENT/);
  });

  it('errors name the file', async () => {
    const a = await mlp();
    const path = join(dir, 'bad.ckpt');
    writeFileSync(path, 'FLATGRA');
    expect(() => readCheckpoint(path, a)).toThrow(`checkpoint '${path}': truncated: the file has 7 bytes`);
  });
});
