/**
 * The source stand-in's snapshot exports: `_exports` documents moving requested → in_progress → completed like
 * the export worker (get-convex/convex-backend at 94a42c3d: crates/application/src/exports/worker.rs,
 * crates/model/src/exports/types.rs). `worker: "manual"` lets a test take each step with `step()`.
 */
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { cleanJson } from "./valueFormats.js";

/** ns timestamps as Convex writes them. */
export function nsOf(ms: number): bigint {
  return BigInt(ms) * 1_000_000n;
}

/** Export document ids and component ids are Convex document ids: 32 base32 characters. */
export function documentId(): string {
  const alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
  let id = "k";
  for (let i = 0; i < 31; i++) id += alphabet[Math.floor(Math.random() * alphabet.length)];
  return id;
}

/** An `_exports` document as the backend stores it (crates/model/src/exports/types.rs `SerializedExport`). */
export interface ExportDoc {
  _id: string;
  _creationTime: number;
  state: "requested" | "in_progress" | "completed" | "failed" | "canceled";
  format: { format: "zip"; include_storage: boolean };
  component: string | null;
  requestor: "snapshotExport" | "cloudBackup";
  expiration_ts: bigint;
  start_ts?: bigint;
  complete_ts?: bigint;
  failed_ts?: bigint;
  canceled_ts?: bigint;
  progress_message?: string | null;
  zip_object_key?: string;
  size?: bigint;
  /** Not part of the document: the ZIP this export serves. */
  zip?: Buffer;
  /** Not part of the document: its ZIP is being written (the worker has taken its database snapshot). */
  writing?: boolean;
  /** Write the state as `cancelled`, the spelling older backends stored (serde alias in types.rs). */
  oldSpelling?: boolean;
}

/** Where exports get their timestamps and ZIPs: a fixed file, or a deployment's data (a change-feed stand-in). */
export interface SnapshotSource {
  /** The database's timestamp for reads now (`now_ts_for_reads`, `latest_database_snapshot`). */
  now(): bigint;
  /** The ZIP of the database at `ts`. */
  zipAt(ts: bigint): Buffer | Promise<Buffer>;
}

export interface ExportWorker {
  /**
   * Advances the oldest unfinished export one step: requested → in_progress → completed. With a deployment as the
   * source the ZIP is written after its snapshot is taken: the export stays in_progress until then (`settled()`).
   */
  step(options?: { progress?: string }): void;
  /** Resolves once every ZIP being written is written and its export completed. */
  settled(): Promise<void>;
  /** The in-progress export fails (Export::Failed). */
  fail(): void;
  /** An admin cancels the unfinished export (Export::Canceled); `oldSpelling` stores `cancelled`. */
  cancel(options?: { oldSpelling?: boolean }): void;
  /** A dashboard or scheduled backup (requestor cloudBackup): unseen by getLatest, blocks new requests. */
  startBackup(): void;
  /** Adds a completed snapshot export, as if it had run before. Returns its snapshot timestamp. */
  addCompleted(options?: { completeTs?: bigint; expirationTs?: bigint; zipFile?: string }): string;
  /** The `_exports` documents, oldest first, in the JSON the system queries return. */
  documents(): Record<string, unknown>[];
}

export interface Exports {
  worker: ExportWorker;
  /** An export requested or in progress, of any requestor. */
  unfinished(): ExportDoc | undefined;
  /** Queues a snapshot export (application/src/lib.rs `request_export`) and, in auto mode, runs it. */
  request(includeStorage: boolean): void;
  /** The newest snapshot export (`_system/cli/exports:getLatest`), as stored. */
  latest(): Record<string, unknown> | null;
  /** By id, or a completed export by snapshot timestamp (`completed_export_at_ts`). */
  find(id: string): ExportDoc | undefined;
  stop(): void;
}

export function createExports(options: {
  source: SnapshotSource;
  /** Exports that completed before the test: snapshot timestamp (ns) → ZIP. */
  completed?: Map<bigint, Buffer>;
  mode: "auto" | "manual";
  delayMs: number;
}): Exports {
  const { source } = options;
  const exports: ExportDoc[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const writing = new Set<Promise<void>>();

  for (const [ts, zip] of options.completed ?? [])
    exports.push(completedDoc(ts, ts + 1_000_000n, nsOf(Date.now() + 14 * 86_400_000), zip));

  function completedDoc(startTs: bigint, completeTs: bigint, expirationTs: bigint, body: Buffer): ExportDoc {
    return {
      _id: documentId(),
      _creationTime: Number(startTs / 1_000_000n),
      state: "completed",
      format: { format: "zip", include_storage: false },
      component: null,
      requestor: "snapshotExport",
      expiration_ts: expirationTs,
      start_ts: startTs,
      complete_ts: completeTs,
      zip_object_key: documentId(),
      size: BigInt(body.length),
      zip: body,
    };
  }

  function newRequest(includeStorage: boolean): ExportDoc {
    return {
      _id: documentId(),
      _creationTime: Date.now(),
      state: "requested",
      format: { format: "zip", include_storage: includeStorage },
      component: null,
      requestor: "snapshotExport",
      expiration_ts: nsOf(Date.now() + 14 * 86_400_000),
    };
  }

  const unfinished = () => exports.find((e) => e.state === "requested" || e.state === "in_progress");

  // Export::completed replaces start_ts with the snapshot's database timestamp ("replace start_ts with the
  // actual database TS"); complete_ts is the marking transaction's begin timestamp, after the ZIP is written.
  function complete(e: ExportDoc, snapshotTs: bigint, body: Buffer): void {
    delete e.writing;
    // worker.rs `export_and_mark_complete`: an export canceled meanwhile stays canceled (ExportCanceled).
    if (e.state !== "in_progress") return;
    Object.assign(e, {
      state: "completed",
      start_ts: snapshotTs,
      complete_ts: source.now() > snapshotTs ? source.now() : snapshotTs + 1n,
      zip_object_key: documentId(),
      size: BigInt(body.length),
      zip: body,
    });
    delete e.progress_message;
  }

  const worker: ExportWorker = {
    step({ progress } = {}) {
      const e = unfinished();
      if (!e) throw new Error("no export is requested or in progress");
      if (e.writing) throw new Error("the export's ZIP is being written: await settled()");
      if (e.state === "requested") {
        // Export::in_progress at now_ts_for_reads: when the first attempt began.
        Object.assign(e, {
          state: "in_progress",
          start_ts: source.now(),
          progress_message: progress ?? null,
        });
      } else if (progress !== undefined) {
        e.progress_message = progress;
      } else {
        // `latest_database_snapshot()`: the ZIP holds the database at this timestamp.
        const snapshotTs = source.now();
        const body = e.zip ?? source.zipAt(snapshotTs);
        if (Buffer.isBuffer(body)) return complete(e, snapshotTs, body);
        e.writing = true;
        const done = body.then(
          (zip) => complete(e, snapshotTs, zip),
          () => {
            delete e.writing;
            if (e.state === "in_progress") Object.assign(e, { state: "failed", failed_ts: source.now() });
          },
        );
        writing.add(done);
        void done.finally(() => writing.delete(done));
      }
    },
    async settled() {
      while (writing.size > 0) await Promise.all(writing);
    },
    fail() {
      const e = exports.find((x) => x.state === "in_progress");
      if (!e) throw new Error("no export in progress");
      Object.assign(e, { state: "failed", failed_ts: source.now() });
      delete e.progress_message;
    },
    cancel({ oldSpelling } = {}) {
      const e = unfinished();
      if (!e) throw new Error("no export to cancel");
      Object.assign(e, { state: "canceled", canceled_ts: source.now(), oldSpelling });
      delete e.progress_message;
    },
    startBackup() {
      exports.push({ ...newRequest(false), requestor: "cloudBackup" });
    },
    addCompleted({ completeTs, expirationTs, zipFile } = {}) {
      const complete = completeTs ?? source.now();
      const ts = complete - 1_000_000_000n;
      const zip = zipFile ? readFileSync(zipFile) : source.zipAt(ts);
      if (!Buffer.isBuffer(zip))
        throw new Error("addCompleted: give a zipFile when the source is a deployment");
      const doc = completedDoc(ts, complete, expirationTs ?? complete + nsOf(14 * 86_400_000), zip);
      exports.push(doc);
      return doc.start_ts!.toString();
    },
    documents: () => exports.map((e) => cleanJson(exportDocument(e)) as Record<string, unknown>),
  };

  function runAutomatically(): void {
    if (options.mode === "manual") return;
    const later = (ms: number, fn: () => void) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        fn();
      }, ms);
      timers.add(timer);
    };
    later(Math.min(50, options.delayMs), () => {
      worker.step();
      later(Math.max(0, options.delayMs - 50), () => worker.step());
    });
  }

  return {
    worker,
    unfinished,
    request(includeStorage) {
      exports.push(newRequest(includeStorage));
      runAutomatically();
    },
    latest() {
      const latest = exports.filter((e) => e.requestor === "snapshotExport").at(-1);
      return latest ? exportDocument(latest) : null;
    },
    find: (id) =>
      exports.find((e) => e._id === id) ??
      (/^\d+$/.test(id)
        ? exports.find((e) => e.state === "completed" && e.start_ts === BigInt(id))
        : undefined),
    stop() {
      for (const timer of timers) clearTimeout(timer);
    },
  };
}

/** The document as the system queries return it (without the stand-in's own fields). */
function exportDocument(e: ExportDoc): Record<string, unknown> {
  const { zip: _zip, writing: _writing, oldSpelling, ...doc } = e;
  const out: Record<string, unknown> = { ...doc };
  if (doc.state === "canceled" && oldSpelling) {
    out.state = "cancelled";
    out.cancelled_ts = out.canceled_ts;
    delete out.canceled_ts;
  }
  return out;
}
