// Shared, closeable things by key (Kafka clients per config, shard writers per transactional id): leases count the
// users; a value nobody holds is closed after an idle period, unless leased again before.
export interface Lease<T> {
  readonly value: T;
  /** Gives the value back; the lease must not be used afterwards. Idempotent. */
  release(): void;
}

interface Entry<T> {
  readonly value: T;
  leases: number;
  idleTimer: NodeJS.Timeout | undefined;
}

export class LeasePool<T> {
  private readonly entries = new Map<string, Entry<T>>();
  /** Idle closes in flight, so closeAll() also waits for them. */
  private readonly closing = new Set<Promise<void>>();

  /** `close` must not reject (it logs or swallows its own errors). */
  constructor(
    private readonly idleCloseMs: number,
    private readonly close: (value: T) => Promise<void>,
  ) {}

  /** Number of open values (leased or idle). */
  get size(): number {
    return this.entries.size;
  }

  acquire(key: string, create: () => T): Lease<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { value: create(), leases: 0, idleTimer: undefined };
      this.entries.set(key, entry);
    }
    if (entry.idleTimer) {
      clearTimeout(entry.idleTimer);
      entry.idleTimer = undefined;
    }
    entry.leases++;
    const held = entry;
    let released = false;
    return {
      value: held.value,
      release: () => {
        if (released) return;
        released = true;
        if (--held.leases > 0 || this.entries.get(key) !== held) return;
        held.idleTimer = setTimeout(() => {
          if (held.leases > 0 || this.entries.get(key) !== held) return;
          this.entries.delete(key);
          void this.closeTracked(held.value);
        }, this.idleCloseMs);
        held.idleTimer.unref();
      },
    };
  }

  /** Closes every value now, leased or not (shutdown, tests), and waits for idle closes in flight. */
  async closeAll(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const entry of entries) if (entry.idleTimer) clearTimeout(entry.idleTimer);
    await Promise.all([...entries.map((e) => this.closeTracked(e.value)), ...this.closing]);
  }

  private closeTracked(value: T): Promise<void> {
    const closing = this.close(value);
    this.closing.add(closing);
    void closing.finally(() => this.closing.delete(closing));
    return closing;
  }
}
