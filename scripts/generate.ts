// Regenerates generated/ from the model files: `npm run generate`. A test fails when generated/ drifts.
import { writeModelModule } from '../src/cli/model-file.ts';
import type { CompileOptions } from '../src/index.ts';

export const modelFiles: readonly [model: string, outDir: string, overrides?: Partial<CompileOptions>][] = [
  ['examples/two_layer_net.ts', 'generated'],
  ['examples/two_layer_net.ts', 'generated', { target: 'webgpu' }],
  ['examples/lecture/add_mul.ts', 'generated/lecture'],
  ['examples/lecture/sigmoid_neuron.ts', 'generated/lecture'],
  ['examples/lecture/relu_vector.ts', 'generated/lecture'],
  ['examples/lecture/matmul.ts', 'generated/lecture'],
  ['examples/lecture/conv_relu_pool.ts', 'generated/lecture'],
  ['examples/mnist_convnet.ts', 'generated'],
  ['examples/mnist_convnet.ts', 'generated', { target: 'webgpu' }],
];

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [model, out, overrides] of modelFiles) console.log(`wrote ${await writeModelModule(model, out, overrides)}`);
}
