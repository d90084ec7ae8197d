// A counting semaphore with a bounded queue: at most `max` tasks run, at most
// `maxQueue` wait, and beyond that a caller is refused at once. It keeps a
// flood of sign-ins (argon2: ~20 ms of a core each) from taking every core
// the tutoring turns need: the flood waits its turn instead.

export class SemaphoreFull extends Error {
  constructor() {
    super("too many requests are waiting");
    this.name = "SemaphoreFull";
  }
}

export class Semaphore {
  #running = 0;
  readonly #queue: (() => void)[] = [];

  /** `max` 0: no bound at all (every task runs at once). */
  constructor(
    readonly max: number,
    readonly maxQueue: number,
  ) {}

  get running(): number {
    return this.#running;
  }
  get waiting(): number {
    return this.#queue.length;
  }

  /** Runs `task` when a slot is free; throws SemaphoreFull when the queue is full. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.max <= 0) return task();
    if (this.#running >= this.max) {
      if (this.#queue.length >= this.maxQueue) throw new SemaphoreFull();
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter (the count stays), else free it.
      const next = this.#queue.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
