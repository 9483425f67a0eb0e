// Types of the imports flatgrad/vite and flatgrad/esbuild turn into generated modules. In an app's TypeScript:
//   /// <reference types="flatgrad/client" />
//   import { createModel } from './net.model.ts?flatgrad';        // the module (any dims: './net.model.ts?H=10&flatgrad')
//   import source from './net.model.ts?flatgrad-source';          // its TypeScript, as text
declare module '*?flatgrad' {
  import type { CreateModel } from '../runtime/generated.js';
  export const createModel: CreateModel;
  export default createModel;
}
declare module '*&flatgrad' {
  import type { CreateModel } from '../runtime/generated.js';
  export const createModel: CreateModel;
  export default createModel;
}
declare module '*?flatgrad-source' {
  const source: string;
  export default source;
}
declare module '*&flatgrad-source' {
  const source: string;
  export default source;
}
