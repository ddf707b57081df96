import { optional } from '../lib/command/inputs.js';
import { defineCommand } from '../lib/command/types.js';
import { buildGuest, defaultGuestCacheDir } from '../lib/vm/guest/build.js';

export const GUEST_DIR_INPUT = {
  description:
    'Cache of built default guests, one directory per content key (default: $XDG_CACHE_HOME/vm-tools/guest, else ~/.cache/vm-tools/guest).',
  env: ['VM_TOOLS_GUEST_DIR'],
} as const;

export default defineCommand({
  name: 'build-guest',
  description:
    "Builds the default qemu guest (Debian's kernel + busybox initramfs with the vm-tools agent) into a content-keyed cache; instant when cached.",
  inputs: { 'guest-dir': GUEST_DIR_INPUT },
  outputs: {
    kernel: 'Path of the guest kernel.',
    initrd: 'Path of the guest initramfs.',
    key: 'The content key (kernel and busybox package versions, init and agent scripts).',
    cached: 'true when the guest was already built.',
  },
  parse(read) {
    return { guestDir: optional(read, 'guest-dir') };
  },
  async run(inputs, ctx) {
    const guest = await ctx.log.group('build the default guest', () =>
      buildGuest({
        cacheDir: inputs.guestDir ?? defaultGuestCacheDir(ctx.env),
        log: (l) => ctx.log.info(l),
      }),
    );
    return {
      outputs: {
        kernel: guest.kernel,
        initrd: guest.initrd,
        key: guest.key,
        cached: String(guest.cached),
      },
    };
  },
});
