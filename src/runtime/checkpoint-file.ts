// Checkpoint files (the format is in checkpoint.ts): written and read a piece at a time with Node's fs, so a model
// of any size saves without a copy of the whole file and loads beyond Node's 2 GiB for one Buffer.
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { FlatgradError } from '../errors/errors.ts';
import { crcUpdate, fail, io, layOut, load, type Bytes, type CheckpointModel, type Json, type LoadOptions } from './checkpoint.ts';

function fileBytes(fd: number, length: number): Bytes {
  const into = (start: number, target: Uint8Array) => {
    for (let done = 0; done < target.length; ) {
      const n = readSync(fd, target, done, Math.min(io.chunk, target.length - done), start + done);
      if (n === 0) throw new Error(`the file ended at byte ${start + done}, before ${start + target.length}`);
      done += n;
    }
  };
  return {
    length,
    read(start, end) {
      const out = new Uint8Array(Math.max(0, end - start));
      into(start, out);
      return out;
    },
    crc(end) {
      let state = 0xffffffff;
      const chunk = new Uint8Array(Math.min(io.chunk, end));
      for (let at = 0; at < end; at += chunk.length) {
        const piece = chunk.subarray(0, Math.min(chunk.length, end - at));
        into(at, piece);
        state = crcUpdate(state, piece);
      }
      return (state ^ 0xffffffff) >>> 0;
    },
    into,
  };
}

/**
 * saveCheckpoint to a file, written a piece at a time (the model's buffers themselves, never one copy of the whole
 * file). Written to `<path>.tmp`, flushed, then renamed over `path`, so a crash mid-write leaves the previous
 * checkpoint whole; a write or rename that fails removes `<path>.tmp` and throws a FlatgradError naming the file.
 */
export function writeCheckpoint(path: string, model: CheckpointModel, meta: { readonly [key: string]: Json } = {}): void {
  const who = `writeCheckpoint '${path}'`;
  const { header, head, pieces } = layOut(model, meta, who);
  const tmp = `${path}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      let state = 0xffffffff;
      let at = 0;
      const put = (bytes: Uint8Array) => {
        for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, Math.min(io.chunk, bytes.length - done));
        state = crcUpdate(state, bytes);
        at += bytes.length;
      };
      put(head);
      for (const p of pieces) {
        if (p.offset > at) put(new Uint8Array(p.offset - at)); // the zeros that align the entry
        put(p.bytes);
      }
      const crc = new Uint8Array(4);
      new DataView(crc.buffer).setUint32(0, (state ^ 0xffffffff) >>> 0, true);
      put(crc);
      if (at !== header.bytes) throw new Error(`internal: wrote ${at} bytes, the header says ${header.bytes}`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    fail(who, `could not write it: ${(e as Error).message}`);
  }
}

/**
 * loadCheckpoint from a file (with its options), read a piece at a time: a file of any size (beyond Node's 2 GiB for one Buffer) loads,
 * checked whole (its CRC-32) before anything is written. Errors name the file.
 */
export function readCheckpoint(path: string, model: CheckpointModel, options: LoadOptions = {}): void {
  const who = `checkpoint '${path}'`;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(who, code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot open it: ${(e as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) fail(who, 'is a directory, not a checkpoint file');
    if (!stat.isFile()) fail(who, 'is not a regular file');
    load(model, fileBytes(fd, stat.size), who, options);
  } catch (e) {
    if (e instanceof FlatgradError) throw e;
    fail(who, `could not read it: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}
