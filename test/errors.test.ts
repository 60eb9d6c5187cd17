/** Bad arguments give errors that name the op, the argument and the shapes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as pg from '../src/index.js';
import { ArgumentError, DTypeError, ShapeError, tensor, zeros } from '../src/index.js';

const x23 = zeros([2, 3]);
const i32 = (v: number[], shape = [v.length]) => tensor(Int32Array.from(v), { shape });

const CASES: [string, () => unknown, RegExp, Function][] = [
  ['broadcast', () => pg.add(x23, zeros([4])), /^add: shapes \[2,3\] and \[4\] cannot be broadcast \(dim 1: 3 vs 4\)$/, ShapeError],
  ['where broadcast', () => pg.where(i32([1, 0]), x23, 0), /^where: shapes \[2\] and \[2,3\] cannot be broadcast/, ShapeError],
  ['non-tensor', () => pg.exp(3 as never), /^exp: input must be a Tensor, got number$/, DTypeError],
  ['two numbers', () => pg.add(1, 2), /^add: at least one operand must be a Tensor$/, ArgumentError],
  ['clamp', () => pg.clamp(x23), /^clamp: at least one of min and max must be given$/, ArgumentError],
  ['gelu', () => pg.gelu(x23, { approximate: 'fast' as never }), /^gelu: approximate must be 'none' or 'tanh', got 'fast'$/, ArgumentError],
  ['sum dim', () => pg.sum(x23, 2), /^sum: dim 2 is out of range for a tensor with 2 dims$/, ArgumentError],
  ['sum repeated dims', () => pg.sum(x23, [1, -1]), /^sum: dim \[1,-1\] repeats a dim$/, ArgumentError],
  ['max empty', () => pg.max(zeros([0, 2]), 0), /^max: cannot reduce an empty dim of shape \[0,2\]$/, ShapeError],
  ['argmax empty', () => pg.argmax(zeros([0])), /^argmax: cannot take argmax of an empty tensor of shape \[0\]$/, ShapeError],
  ['logsumexp dim', () => pg.logsumexp(x23, null), /^logsumexp: dim is required$/, ArgumentError],
  ['matmul inner', () => pg.matmul(zeros([2, 3]), zeros([4, 5])), /^matmul: inner dimensions differ: 3 vs 4 \(a \[2,3\], b \[4,5\]\)$/, ShapeError],
  ['matmul batch', () => pg.matmul(zeros([2, 2, 3]), zeros([3, 3, 1])), /^matmul: shapes \[2\] and \[3\] cannot be broadcast/, ShapeError],
  ['matmul 0-d', () => pg.matmul(tensor(1), x23), /^matmul: both operands need at least 1 dim, got \[\] and \[2,3\]$/, ShapeError],
  ['reshape', () => pg.reshape(x23, [4, 2]), /^reshape: cannot reshape \[2,3\] \(6 elements\) to \[4,2\]$/, ShapeError],
  ['reshape two -1', () => pg.reshape(x23, [-1, -1]), /^reshape: invalid shape \[-1,-1\]/, ArgumentError],
  ['flatten order', () => pg.flatten(zeros([2, 3, 4]), 2, 1), /^flatten: startDim 2 comes after endDim 1 for shape \[2,3,4\]$/, ArgumentError],
  ['permute', () => pg.permute(x23, [0]), /^permute: dims \[0\] must list all 2 dims of shape \[2,3\]$/, ShapeError],
  ['permute repeat', () => pg.permute(x23, [1, 1]), /^permute: dims \[1,1\] repeat a dim$/, ArgumentError],
  ['t', () => pg.t(zeros([2])), /^t: expects a 2-D tensor, got shape \[2\]$/, ShapeError],
  ['expand', () => pg.expand(x23, [2, 4]), /^expand: cannot expand shape \[2,3\] to \[2,4\]$/, ShapeError],
  ['concat shapes', () => pg.concat([x23, zeros([2, 2])], 0), /^concat: tensors\[1\] has shape \[2,2\] but tensors\[0\] has \[2,3\]; all dims but 0 must match$/, ShapeError],
  ['concat empty', () => pg.concat([]), /^concat: expects a non-empty array of tensors$/, ArgumentError],
  ['concat 0-d', () => pg.concat([tensor(1)]), /^concat: zero-dimensional tensors cannot be concatenated/, ShapeError],
  ['stack', () => pg.stack([x23, zeros([3, 2])]), /^stack: tensors\[1\] has shape \[3,2\] but tensors\[0\] has \[2,3\]$/, ShapeError],
  ['split sections', () => pg.split(x23, [1, 1], 1), /^split: sections \[1,1\] must be non-negative and sum to 3 \(dim 1 of \[2,3\]\)$/, ShapeError],
  ['split size', () => pg.split(x23, 0), /^split: split size must be a positive integer, got 0$/, ArgumentError],
  ['narrow', () => pg.narrow(x23, 1, 2, 2), /^narrow: start 2 and length 2 do not fit dim 1 of size 3 \(shape \[2,3\]\)$/, ArgumentError],
  ['slice step', () => pg.slice(x23, 1, 0, 2, 0), /^slice: step must be a positive integer, got 0$/, ArgumentError],
  ['indexSelect dtype', () => pg.indexSelect(x23, 1, tensor([0])), /^indexSelect: index must be an int32 tensor, got float32 with shape \[1\]$/, DTypeError],
  ['indexSelect range', () => pg.indexSelect(x23, 1, i32([3])), /^indexSelect: index 3 is out of range for dim 1 of size 3$/, ArgumentError],
  ['gather shape', () => pg.gather(x23, 1, i32([0, 1])), /^gather: index of shape \[2\] does not fit input of shape \[2,3\] at dim 1/, ShapeError],
  ['gather range', () => pg.gather(x23, 1, i32([0, 5], [2, 1])), /^gather: index 5 is out of range for dim 1 of size 3$/, ArgumentError],
  ['pad pairs', () => pg.pad(x23, [1]), /^pad: pads \[1\] must be integer \(before, after\) pairs for at most 2 dims \(shape \[2,3\]\)$/, ArgumentError],
  ['pad reflect size', () => pg.pad(x23, [3, 0], 'reflect'), /^pad: reflect padding 3,0 must be smaller than dim 1 of size 3$/, ArgumentError],
  ['pad mode', () => pg.pad(x23, [1, 1], 'mirror' as never), /^pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got 'mirror'$/, ArgumentError],
  ['pad negative', () => pg.pad(x23, [-4, 0]), /^pad: pads \[-4,0\] leave a negative size at dim 1 of shape \[2,3\]$/, ShapeError],
];

for (const [name, fn, message, type] of CASES) {
  test(`error: ${name}`, () => {
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof type, `expected ${type.name}, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
      assert.match((err as Error).message, message);
      return true;
    });
  });
}
