import { expect } from 'vitest';
import { EtlError } from '../../src/domain/errors.js';

/** The EtlError `fn` throws; fails the test when it throws nothing or something else. */
export function thrown(fn: () => unknown): EtlError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EtlError);
    return error as EtlError;
  }
  throw new Error('expected a throw');
}
