import { describe, expect, it } from 'vitest';
import { RecycledMemory } from '../../../src/transform/recycled-memory.js';

const MEMORY = { idle: 2, largestKept: 4096, chunk: 256 };

describe('RecycledMemory', () => {
  it('lends fresh memory rounded up to the chunk, then the same memory again once given back', () => {
    const memory = new RecycledMemory(MEMORY);
    const first = memory.lend(300);
    expect(first.byteLength).toBe(512);
    memory.giveBack(first);
    expect(memory.lend(400)).toBe(first);
    // Lent out again: a second request gets other memory.
    expect(memory.lend(400)).not.toBe(first);
  });

  it('lends the smallest idle buffer that fits', () => {
    const memory = new RecycledMemory(MEMORY);
    const small = memory.lend(256);
    const large = memory.lend(2048);
    memory.giveBack(large);
    memory.giveBack(small);
    expect(memory.lend(200)).toBe(small);
    expect(memory.lend(1000)).toBe(large);
  });

  it('keeps at most `idle` buffers, the largest, and none above `largestKept`', () => {
    const memory = new RecycledMemory(MEMORY);
    const [a, b, c, huge] = [256, 512, 1024, 8192].map((size) => memory.lend(size));
    for (const buffer of [a, b, c, huge]) memory.giveBack(buffer!);
    expect(memory.lend(1)).toBe(b);
    expect(memory.lend(1)).toBe(c);
    const fresh = memory.lend(1);
    expect([a, huge]).not.toContain(fresh);
  });

  it('ignores a buffer it did not lend, or one given back twice', () => {
    const memory = new RecycledMemory(MEMORY);
    const foreign = new ArrayBuffer(512);
    memory.giveBack(foreign);
    expect(memory.lend(256)).not.toBe(foreign);
    const lent = memory.lend(256);
    memory.giveBack(lent);
    memory.giveBack(lent);
    expect(memory.lend(256)).toBe(lent);
    expect(memory.lend(256)).not.toBe(lent);
  });
});
