/** Adversarial examples: attacks (FGSM, BIM, PGD in L∞ and L2), their evaluation, adversarial training and pictures. */
export * from './attacks.js';
export * from './evaluate.js';
export * from './triptych.js';
export * from './training.js';
