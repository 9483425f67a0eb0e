import { transform } from 'esbuild';

/** Load a generated TypeScript module in-process: esbuild strips the types, a data: URL imports it. */
export async function loadModule<T>(source: string): Promise<T> {
  const { code } = await transform(source, { loader: 'ts', format: 'esm', target: 'es2022' });
  return (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as T;
}
