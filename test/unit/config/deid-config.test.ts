import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { EtlError } from '../../../src/domain/errors.js';

const envFile = '/nonexistent/.env';

function failure(load: () => unknown): EtlError {
  try {
    load();
  } catch (error) {
    if (error instanceof EtlError) return error;
    throw error;
  }
  throw new Error('expected a configuration error');
}

describe('de-identification configuration', () => {
  it('is off by default, and needs no key then', () => {
    const { config } = loadConfig({ flags: {}, env: {}, envFile });
    expect(config.deidentify).toBe('none');
    expect(config.deidKeep).toEqual([]);
    expect(config.deidQuarantine).toBe(true);
  });

  it('refuses --deidentify basic without SECRET_KEY, naming the key', () => {
    const error = failure(() => loadConfig({ flags: { deidentify: 'basic' }, env: {}, envFile }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(
      'env SECRET_KEY: received nothing; expected a secret of 16 characters or more, required when de-identifying (--deidentify = basic)',
    );
  });

  it('refuses a short key once, without showing it', () => {
    const error = failure(() =>
      loadConfig({ flags: {}, env: { DEIDENTIFY: 'basic', SECRET_KEY: 'tooshort' }, envFile }),
    );
    expect(error.message).toContain('env SECRET_KEY: received "<redacted>"');
    expect(error.message).not.toContain('tooshort');
    expect(error.message.match(/SECRET_KEY/g)).toHaveLength(1);
  });

  it('reads tags in the forms users write them', () => {
    const { config } = loadConfig({
      flags: { deidKeep: '(0010,1010) 0010,0040;00081030', deidRemove: '0008,1090' },
      env: { DEIDENTIFY: 'basic', SECRET_KEY: 'a-long-enough-secret' },
      envFile,
    });
    expect(config.deidKeep).toEqual(['00101010', '00100040', '00081030']);
    expect(config.deidRemove).toEqual(['00081090']);
  });

  it('lists a tag that is not one', () => {
    const error = failure(() => loadConfig({ flags: { deidKeep: '0010,101Z' }, env: {}, envFile }));
    expect(error.message).toContain('--deid-keep: received "0010,101Z"; expected DICOM tags');
  });
});
