// docs/ is what `npm run docs` (scripts/docs.ts) writes now: the walkthrough and its pictures.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { walkthrough } from '../../scripts/docs.ts';

describe('docs/', () => {
  it('the walkthrough and its pictures match what scripts/docs.ts writes (run `npm run docs` after a change)', async () => {
    const files = await walkthrough();
    expect([...files.keys()].sort()).toEqual(['docs/add_mul.svg', 'docs/matmul.svg', 'docs/relu_vector.svg', 'docs/sigmoid_neuron.svg', 'docs/two_layer_net.svg', 'docs/walkthrough.md']);
    for (const [path, content] of files) expect(readFileSync(path, 'utf8'), path).toBe(content);
    const text = files.get('docs/walkthrough.md')!;
    // the lecture's numbers, in the sigmoid neuron's picture and explanation
    expect(text).toContain('to x1: grad_s1 * w1    [-0.5898] = [local -3] × [upstream 0.1966]');
    for (const value of ['0.73', '&#45;0.20', '0.39', '&#45;0.59']) expect(files.get('docs/sigmoid_neuron.svg')).toContain(`>${value}<`);
  }, 60_000);
});
