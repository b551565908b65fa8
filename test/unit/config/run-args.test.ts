import { describe, expect, it } from 'vitest';
import { runOptionsOf } from '../../../src/config/run-args.js';

describe('runOptionsOf', () => {
  it('parses the options of `eden-etl run` as the command line would', () => {
    expect(
      runOptionsOf(['--studies', '3', '--dest', 'file://./out', '--optimise-coding']),
    ).toMatchObject({
      studies: '3',
      dest: 'file://./out',
      optimiseCoding: true,
      envFile: '.env',
    });
  });

  it('refuses what `run` would refuse, naming the arguments', () => {
    expect(() => runOptionsOf(['--no-such-option'])).toThrow(
      expect.objectContaining({
        code: 'USAGE',
        message: expect.stringContaining('--no-such-option') as unknown,
      }),
    );
    expect(() => runOptionsOf(['stray'])).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});
