/**
 * Parsers of numeric command-line options (for commander's `.option(flags, text, parser)`):
 * every number is checked where it is read, so a bad value is refused in one line before any work.
 */
import { InvalidArgumentError } from 'commander';

/**
 * An integer option in [min, max]. The bounds refuse the absurdly large (runs that would never
 * end, batches that cannot be allocated) as well as the non-positive.
 * @example program.option('--top <k>', 'classes shown', intOption('--top'), 3)
 */
export const intOption = (name: string, min = 1, max = Number.MAX_SAFE_INTEGER) => (v: string): number => {
  const n = Number(v);
  const range = max === Number.MAX_SAFE_INTEGER ? (min === 1 ? 'a positive integer' : `an integer ≥ ${min}`) : `an integer from ${min} to ${max}`;
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be ${range}, got '${v}'`);
  return n;
};

/** A finite number option (ranges are checked where the value is used, e.g. `--lr` > 0). */
export const floatOption = (name: string) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got '${v}'`);
  return n;
};
