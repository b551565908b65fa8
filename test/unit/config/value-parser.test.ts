import { describe, expect, it } from 'vitest';
import {
  flag,
  number,
  oneOf,
  positiveInt,
  text,
  url,
  type ValueParser,
} from '../../../src/config/value-parser.js';

const valueOf = <T>(parser: ValueParser<T>, raw: unknown): T | 'invalid' => {
  const parsed = parser.parse(raw);
  return parsed.ok ? parsed.value : 'invalid';
};

describe('value parsers', () => {
  it('text checks type, length and pattern', () => {
    expect(valueOf(text(), '')).toBe('');
    expect(valueOf(text({ min: 1 }), '')).toBe('invalid');
    expect(valueOf(text({ pattern: /^a+$/ }), 'aaa')).toBe('aaa');
    expect(valueOf(text({ pattern: /^a+$/ }), 'ab')).toBe('invalid');
    expect(valueOf(text(), 7)).toBe('invalid');
    expect(valueOf(text(), undefined)).toBe('invalid');
  });

  it('number reads decimal text and numbers within the bounds', () => {
    expect(valueOf(number(), ' 1.5 ')).toBe(1.5);
    expect(valueOf(number(), 8)).toBe(8);
    expect(valueOf(number(), '')).toBe('invalid');
    expect(valueOf(number(), 'eight')).toBe('invalid');
    expect(valueOf(number(), 'Infinity')).toBe('invalid');
    expect(valueOf(number({ positive: true }), '0')).toBe('invalid');
    expect(valueOf(number({ min: 0, max: 10 }), '10')).toBe(10);
    expect(valueOf(number({ min: 0, max: 10 }), '10.5')).toBe('invalid');
    expect(valueOf(number({ min: 0 }), '-1')).toBe('invalid');
    expect(valueOf(number({ integer: true }), '2.5')).toBe('invalid');
    expect(valueOf(positiveInt(3), '3')).toBe(3);
    expect(valueOf(positiveInt(3), '0')).toBe('invalid');
    expect(valueOf(positiveInt(3), '4')).toBe('invalid');
  });

  it('oneOf takes only the listed values, exactly', () => {
    expect(valueOf(oneOf(['jpeg', 'png']), 'png')).toBe('png');
    expect(valueOf(oneOf(['jpeg', 'png']), 'PNG')).toBe('invalid');
    expect(valueOf(number().pipe(oneOf([8, 16])), '16')).toBe(16);
    expect(valueOf(number().pipe(oneOf([8, 16])), '12')).toBe('invalid');
  });

  it('flag reads booleans and their words, nothing else', () => {
    for (const word of ['true', '1', 'yes', 'on']) expect(valueOf(flag(), word)).toBe(true);
    for (const word of ['false', '0', 'no', 'off']) expect(valueOf(flag(), word)).toBe(false);
    expect(valueOf(flag(), false)).toBe(false);
    expect(valueOf(flag(), 'TRUE')).toBe('invalid');
    expect(valueOf(flag(), 'maybe')).toBe('invalid');
  });

  it('url needs an absolute URL with a host', () => {
    expect(valueOf(url(), 'https://key@sentry.example/1')).toBe('https://key@sentry.example/1');
    expect(valueOf(url(), 'sentry.example/1')).toBe('invalid');
    expect(valueOf(url(), 'mailto:someone')).toBe('invalid');
  });

  it('optional, check, map and pipe compose', () => {
    const evenCount = positiveInt(100)
      .check((n) => n % 2 === 0)
      .map((n) => n / 2)
      .optional();
    expect(valueOf(evenCount, undefined)).toBeUndefined();
    expect(valueOf(evenCount, '8')).toBe(4);
    expect(valueOf(evenCount, '7')).toBe('invalid');
    expect(
      valueOf(
        text()
          .map((s) => s.toLowerCase())
          .pipe(oneOf(['info'])),
        'INFO',
      ),
    ).toBe('info');
  });
});
