import { InputError } from '../../lib/command/errors.js';
import type { InputDef } from '../../lib/command/types.js';
import { ARCHES, type Arch, isArch } from '../../lib/manifest/arch.js';
import { parseSlice, type Slice } from '../../lib/manifest/slice.js';

/** What a slice is made of: the bundle, its tarballs and the arches (emit-manifest and publish). */
export const SLICE_SOURCE_INPUTS = {
  bundle: { description: 'Path to bundle.json (what to release).', default: 'bundle.json' },
  'dist-dir': {
    description: 'Directory holding images/<name>-<version>-<arch>.tar.gz|.tar.zst.',
    default: 'dist',
  },
  arches: {
    description: 'Arches the slice covers, one per line.',
    default: 'arm64\nx64',
    multiline: true,
  },
} satisfies Record<string, InputDef>;

export function parseArches(values: string[], input = 'arches'): Arch[] {
  if (values.length === 0) return [...ARCHES];
  for (const value of values) {
    if (!isArch(value))
      throw new InputError(
        `Input "${input}" must list arches from ${ARCHES.join(', ')}; got "${value}".`,
      );
  }
  return [...new Set(values)] as Arch[];
}

/** A slice value as bad input ("unknown slice: …") rather than a failure. */
export function sliceInput(value: string): Slice {
  try {
    return parseSlice(value);
  } catch (error) {
    throw new InputError((error as Error).message);
  }
}
