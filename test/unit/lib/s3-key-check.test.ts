import { describe, expect, it } from 'vitest';
import { checkS3Key } from '../../../src/lib/store/s3.js';

describe('checkS3Key', () => {
  it('passes keys that follow the key rules', () => {
    expect(() => checkS3Key('vm/images/a-1.0.0-x64.tar.gz', 'PUT')).not.toThrow();
  });

  it.each([
    ['..', 'has a ".." segment'],
    ['a/./b', 'has a "." segment'],
    ['/abs', 'is absolute'],
    ['a//b', 'has an empty segment'],
    ['a/', 'has an empty segment'],
    ['a\rb', 'has characters outside [A-Za-z0-9._/-]'],
    ['a\\b', 'contains a backslash'],
  ])('refuses %j: it %s', (key, why) => {
    expect(() => checkS3Key(key, 'HEAD')).toThrow(
      expect.objectContaining({
        kind: 'invalid',
        retryable: false,
        message: `HEAD: invalid key ${JSON.stringify(key)}: it ${why}`,
      }),
    );
  });
});
