import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDestination } from '../../../src/store/destination.js';
import { thrown } from '../../support/thrown.js';

describe('parseDestination: local', () => {
  it.each([
    ['file:///srv/data', '/srv/data'],
    ['file://localhost/srv/data', '/srv/data'],
    ['file:///srv/with%20space', '/srv/with space'],
    ['file://./output', resolve('output')],
    ['file://../up', resolve('../up')],
    ['/srv/plain', '/srv/plain'],
    ['./relative', resolve('relative')],
    ['bare/relative', resolve('bare/relative')],
  ])('%s → %s', (url, root) => {
    expect(parseDestination(url, 'p')).toMatchObject({ kind: 'file', root, prefix: 'p' });
  });

  it('normalises the prefix and shows where the dataset lands', () => {
    const destination = parseDestination('file:///srv/out', '/eden-dataset-vlms/sample-test/');
    expect(destination).toEqual({
      kind: 'file',
      root: '/srv/out',
      prefix: 'eden-dataset-vlms/sample-test',
      displayUrl: 'file:///srv/out/eden-dataset-vlms/sample-test',
    });
  });

  it('allows an empty prefix', () => {
    expect(parseDestination('/srv/out', '')).toMatchObject({
      prefix: '',
      displayUrl: 'file:///srv/out',
    });
  });
});

describe('parseDestination: gs', () => {
  it('joins the URL path and the prefix', () => {
    expect(parseDestination('gs://ai-training-dev/eden-dataset-vlms/', 'sample-test')).toEqual({
      kind: 'gs',
      bucket: 'ai-training-dev',
      prefix: 'eden-dataset-vlms/sample-test',
      displayUrl: 'gs://ai-training-dev/eden-dataset-vlms/sample-test',
    });
  });

  it('accepts a bare bucket and an empty prefix', () => {
    expect(parseDestination('gs://bucket', '')).toEqual({
      kind: 'gs',
      bucket: 'bucket',
      prefix: '',
      displayUrl: 'gs://bucket',
    });
  });

  it('rejects invalid bucket names', () => {
    const error = thrown(() => parseDestination('gs://Bad_Bucket!', ''));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('Bad_Bucket!');
  });
});

describe('parseDestination: rejections', () => {
  it.each([
    ['', 'empty'],
    ['s3://bucket/x', 'unsupported scheme "s3"'],
    ['file://remote-host/share', 'remote host'],
    ['file:///srv/out?x=1', "'?'"],
    ['file:relative', 'file://'],
  ])('rejects %j', (url, problem) => {
    const error = thrown(() => parseDestination(url, ''));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(problem);
    expect(error.message).toContain('gs://bucket[/path]');
  });

  it('never repeats credentials it was given', () => {
    const error = thrown(() => parseDestination('https://user:hunter2@example.org/x', ''));
    expect(error.message).not.toContain('hunter2');
    expect(error.subject).not.toContain('hunter2');
  });

  it.each(['a//b', '../up', 'a/./b', 'back\\slash'])('rejects the prefix %j', (prefix) => {
    const error = thrown(() => parseDestination('/srv/out', prefix));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(JSON.stringify(prefix));
  });
});
