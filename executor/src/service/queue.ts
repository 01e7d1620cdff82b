/**
 * A first-in, first-out queue of jobs for one target, running at most `concurrency` at a time (1 by default:
 * two imports into the same warehouse would only fight over locks).
 *
 *   const queue = new JobQueue(1, (id) => runJob(id));
 *   queue.push("job-1"); queue.push("job-2");   // job-2 starts when job-1 settles
 */
export class JobQueue {
  private readonly waiting: string[] = [];
  private readonly running = new Set<string>();
  private paused = false;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly run: (jobId: string) => Promise<void>,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new Error("concurrency must be a positive integer");
  }

  push(jobId: string): void {
    this.waiting.push(jobId);
    this.pump();
  }

  /** Takes a job out of the queue before it starts; false when it is not waiting (running or unknown). */
  remove(jobId: string): boolean {
    const index = this.waiting.indexOf(jobId);
    if (index < 0) return false;
    this.waiting.splice(index, 1);
    return true;
  }

  /** Stops starting jobs; returns the ids that were still waiting (they are removed). */
  drain(): string[] {
    this.paused = true;
    return this.waiting.splice(0);
  }

  get queued(): readonly string[] {
    return this.waiting;
  }

  get active(): string[] {
    return [...this.running];
  }

  /** Resolves when nothing is running. */
  idle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (!this.paused && this.running.size < this.concurrency && this.waiting.length > 0) {
      const jobId = this.waiting.shift()!;
      this.running.add(jobId);
      void this.run(jobId)
        .catch(() => {})
        .finally(() => {
          this.running.delete(jobId);
          if (this.running.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
          this.pump();
        });
    }
  }
}
