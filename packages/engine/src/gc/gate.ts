/**
 * A shared/exclusive gate between the garbage collector and the mutations it must not cut in
 * half. A mutation that creates an object and records it (a snapshot's ownership record and its
 * backend directory; a committed blob and its ownership record; a blob adopted from another
 * namespace) runs inside `shared`; a collection runs inside `exclusive`, so it never sees the
 * object between the two steps, and no mutation sees a blob or snapshot the collector has
 * dropped from the metadata but not yet from the disk.
 *
 * - Any number of `shared` sections run at once; `exclusive` waits for them to end and runs alone.
 * - Writer preference: once an `exclusive` waits, new `shared` sections wait behind it, so a
 *   stream of mutations cannot starve the collector. Hence `shared` is not reentrant: a shared
 *   section that awaits another `shared` of the same gate can deadlock with a waiting
 *   collection. Keep sections to the few steps that must be atomic.
 * - A section's error is rethrown to its caller and releases the gate all the same.
 */
export class Gate {
  #shared = 0;
  #exclusive = false;
  /** Waiters in arrival order; an exclusive waiter blocks every later one. */
  readonly #queue: { exclusive: boolean; admit: () => void }[] = [];

  /** Runs `fn` alongside other shared sections, never during an exclusive one. */
  async shared<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.#exclusive || this.#queue.length > 0) await this.#wait(false);
    else this.#shared++;
    try {
      return await fn();
    } finally {
      this.#shared--;
      this.#drain();
    }
  }

  /** Runs `fn` alone: after every running shared section, before any later one. */
  async exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.#exclusive || this.#shared > 0 || this.#queue.length > 0) await this.#wait(true);
    else this.#exclusive = true;
    try {
      return await fn();
    } finally {
      this.#exclusive = false;
      this.#drain();
    }
  }

  /** Waits in line; the holder count is taken by `#drain` on admission. */
  #wait(exclusive: boolean): Promise<void> {
    return new Promise((admit) => this.#queue.push({ exclusive, admit }));
  }

  #drain(): void {
    while (this.#queue.length > 0 && !this.#exclusive) {
      const next = this.#queue[0]!;
      if (next.exclusive) {
        if (this.#shared > 0) return;
        this.#queue.shift();
        this.#exclusive = true;
        next.admit();
        return;
      }
      this.#queue.shift();
      this.#shared++;
      next.admit();
    }
  }
}
