/**
 * The change-feed stand-in's database: tables (tablets), documents changing through transactions, and the document
 * log the feed reads (get-convex/convex-backend at 94a42c3d: a tablet is a table's storage, crates/database/src/
 * table_registry.rs; `npx convex import --replace` writes a new tablet, crates/application/src/snapshot_import;
 * the log is crates/database/src/write_log.rs and the retained document revisions).
 */
import type { ConvexObject } from "../../executor/src/import/values.js";
import { fakeId, writeSnapshotZip, type FixtureTable } from "../fixtures/snapshot-zip.js";

export interface Tablet {
  id: number;
  component: string;
  table: string;
  createdTs: bigint;
  /** When the tablet left the table mapping (dropped, or replaced by an import). */
  retiredTs: bigint | null;
}

export interface LogEntry {
  ts: bigint;
  tablet: number;
  id: string;
  value: ConvexObject | null;
}

export interface Transaction {
  /** Inserts into `table` or `component/table`; returns the new id. */
  insert(qualified: string, fields: ConvexObject): string;
  replace(id: string, fields: ConvexObject): void;
  patch(id: string, fields: ConvexObject): void;
  delete(id: string): void;
}

export interface StoreOptions {
  /** The first commit timestamp, ns. */
  startTs?: bigint;
  /**
   * "synthetic" (default): time moves only with commits (1 ms each) and `advance`. "wall": timestamps follow the
   * machine's clock (as a real deployment's do), so lag measured against the clock is real.
   */
  clock?: "synthetic" | "wall";
}

export function splitQualified(qualified: string): { component: string; table: string } {
  const slash = qualified.lastIndexOf("/");
  return slash === -1
    ? { component: "", table: qualified }
    : { component: qualified.slice(0, slash), table: qualified.slice(slash + 1) };
}

export function qualifiedName(t: { component: string; table: string }): string {
  return t.component ? `${t.component}/${t.table}` : t.table;
}

/** export_fields returns a BTreeMap: fields come out in byte order. */
function sortedFields(doc: ConvexObject): ConvexObject {
  const out: ConvexObject = {};
  for (const key of Object.keys(doc).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) out[key] = doc[key]!;
  return out;
}

const wallNs = () => BigInt(Date.now()) * 1_000_000n;

export class FeedStore {
  private readonly tablets: Tablet[] = [];
  private readonly log: LogEntry[] = [];
  private readonly current = new Map<string, { tablet: number; value: ConvexObject }>();
  private readonly clock: "synthetic" | "wall";
  private nextTablet = 10_001;
  private nextDoc = 1;
  /** The latest timestamp: the last commit, or later when time passed without commits. */
  private latest: bigint;

  constructor(options: StoreOptions = {}) {
    this.clock = options.clock ?? "synthetic";
    this.latest = options.startTs ?? (this.clock === "wall" ? wallNs() : 1_800_000_000_000_000_000n);
  }

  /** The repeatable timestamp: every commit so far is at or before it. */
  get latestTs(): bigint {
    if (this.clock === "wall" && wallNs() > this.latest) this.latest = wallNs();
    return this.latest;
  }

  /** Time passes without writes (the repeatable timestamp keeps moving). */
  advance(ns: bigint): void {
    this.latest += ns;
  }

  private commitTs(): bigint {
    const next = this.latestTs + 1_000_000n; // one commit per ms at most
    this.latest = this.clock === "wall" && wallNs() > next ? wallNs() : next;
    return this.latest;
  }

  private liveTablet(qualified: string): Tablet | undefined {
    const { component, table } = splitQualified(qualified);
    return this.tablets.find((t) => t.retiredTs === null && t.component === component && t.table === table);
  }

  private newTablet(qualified: string, ts: bigint): Tablet {
    const tablet: Tablet = {
      id: this.nextTablet++,
      ...splitQualified(qualified),
      createdTs: ts,
      retiredTs: null,
    };
    this.tablets.push(tablet);
    return tablet;
  }

  /** Runs writes as one transaction at one commit timestamp (tables are created on first insert). */
  transaction(run: (tx: Transaction) => void): bigint {
    const ts = this.commitTs();
    const writes = new Map<string, { tablet: number; value: ConvexObject | null }>();
    const read = (id: string) => {
      const pending = writes.get(id);
      if (pending) return pending;
      const doc = this.current.get(id);
      if (!doc) throw new Error(`no document ${id}`);
      return doc;
    };
    const tx: Transaction = {
      insert: (qualified, fields) => {
        const tablet = this.liveTablet(qualified) ?? this.newTablet(qualified, ts);
        const id = fakeId(this.nextDoc++, tablet.id);
        writes.set(id, { tablet: tablet.id, value: { ...fields, _id: id, _creationTime: Number(ts) / 1e6 } });
        return id;
      },
      replace: (id, fields) => {
        const doc = read(id);
        if (!doc.value) throw new Error(`document ${id} was deleted`);
        writes.set(id, {
          tablet: doc.tablet,
          value: { ...fields, _id: id, _creationTime: doc.value._creationTime! },
        });
      },
      patch: (id, fields) => {
        const doc = read(id);
        if (!doc.value) throw new Error(`document ${id} was deleted`);
        writes.set(id, { tablet: doc.tablet, value: { ...doc.value, ...fields } });
      },
      delete: (id) => {
        writes.set(id, { tablet: read(id).tablet, value: null });
      },
    };
    run(tx);
    for (const [id, w] of [...writes].sort(([a], [b]) => (a < b ? -1 : 1))) {
      this.log.push({ ts, tablet: w.tablet, id, value: w.value && sortedFields(w.value) });
      if (w.value) this.current.set(id, { tablet: w.tablet, value: w.value });
      else this.current.delete(id);
    }
    return ts;
  }

  /** `npx convex import --replace`: a new tablet with these documents; the old one leaves the mapping. */
  importReplace(qualified: string, docs: readonly ConvexObject[]): bigint {
    const ts = this.commitTs();
    const old = this.liveTablet(qualified);
    if (old) this.retire(old, ts);
    const tablet = this.newTablet(qualified, ts);
    for (const fields of docs) {
      const id = fakeId(this.nextDoc++, tablet.id);
      const value = sortedFields({ ...fields, _id: id, _creationTime: Number(ts) / 1e6 });
      this.log.push({ ts, tablet: tablet.id, id, value });
      this.current.set(id, { tablet: tablet.id, value });
    }
    return ts;
  }

  /** Deletes a table (dashboard "Delete table"): the tablet leaves the mapping, its documents with it. */
  dropTable(qualified: string): bigint {
    const ts = this.commitTs();
    const tablet = this.liveTablet(qualified);
    if (!tablet) throw new Error(`no table ${qualified}`);
    this.retire(tablet, ts);
    return ts;
  }

  private retire(tablet: Tablet, ts: bigint): void {
    tablet.retiredTs = ts;
    for (const [id, doc] of this.current) if (doc.tablet === tablet.id) this.current.delete(id);
  }

  private aliveAt(tablet: Tablet, ts: bigint): boolean {
    return tablet.createdTs <= ts && (tablet.retiredTs === null || tablet.retiredTs > ts);
  }

  /** The tables in the mapping now (what `_system/frontend/getTableMapping` lists), in tablet order. */
  liveTables(): { tablet: number; component: string; table: string }[] {
    return this.tablets
      .filter((t) => t.retiredTs === null)
      .map((t) => ({ tablet: t.id, component: t.component, table: t.table }));
  }

  /** The live documents of a table now, by qualified name (for generators that pick documents to change). */
  documents(qualified: string): ConvexObject[] {
    const tablet = this.liveTablet(qualified);
    if (!tablet) return [];
    return [...this.current.values()].filter((d) => d.tablet === tablet.id).map((d) => d.value);
  }

  tablet(id: number): Tablet {
    const t = this.tablets.find((x) => x.id === id);
    if (!t) throw new Error(`no tablet ${id}`);
    return t;
  }

  /** Tablets in the mapping now (`ResolvedStreamingExportFilter` input). */
  tabletsNow(): readonly Tablet[] {
    return this.tablets.filter((t) => t.retiredTs === null);
  }

  /** The document log, in commit order. */
  logEntries(): readonly LogEntry[] {
    return this.log;
  }

  /** A tablet's documents at `ts`, in id order: the latest revision at or before `ts` of each live document. */
  documentsAt(tablet: number, ts: bigint): { id: string; ts: bigint; value: ConvexObject }[] {
    const latest = new Map<string, LogEntry>();
    for (const e of this.log) {
      if (e.ts > ts) break;
      if (e.tablet === tablet) latest.set(e.id, e);
    }
    return [...latest.values()]
      .filter((e) => e.value !== null)
      .map((e) => ({ id: e.id, ts: e.ts, value: e.value! }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Every table that exists at `ts` with its documents: what a snapshot export at `ts` holds. */
  stateAt(ts: bigint): Map<string, ConvexObject[]> {
    const out = new Map<string, ConvexObject[]>();
    for (const t of this.tablets) {
      if (!this.aliveAt(t, ts)) continue;
      out.set(
        qualifiedName(t),
        this.documentsAt(t.id, ts).map((d) => d.value),
      );
    }
    return out;
  }

  /** A uniform-encoding snapshot ZIP of the state at `ts` (test/fixtures/snapshot-zip.ts). */
  async writeSnapshotZip(file: string, ts: bigint): Promise<void> {
    const tables: FixtureTable[] = [...this.stateAt(ts)].map(([qualified, docs]) => {
      const { component, table } = splitQualified(qualified);
      return { name: table, ...(component ? { component } : {}), docs };
    });
    await writeSnapshotZip(file, tables);
  }
}
