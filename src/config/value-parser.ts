/**
 * Parsers for configuration values as they arrive: strings from flags, the environment and
 * `.env`, or the typed defaults of the key table. Each parser says only whether a value is
 * valid and what it becomes; the loader words the error from the key's `expected`, so there is
 * no message here. (A schema library did this before; its 95 modules cost ~80 ms at every start
 * of every command, for the four operations below.)
 */
export type Parsed<T> = { ok: true; value: T } | { ok: false };

const INVALID: Parsed<never> = { ok: false };

export class ValueParser<T> {
  readonly #parse: (raw: unknown) => Parsed<T>;

  constructor(parse: (raw: unknown) => Parsed<T>) {
    this.#parse = parse;
  }

  parse(raw: unknown): Parsed<T> {
    return this.#parse(raw);
  }

  /** Absent (`undefined`) is valid and stays absent. */
  optional(): ValueParser<T | undefined> {
    return new ValueParser<T | undefined>((raw) =>
      raw === undefined ? { ok: true, value: undefined } : this.parse(raw),
    );
  }

  /** Valid only when `test` holds of the parsed value (a type guard narrows the type). */
  check<U extends T>(test: (value: T) => value is U): ValueParser<U>;
  check(test: (value: T) => boolean): ValueParser<T>;
  check(test: (value: T) => boolean): ValueParser<T> {
    return new ValueParser((raw) => {
      const parsed = this.parse(raw);
      return parsed.ok && test(parsed.value) ? parsed : INVALID;
    });
  }

  /** The parsed value turned into another (which is then valid). */
  map<U>(transform: (value: T) => U): ValueParser<U> {
    return new ValueParser((raw) => {
      const parsed = this.parse(raw);
      return parsed.ok ? { ok: true, value: transform(parsed.value) } : INVALID;
    });
  }

  /** The parsed value parsed again by `next`. */
  pipe<U>(next: ValueParser<U>): ValueParser<U> {
    return new ValueParser((raw) => {
      const parsed = this.parse(raw);
      return parsed.ok ? next.parse(parsed.value) : INVALID;
    });
  }
}

/** What a parser gives for a valid value. */
export type ParsedValue<P> = P extends ValueParser<infer T> ? T : never;

/** A string of at least `min` characters (default 0), matching `pattern` when given. */
export function text(options: { min?: number; pattern?: RegExp } = {}): ValueParser<string> {
  const { min = 0, pattern } = options;
  return new ValueParser((raw) =>
    typeof raw === 'string' && raw.length >= min && (pattern?.test(raw) ?? true)
      ? { ok: true, value: raw }
      : INVALID,
  );
}

/**
 * A finite number, from a number or its decimal text ("8", " 1.5 "), within the bounds:
 * `min`/`max` inclusive, `positive` excludes 0 and below, `integer` excludes fractions.
 */
export function number(
  options: { min?: number; max?: number; positive?: boolean; integer?: boolean } = {},
): ValueParser<number> {
  const { min = -Infinity, max = Infinity, positive = false, integer = false } = options;
  return new ValueParser((raw) => {
    const value =
      typeof raw === 'number'
        ? raw
        : typeof raw === 'string' && raw.trim() !== ''
          ? Number(raw)
          : NaN;
    const valid =
      Number.isFinite(value) &&
      value >= min &&
      value <= max &&
      (!positive || value > 0) &&
      (!integer || Number.isInteger(value));
    return valid ? { ok: true, value } : INVALID;
  });
}

/** An integer from 1 to `max`. */
export function positiveInt(max: number): ValueParser<number> {
  return number({ integer: true, min: 1, max });
}

/** One of `values`, exactly as written there. */
export function oneOf<const V extends string | number>(values: readonly V[]): ValueParser<V> {
  return new ValueParser((raw) =>
    (values as readonly unknown[]).includes(raw) ? { ok: true, value: raw as V } : INVALID,
  );
}

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

/** A boolean, or its word as flags and the environment give it: true/false, 1/0, yes/no, on/off. */
export function flag(): ValueParser<boolean> {
  return new ValueParser((raw) => {
    if (typeof raw === 'boolean') return { ok: true, value: raw };
    if (TRUE_WORDS.includes(raw as string)) return { ok: true, value: true };
    if (FALSE_WORDS.includes(raw as string)) return { ok: true, value: false };
    return INVALID;
  });
}

/** An absolute URL with a host, such as `https://key@sentry.example/1`. */
export function url(): ValueParser<string> {
  return text().check((value) => URL.canParse(value) && new URL(value).host !== '');
}
