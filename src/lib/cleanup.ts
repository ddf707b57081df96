import { lstat, rm } from 'node:fs/promises';

/**
 * Cancellation is a normal path. The runner cancels a step by sending SIGINT to
 * its node process (SIGTERM 7.5 s later, SIGKILL 2.5 s after that) and then runs
 * the action's `post` step. Whatever a step creates that must not outlive it
 * (a container, a loaded image, a `.partial` file, a multipart upload) is
 * tracked here twice over:
 *
 * - in memory, with a function that removes it, run once on SIGINT/SIGTERM;
 * - as a plain description (a `Leftover`) handed to a state sink as soon as it
 *   exists, so a `post` step can remove it when the main process was killed
 *   before its own cleanup could finish.
 */

export type Leftover =
  | { kind: 'container'; name: string }
  /** A loaded image, by the name it loaded under; `id` once known (removed only if it still matches). */
  | { kind: 'image'; ref: string; id?: string }
  /** A temp or `.partial` file (absolute path). */
  | { kind: 'file'; path: string }
  /** An S3 multipart upload; `uploadId` is unknown while CreateMultipartUpload is in flight. */
  | { kind: 'multipart'; bucket: string; key: string; uploadId?: string }
  /** A VM still booting (boot-vm's own post step owns a VM that came up). */
  | { kind: 'vm'; name: string; stateDir: string };

export interface Tracked {
  /** Replaces the description (e.g. once an upload id or image id is known). */
  update(leftover: Leftover): void;
  /** The thing is gone (or was kept on purpose): stop tracking it. */
  release(): void;
}

type Remove = () => Promise<void> | void;

/** The signals a runner or a terminal sends to cancel, with the conventional exit codes. */
const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type CancelSignal = keyof typeof EXIT_CODES;

export interface SignalHooks {
  log: (message: string) => void;
  exit: (code: number) => void;
  /** Bounds the whole cleanup: a hung podman must not keep a cancelled step alive. */
  timeoutMs?: number;
}

export class CleanupRegistry {
  private readonly entries = new Map<number, { leftover: Leftover; remove: Remove }>();
  private next = 0;
  private sink: ((leftovers: Leftover[]) => void) | undefined;
  private running: Promise<void> | undefined;

  /** Where descriptions go on every change (the runner's saved state for `post`). */
  setStateSink(sink: ((leftovers: Leftover[]) => void) | undefined): void {
    this.sink = sink;
  }

  leftovers(): Leftover[] {
    return [...this.entries.values()].map((e) => e.leftover);
  }

  private changed(): void {
    try {
      this.sink?.(this.leftovers());
    } catch {
      // Saving state is best effort: a full GITHUB_STATE disk must not fail the work itself.
    }
  }

  track(leftover: Leftover, remove: Remove): Tracked {
    const id = this.next++;
    this.entries.set(id, { leftover, remove });
    this.changed();
    return {
      update: (next) => {
        const entry = this.entries.get(id);
        if (!entry) return;
        entry.leftover = next;
        this.changed();
      },
      release: () => {
        if (this.entries.delete(id)) this.changed();
      },
    };
  }

  /**
   * Removes everything still tracked, newest first (a container before the image
   * it runs), once: a second call waits for the first. Failures are logged and
   * the rest still run; what could not be removed stays in the saved state.
   */
  runAll(log: (message: string) => void = () => {}): Promise<void> {
    this.running ??= (async () => {
      const ids = [...this.entries.keys()].sort((a, b) => b - a);
      for (const id of ids) {
        const entry = this.entries.get(id);
        if (!entry) continue;
        try {
          await entry.remove();
          this.entries.delete(id);
          this.changed();
        } catch (error) {
          log(`could not remove ${describeLeftover(entry.leftover)}: ${(error as Error).message}`);
        }
      }
    })();
    return this.running;
  }

  /**
   * On SIGINT/SIGTERM: run every cleanup once, then exit 130/143. A second
   * signal while cleaning exits at once (a person pressing Ctrl-C twice; the
   * runner's SIGTERM after its grace period) and leaves the rest to `post`.
   * Returns a function that removes the handlers.
   */
  handleSignals(hooks: SignalHooks, target: NodeJS.Process = process): () => void {
    let received: CancelSignal | undefined;
    const onSignal = (signal: CancelSignal) => {
      if (received) {
        hooks.exit(EXIT_CODES[signal]);
        return;
      }
      received = signal;
      const count = this.entries.size;
      hooks.log(
        count
          ? `${signal}: cancelled; removing ${count} thing${count === 1 ? '' : 's'} this step created`
          : `${signal}: cancelled`,
      );
      const timeoutMs = hooks.timeoutMs ?? 20_000;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          hooks.log(
            `cleanup did not finish within ${timeoutMs} ms; the post step removes the rest`,
          );
          resolve();
        }, timeoutMs);
      });
      void Promise.race([this.runAll(hooks.log), deadline]).then(() => {
        clearTimeout(timer);
        hooks.exit(EXIT_CODES[signal]);
      });
    };
    const handlers = (Object.keys(EXIT_CODES) as CancelSignal[]).map(
      (signal) => [signal, () => onSignal(signal)] as const,
    );
    for (const [signal, handler] of handlers) target.on(signal, handler);
    return () => {
      for (const [signal, handler] of handlers) target.off(signal, handler);
    };
  }
}

export function describeLeftover(leftover: Leftover): string {
  switch (leftover.kind) {
    case 'container':
      return `container ${leftover.name}`;
    case 'image':
      return `image ${leftover.ref}${leftover.id ? ` (${leftover.id.slice(0, 12)})` : ''}`;
    case 'file':
      return `file ${leftover.path}`;
    case 'multipart':
      return `multipart upload of s3://${leftover.bucket}/${leftover.key}${leftover.uploadId ? ` (${leftover.uploadId})` : ''}`;
    case 'vm':
      return `VM ${leftover.name}`;
  }
}

/** One registry per process: signals are process-wide, and so is what a step created. */
export const processCleanups = new CleanupRegistry();

/** The state name main saves leftovers under, and `post` reads. */
export const LEFTOVERS_STATE = 'vm-tools-leftovers';

export function parseLeftovers(text: string): Leftover[] {
  if (!text.trim()) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`saved state ${LEFTOVERS_STATE} is not JSON: ${text.slice(0, 80)}`);
  }
  if (!Array.isArray(value)) throw new Error(`saved state ${LEFTOVERS_STATE} is not a list`);
  return value.filter(
    (item): item is Leftover =>
      typeof item === 'object' &&
      item !== null &&
      ['container', 'image', 'file', 'multipart', 'vm'].includes((item as { kind: string }).kind),
  );
}

/** Each resolves true when it removed something, false when there was nothing (of ours) to remove. */
export type LeftoverRemovers = {
  [K in Leftover['kind']]?: (leftover: Extract<Leftover, { kind: K }>) => Promise<boolean>;
};

/** Removes a temp or `.partial` file a killed step left behind. */
export async function removeLeftoverFile(leftover: { path: string }): Promise<boolean> {
  const there = await lstat(leftover.path).then(
    () => true,
    () => false,
  );
  await rm(leftover.path, { force: true });
  return there;
}

/**
 * The `post` side: removes every saved leftover this command knows how to remove,
 * newest first; throws once at the end naming what could not be removed.
 */
export async function removeLeftovers(
  leftovers: readonly Leftover[],
  removers: LeftoverRemovers,
  log: (message: string) => void,
): Promise<number> {
  const failures: string[] = [];
  let removed = 0;
  for (const leftover of [...leftovers].reverse()) {
    const remove = removers[leftover.kind] as ((l: Leftover) => Promise<boolean>) | undefined;
    if (!remove) {
      failures.push(`${describeLeftover(leftover)}: this step does not know how to remove it`);
      continue;
    }
    try {
      if (await remove(leftover)) {
        removed++;
        log(`removed ${describeLeftover(leftover)}`);
      } else log(`${describeLeftover(leftover)}: nothing to remove`);
    } catch (error) {
      failures.push(`${describeLeftover(leftover)}: ${(error as Error).message}`);
    }
  }
  if (failures.length) throw new Error(failures.join('; '));
  return removed;
}
