// Checkpoints: a model's params and optimizer state in one versioned, checksummed binary file.
//
// Format, version 1 (all integers little-endian):
//
//   offset 0   8 bytes   magic: the ASCII bytes "FLATGRAD"
//          8   u32       format version: 1
//         12   u32       H: the byte length of the header
//         16   H bytes   header: UTF-8 JSON, padded with spaces so that 16 + H is a multiple of 8
//     16 + H   …         data: each entry's values, little-endian f32 or f64, at its offset (a multiple of 8;
//                        zero bytes between entries)
//  bytes - 4   u32       CRC-32 (IEEE 802.3, as zlib and PNG compute it) of every byte before it
//
// The header: { version: 1, dtype: 'f32' | 'f64' (the model's float type), graph?: the graph's name when
// known, bytes: the file's length, entries: [{ key, kind: 'param' | 'state', shape, dtype: 'f32' | 'f64',
// offset: from the start of the file, length: the number of values }], meta: the caller's JSON }.
// `bytes` lets a reader tell a truncated file from a corrupted one. Every later version keeps the magic, the
// version word and the CRC-32 at the end.
//
// Loading checks everything before it writes anything: a load that fails leaves the model as it was.
// This file has no Node built-in: an app bundles it for the browser (checkpoint-file.ts reads and writes files).
// f32 ↔ f64: a value stored as f64 loads into an f32 buffer rounded to nearest, an f32 into an f64 exactly;
// so a checkpoint moves between a model compiled with dtype 'f32' and one with 'f64' (resuming is bit for
// bit only between models of the same dtype).
import { checkOptions, FlatgradError, optionKeys, quotedList } from '../errors/errors.ts';

import type { GpuSnapshot, Model } from './compile.ts';
import type { FloatBuffer } from './generated.ts';
import { sizeOf } from '../shape/shape.ts';

/**
 * What a checkpoint reads and writes: a compiled Model, what a generated module's createModel() returns, or a WebGPU
 * model's snapshot. A snapshot's name, or the header of a compiled Model's source, names the graph.
 */
export type CheckpointModel = Pick<Model, 'params' | 'state' | 'shapes'> & Partial<Pick<Model, 'source'> & Pick<GpuSnapshot, 'name'>>;

export interface CheckpointEntry {
  readonly key: string;
  readonly kind: 'param' | 'state';
  readonly shape: readonly number[];
  readonly dtype: 'f32' | 'f64';
  /** Byte offset of the values from the start of the file: a multiple of 8. */
  readonly offset: number;
  /** The number of values: the product of the shape. */
  readonly length: number;
}

export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

export interface CheckpointHeader {
  readonly version: 1;
  /** The saved model's float type (its params'). */
  readonly dtype: 'f32' | 'f64';
  /** The graph's name, when the model said it. */
  readonly graph?: string;
  /** The length of the whole file in bytes. */
  readonly bytes: number;
  readonly entries: readonly CheckpointEntry[];
  /** What the caller passed to saveCheckpoint (e.g. { epoch: 3 }); {} when nothing. */
  readonly meta: { readonly [key: string]: Json };
}

const CHECKPOINT_MAGIC = 'FLATGRAD';
const CHECKPOINT_VERSION = 1;

const MAGIC = new TextEncoder().encode(CHECKPOINT_MAGIC);
const PREFIX = 16; // magic, version, header length
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const SIZE = { f32: 4, f64: 8 } as const;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, reflected, as zlib.crc32): crc32("123456789") = 0xcbf43926. */
export function crc32(bytes: Uint8Array, end = bytes.length): number {
  return (crcUpdate(0xffffffff, bytes, end) ^ 0xffffffff) >>> 0;
}

/** The running CRC state after `bytes` [0, end): start from 0xffffffff, finish with ^ 0xffffffff. */
export function crcUpdate(state: number, bytes: Uint8Array, end = bytes.length): number {
  let c = state;
  for (let i = 0; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c;
}

/** How many bytes a file is read and written in at a time (a test makes it small, to cross chunk edges). */
export const io = { chunk: 1 << 24 };

/**
 * A checkpoint's bytes: in memory, or an open file read piece by piece — so a file larger than one buffer may hold
 * (2 GiB for a Node Buffer) loads, and is never held whole, let alone twice.
 */
export interface Bytes {
  readonly length: number;
  /** A copy (or view) of bytes [start, end). */
  read(start: number, end: number): Uint8Array;
  /** The CRC-32 of bytes [0, end). */
  crc(end: number): number;
  /** Bytes [start, start + target.length) into target. */
  into(start: number, target: Uint8Array): void;
}

function memoryBytes(bytes: Uint8Array): Bytes {
  return {
    length: bytes.length,
    read: (start, end) => bytes.subarray(start, end),
    crc: (end) => crc32(bytes, end),
    into: (start, target) => target.set(bytes.subarray(start, start + target.length)),
  };
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const align8 = (n: number) => Math.ceil(n / 8) * 8;

export function fail(who: string, message: string): never {
  throw new FlatgradError(`${who}: ${message}`);
}

/** The graph's name, from the model when it says it (`name`, or the header of its generated source). */
function graphName(model: CheckpointModel): string | undefined {
  if (typeof model.name === 'string') return model.name;
  const m = typeof model.source === 'string' ? /^\/\/ graph: (.*), declared in /m.exec(model.source.slice(0, 2000)) : null;
  return m ? m[1] : undefined;
}

interface Slot {
  readonly key: string;
  readonly kind: 'param' | 'state';
  readonly shape: readonly number[];
  readonly buffer: FloatBuffer;
}

/** The model's params and state with their shapes, checked against the state/shapes contract. */
function slotsOf(model: CheckpointModel, who: string): Slot[] {
  if (typeof model !== 'object' || model === null || typeof model.params !== 'object' || model.params === null) fail(who, 'model must be a compiled model (with params, state and shapes)');
  const { state, shapes } = model as Partial<CheckpointModel>;
  if (typeof state !== 'object' || state === null || typeof shapes !== 'object' || shapes === null) {
    const missing = typeof state !== 'object' || state === null ? '`state`' : '`shapes`';
    fail(who, `the model has no ${missing}: every model flatgrad compiles has \`state\` (the optimizer's buffers) and \`shapes\`; recompile or regenerate it with this flatgrad`);
  }
  const slots: Slot[] = [];
  for (const [kind, buffers] of [['param', model.params], ['state', state]] as const) {
    for (const [key, buffer] of Object.entries(buffers)) {
      if (!(buffer instanceof Float32Array || buffer instanceof Float64Array)) fail(who, `the model's ${kind} '${key}' is not a Float32Array or Float64Array`);
      const shape = shapes[key];
      if (!Array.isArray(shape)) fail(who, `the model's shapes has no entry for ${kind} '${key}'`);
      if (sizeOf(shape) !== buffer.length) fail(who, `the model's ${kind} '${key}' holds ${buffer.length} values, but its shape ${fmt(shape)} holds ${sizeOf(shape)}`);
      if (slots.some((s) => s.key === key)) fail(who, `the model has '${key}' both as a param and as state`);
      slots.push({ key, kind, shape: [...shape], buffer });
    }
  }
  return slots;
}

/** A checkpoint laid out: the bytes before the first entry (magic, version, header), then each entry's bytes at its offset. */
interface Layout {
  readonly header: CheckpointHeader;
  readonly head: Uint8Array;
  readonly pieces: readonly { readonly offset: number; readonly bytes: Uint8Array }[];
}

export function layOut(model: CheckpointModel, meta: { readonly [key: string]: Json }, who: string): Layout {
  const slots = slotsOf(model, who);
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) fail(who, 'meta must be a JSON object');
  let metaJson: { [key: string]: Json };
  try {
    metaJson = JSON.parse(JSON.stringify(meta)) as { [key: string]: Json };
  } catch (e) {
    fail(who, `meta must be JSON: ${(e as Error).message}`);
  }
  const firstParam = Object.values(model.params)[0];
  const dtype = firstParam instanceof Float64Array ? 'f64' : 'f32';
  const graph = graphName(model);
  const dtypes = slots.map((s) => (s.buffer instanceof Float64Array ? 'f64' : 'f32') as 'f32' | 'f64');

  // Lay the entries out after a header that ends at `start`; grow `start` until the header fits before it.
  const layout = (start: number) => {
    let at = start;
    const entries: CheckpointEntry[] = slots.map((s, k) => {
      const offset = align8(at);
      at = offset + s.buffer.length * SIZE[dtypes[k]!];
      return { key: s.key, kind: s.kind, shape: s.shape, dtype: dtypes[k]!, offset, length: s.buffer.length };
    });
    const header: CheckpointHeader = { version: CHECKPOINT_VERSION, dtype, ...(graph !== undefined ? { graph } : {}), bytes: at + 4, entries, meta: metaJson };
    return { header, text: new TextEncoder().encode(JSON.stringify(header)) };
  };
  let start = align8(PREFIX);
  let { header, text } = layout(start);
  while (PREFIX + text.length > start) {
    start = align8(PREFIX + text.length);
    ({ header, text } = layout(start));
  }
  const head = new Uint8Array(start);
  const view = new DataView(head.buffer);
  head.set(MAGIC, 0);
  view.setUint32(8, CHECKPOINT_VERSION, true);
  view.setUint32(12, start - PREFIX, true);
  head.set(text, PREFIX);
  head.fill(0x20, PREFIX + text.length, start); // spaces: still JSON
  // Each entry's bytes: the buffer itself on a little-endian machine, else a little-endian copy.
  const pieces = header.entries.map((e, k) => {
    const src = slots[k]!.buffer;
    if (littleEndian) return { offset: e.offset, bytes: new Uint8Array(src.buffer, src.byteOffset, src.byteLength) };
    const bytes = new Uint8Array(e.length * SIZE[e.dtype]);
    const v = new DataView(bytes.buffer);
    for (let i = 0; i < e.length; i++) e.dtype === 'f64' ? v.setFloat64(8 * i, src[i]!, true) : v.setFloat32(4 * i, src[i]!, true);
    return { offset: e.offset, bytes };
  });
  return { header, head, pieces };
}

/**
 * The model's params and optimizer state as checkpoint bytes (see the format above). `meta`: any JSON object
 * to keep beside them (the epoch, the learning rate, …); read it back with checkpointHeader(bytes).meta.
 */
export function saveCheckpoint(model: CheckpointModel, meta: { readonly [key: string]: Json } = {}): Uint8Array {
  const { header, head, pieces } = layOut(model, meta, 'saveCheckpoint');
  const out = new Uint8Array(header.bytes);
  out.set(head, 0);
  for (const p of pieces) out.set(p.bytes, p.offset);
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out, out.length - 4), true);
  return out;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parse the header's JSON, or undefined when it is not there in full or not JSON. */
function parseHeader(bytes: Bytes, length: number): unknown {
  if (PREFIX + length > bytes.length) return undefined;
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.read(PREFIX, PREFIX + length)));
  } catch {
    return undefined;
  }
}

/** The file length the header states, when its entries agree with it (laid out as saveCheckpoint does: the CRC right after the last entry). */
function describedLength(header: unknown, dataStart: number): number | undefined {
  if (typeof header !== 'object' || header === null) return undefined;
  const { bytes, entries } = header as { bytes?: unknown; entries?: unknown };
  if (!isCount(bytes) || !Array.isArray(entries)) return undefined;
  let end = dataStart;
  for (const e of entries as { offset?: unknown; length?: unknown; dtype?: unknown; shape?: unknown }[]) {
    if (typeof e !== 'object' || e === null || !isCount(e.offset) || !isCount(e.length) || (e.dtype !== 'f32' && e.dtype !== 'f64')) return undefined;
    if (!Array.isArray(e.shape) || !e.shape.every(isCount) || sizeOf(e.shape) !== e.length) return undefined;
    end = Math.max(end, e.offset + e.length * SIZE[e.dtype]);
  }
  // One flipped byte cannot change both `bytes` and the entries consistently, so agreement means the header is sound.
  return end + 4 === bytes ? bytes : undefined;
}

/** Check the file's bytes and header; returns the header. Throws a FlatgradError naming the first problem. */
function readHeader(bytes: Bytes, who: string): CheckpointHeader {
  const n = bytes.length;
  const first = bytes.read(0, Math.min(8, n));
  const magicDiffers = MAGIC.filter((b, i) => first[i] !== b).length;
  if (n < MAGIC.length && magicDiffers === MAGIC.length - n) fail(who, `truncated: the file has ${n} bytes, not even the 8 magic bytes "FLATGRAD"`);
  const ascii = Array.from(first, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
  // Two or more wrong magic bytes: another kind of file. One: a corrupted checkpoint, as the CRC will say.
  if (magicDiffers > 1) fail(who, `not a flatgrad checkpoint: it starts with "${ascii}", not the magic bytes "FLATGRAD"`);
  if (n < PREFIX + 4) fail(who, `truncated: the file has ${n} bytes, fewer than the ${PREFIX + 4} of even an empty checkpoint`);
  const word = (at: number) => new DataView(bytes.read(at, at + 4).slice().buffer).getUint32(0, true);
  const version = word(8);
  const headerLength = word(12);

  const stored = word(n - 4);
  const actual = bytes.crc(n - 4);
  if (stored !== actual) {
    // Truncated, or corrupted? A truncated file's header, when it is all there, describes more bytes than there are.
    const crc = `CRC-32 mismatch (the file says ${stored.toString(16).padStart(8, '0')}, its bytes give ${actual.toString(16).padStart(8, '0')})`;
    if (magicDiffers === 0 && version === CHECKPOINT_VERSION) {
      const header = parseHeader(bytes, headerLength);
      const described = describedLength(header, PREFIX + headerLength);
      if (described !== undefined && described > n) fail(who, `truncated: the file has ${n} bytes, but its header describes ${described}`);
      if (header === undefined && PREFIX + headerLength > n - 4) fail(who, `truncated or corrupted: ${crc}, and the header should be ${headerLength} bytes, but the file has ${n} bytes in all`);
      if (described !== undefined && described < n) fail(who, `corrupted: ${crc}; the file has ${n - described} bytes more than its header describes`);
    }
    const what = magicDiffers ? `, and its magic bytes read "${ascii}"` : version !== CHECKPOINT_VERSION ? `, and its version word reads ${version}` : '';
    fail(who, `corrupted: ${crc}${what}`);
  }

  if (version !== CHECKPOINT_VERSION) fail(who, `format version ${version} is not supported: this flatgrad reads version ${CHECKPOINT_VERSION} (was the file written by a newer flatgrad?)`);
  const dataStart = PREFIX + headerLength;
  if (dataStart > n - 4) fail(who, `the header length ${headerLength} runs past the end of the file (${n} bytes)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.read(PREFIX, dataStart)));
  } catch (e) {
    fail(who, `the header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail(who, 'the header must be a JSON object');
  const h = header as Record<string, unknown>;
  if (h.version !== CHECKPOINT_VERSION) fail(who, `the header's version is ${JSON.stringify(h.version)}, but the file's version word is ${version}`);
  if (h.dtype !== 'f32' && h.dtype !== 'f64') fail(who, `the header's dtype must be 'f32' or 'f64', got ${JSON.stringify(h.dtype)}`);
  if (h.graph !== undefined && typeof h.graph !== 'string') fail(who, `the header's graph must be a string, got ${JSON.stringify(h.graph)}`);
  if (h.bytes !== n) fail(who, `the header says the file has ${JSON.stringify(h.bytes)} bytes, but it has ${n}`);
  if (typeof h.meta !== 'object' || h.meta === null || Array.isArray(h.meta)) fail(who, 'the header\'s meta must be a JSON object');
  if (!Array.isArray(h.entries)) fail(who, 'the header has no entries list');
  const keys = new Set<string>();
  const spans: [number, number, string][] = [];
  for (const [k, raw] of (h.entries as unknown[]).entries()) {
    if (typeof raw !== 'object' || raw === null) fail(who, `entry ${k} of the header is not an object`);
    const e = raw as Record<string, unknown>;
    const name = typeof e.key === 'string' ? `'${e.key}'` : `${k}`;
    if (typeof e.key !== 'string' || e.key === '') fail(who, `entry ${k} has no key`);
    if (keys.has(e.key)) fail(who, `the file has two entries named '${e.key}'`);
    keys.add(e.key);
    if (e.kind !== 'param' && e.kind !== 'state') fail(who, `entry ${name}: kind must be 'param' or 'state', got ${JSON.stringify(e.kind)}`);
    if (e.dtype !== 'f32' && e.dtype !== 'f64') fail(who, `entry ${name}: dtype must be 'f32' or 'f64', got ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every(isCount)) fail(who, `entry ${name}: shape must be a list of non-negative integers, got ${JSON.stringify(e.shape)}`);
    if (!isCount(e.length) || e.length !== sizeOf(e.shape)) fail(who, `entry ${name}: length ${JSON.stringify(e.length)} is not the size of its shape ${fmt(e.shape)}`);
    if (!isCount(e.offset) || e.offset % 8 !== 0 || e.offset < dataStart) {
      fail(who, `entry ${name}: offset ${JSON.stringify(e.offset)} must be a multiple of 8 at or after the data's start, ${dataStart}`);
    }
    const end = e.offset + e.length * SIZE[e.dtype];
    if (end > n - 4) fail(who, `entry ${name}: its ${e.length} values at offset ${e.offset} run past the data's end, ${n - 4}`);
    spans.push([e.offset, end, e.key]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let k = 1; k < spans.length; k++) if (spans[k]![0] < spans[k - 1]![1]) fail(who, `entries '${spans[k - 1]![2]}' and '${spans[k]![2]}' overlap`);
  return header as CheckpointHeader;
}

/** The header of a checkpoint (version, dtype, graph, entries, meta), after checking the whole file as loadCheckpoint does. */
export function checkpointHeader(bytes: Uint8Array | ArrayBufferLike | ArrayBufferView): CheckpointHeader {
  return readHeader(inMemory(bytes, 'checkpoint'), 'checkpoint');
}

function inMemory(bytes: Uint8Array | ArrayBufferLike | ArrayBufferView, who: string): Bytes {
  if (bytes instanceof Uint8Array) return memoryBytes(bytes);
  if (bytes instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && bytes instanceof SharedArrayBuffer)) return memoryBytes(new Uint8Array(bytes));
  if (ArrayBuffer.isView(bytes)) return memoryBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return fail(who, `expected the checkpoint's bytes as a Uint8Array or ArrayBuffer, got ${bytes === null ? 'null' : typeof bytes}`);
}

export function load(model: CheckpointModel, bytes: Bytes, who: string, options: LoadOptions = {}): void {
  checkOptions(options, LOAD_OPTIONS, who);
  const header = readHeader(bytes, who);
  const slots = slotsOf(model, who).filter((s) => !options.paramsOnly || s.kind === 'param');

  // Match the file's entries to the model's, by key and kind; collect every problem before failing.
  const problems: string[] = [];
  // Whether every mismatch is optimizer state: then the params alone would load.
  let stateOnly = true;
  const byKey = new Map(header.entries.map((e) => [e.key, e]));
  let unmatched = false;
  for (const s of slots) {
    const e = byKey.get(s.key);
    if (!e) {
      problems.push(`the model's ${s.kind} '${s.key}' ${fmt(s.shape)} is not in the file`);
      unmatched = true;
      stateOnly &&= s.kind === 'state';
      continue;
    }
    const problem = e.kind !== s.kind ? `'${s.key}' is ${e.kind === 'param' ? 'a param' : 'state'} in the file but ${s.kind === 'param' ? 'a param' : 'state'} in the model`
      : e.shape.length !== s.shape.length || e.shape.some((d, i) => d !== s.shape[i]) ? `${s.kind} '${s.key}' has shape ${fmt(e.shape)} in the file but ${fmt(s.shape)} in the model` : undefined;
    if (problem === undefined) continue;
    problems.push(problem);
    stateOnly &&= e.kind === 'state' && s.kind === 'state';
  }
  const mine = new Set(slots.map((s) => s.key));
  for (const e of header.entries) {
    if (!mine.has(e.key) && !(options.paramsOnly && e.kind === 'state')) {
      problems.push(`the file has ${e.kind} '${e.key}' ${fmt(e.shape)}, which the model does not`);
      unmatched = true;
      stateOnly &&= e.kind === 'state';
    }
  }
  if (problems.length > 0) {
    const graph = graphName(model);
    const graphs = header.graph !== undefined && graph !== undefined && header.graph !== graph ? ` (the file was saved from graph '${header.graph}', this model is graph '${graph}')` : '';
    // One mismatch a line, the first few; then, when names differ, what each side holds.
    const shown = 8;
    const lines = problems.slice(0, shown).map((p) => `  - ${p}`);
    if (problems.length > shown) lines.push(`  - … and ${problems.length - shown} more`);
    if (unmatched) {
      const holds = (entries: readonly { key: string; kind: 'param' | 'state' }[]) =>
        `params ${quotedList(entries.filter((x) => x.kind === 'param').map((x) => x.key))}; state ${quotedList(entries.filter((x) => x.kind === 'state').map((x) => x.key))}`;
      lines.push(`  the file holds ${holds(header.entries)}`, `  the model holds ${holds(slots)}`);
    }
    if (stateOnly) lines.push('  the params all fit: only the optimizer state differs (another optimizer?); load the params alone with { paramsOnly: true }');
    fail(who, `the file does not fit this model${graphs}: ${problems.length} mismatch${problems.length === 1 ? '' : 'es'}\n${lines.join('\n')}`);
  }

  // Everything checked: now copy — straight into the model's buffer when it has the file's float type (on a
  // little-endian machine), else a piece at a time, converting f32 ↔ f64.
  for (const s of slots) {
    const e = byKey.get(s.key)!;
    const size = SIZE[e.dtype];
    if (littleEndian && size === s.buffer.BYTES_PER_ELEMENT) {
      bytes.into(e.offset, new Uint8Array(s.buffer.buffer, s.buffer.byteOffset, s.buffer.byteLength));
      continue;
    }
    const step = Math.max(1, Math.floor(io.chunk / size));
    for (let i = 0; i < e.length; i += step) {
      const count = Math.min(step, e.length - i);
      const view = new DataView(bytes.read(e.offset + i * size, e.offset + (i + count) * size).slice().buffer);
      for (let j = 0; j < count; j++) s.buffer[i + j] = e.dtype === 'f64' ? view.getFloat64(8 * j, true) : view.getFloat32(4 * j, true);
    }
  }
}

/** How loadCheckpoint and readCheckpoint take a file. */
export interface LoadOptions {
  /**
   * Load the params only, leaving the model's optimizer state as it is and ignoring the file's: a training checkpoint
   * (with Adam's moments) into an inference model, or a fresh optimizer on trained params.
   */
  readonly paramsOnly?: boolean;
}

const LOAD_OPTIONS = optionKeys<LoadOptions>()('paramsOnly');

/**
 * Set the model's params and optimizer state from checkpoint bytes (a Uint8Array, an ArrayBuffer such as a fetch()
 * response's, or any view of one). Every param and state entry of the model must be in the file with the same shape,
 * and the file may hold no others (with `paramsOnly`, the state on either side is left out); all is checked before
 * anything is written, so a failed load leaves the model unchanged. f32 ↔ f64 entries convert (f64 → f32 rounds).
 */
export function loadCheckpoint(model: CheckpointModel, bytes: Uint8Array | ArrayBufferLike | ArrayBufferView, options: LoadOptions = {}): void {
  load(model, inMemory(bytes, 'checkpoint'), 'checkpoint', options);
}
