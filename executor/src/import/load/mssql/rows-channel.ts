/**
 * A bounded hand-off between the pipeline (which pushes row batches) and tedious' bulk load (which pulls rows
 * from an async iterable as fast as the socket drains). `push` waits while more than `highWater` rows are queued.
 */
export class RowsChannel<T> implements AsyncIterable<T> {
  private queue: T[] = [];
  private ended = false;
  private failure: Error | undefined;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(private readonly highWater = 5_000) {}

  async push(rows: readonly T[]): Promise<void> {
    if (this.failure) throw this.failure;
    for (const row of rows) this.queue.push(row);
    this.wakeConsumer?.();
    while (this.queue.length > this.highWater && !this.failure) {
      await new Promise<void>((resolve) => (this.wakeProducer = resolve));
    }
    if (this.failure) throw this.failure;
  }

  end(): void {
    this.ended = true;
    this.wakeConsumer?.();
  }

  /** The consumer failed (server error): wake and fail the producer. */
  fail(err: Error): void {
    this.failure = err;
    this.wakeProducer?.();
    this.wakeConsumer?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let index = 0;
    for (;;) {
      if (this.failure) return;
      if (index < this.queue.length) {
        const row = this.queue[index]!;
        index++;
        if (index >= 1024) {
          this.queue = this.queue.slice(index);
          index = 0;
          if (this.queue.length <= this.highWater) this.wakeProducer?.();
        }
        yield row;
        continue;
      }
      this.queue = [];
      index = 0;
      this.wakeProducer?.();
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
    }
  }
}
