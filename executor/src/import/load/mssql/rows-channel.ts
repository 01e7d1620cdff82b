/**
 * A bounded hand-off between the pipeline (which pushes row batches) and tedious' bulk load (which pulls rows
 * from an async iterable as fast as the socket drains). Bounded by bytes, not rows: documents range from tens
 * of bytes to megabytes, so a row count would let a slow server hold gigabytes here. `push` appends its batch,
 * then waits while more than `highWaterBytes` are queued; so at most highWaterBytes plus one batch wait here.
 */
export class RowsChannel<T> implements AsyncIterable<T> {
  private queue: T[] = [];
  private sizes: number[] = [];
  private head = 0;
  private buffered = 0;
  private pushed = 0;
  private ended = false;
  private failure: Error | undefined;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(
    private readonly highWaterBytes: number,
    private readonly sizeOf: (row: T) => number,
  ) {}

  /** Bytes queued and not yet taken by the consumer. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Bytes pushed since the channel was made. */
  get pushedBytes(): number {
    return this.pushed;
  }

  async push(rows: readonly T[]): Promise<void> {
    if (this.failure) throw this.failure;
    for (const row of rows) {
      const size = this.sizeOf(row);
      this.queue.push(row);
      this.sizes.push(size);
      this.buffered += size;
      this.pushed += size;
    }
    this.wake("consumer");
    while (this.buffered > this.highWaterBytes && !this.failure) {
      await new Promise<void>((resolve) => (this.wakeProducer = resolve));
    }
    if (this.failure) throw this.failure;
  }

  end(): void {
    this.ended = true;
    this.wake("consumer");
  }

  /** The consumer failed (server error): wake and fail the producer. */
  fail(err: Error): void {
    this.failure = err;
    this.wake("producer");
    this.wake("consumer");
  }

  private wake(who: "consumer" | "producer"): void {
    const resolve = who === "consumer" ? this.wakeConsumer : this.wakeProducer;
    if (who === "consumer") this.wakeConsumer = undefined;
    else this.wakeProducer = undefined;
    resolve?.();
  }

  /**
   * After `fail`, the iteration throws: tedious then ends the BULK_LOAD message with the "ignore" status
   * (connection.js makeRequest, payloadStream 'error'), so the server drops this load's rows instead of
   * committing a part of them.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.head < this.queue.length) {
        const row = this.queue[this.head]!;
        this.queue[this.head] = undefined as T; // a taken row must not stay reachable from here
        this.buffered -= this.sizes[this.head]!;
        this.head++;
        if (this.head >= 1024) {
          this.queue = this.queue.slice(this.head);
          this.sizes = this.sizes.slice(this.head);
          this.head = 0;
        }
        if (this.buffered <= this.highWaterBytes) this.wake("producer");
        yield row;
        continue;
      }
      this.queue = [];
      this.sizes = [];
      this.head = 0;
      this.wake("producer");
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
    }
  }
}
