/**
 * The source stand-in's components and tables, as the system queries list them: a fixed list given by the test,
 * or the live tables of a change-feed stand-in (test/standins/dataSyncFeed.ts), so that the tables listed, the
 * snapshot exports and the feed all describe the same data.
 */
import type { FeedDeployment } from "./dataSyncFeed.js";
import { documentId } from "./exportWorker.js";

export interface SourceCatalog {
  /** Component paths other than the root (`chat`, `chat/workpool`), in a stable order. */
  componentPaths(): string[];
  /** A component's user tables ("" = the root): table number and name. */
  tables(component: string): { number: number; name: string }[];
}

export function fixedCatalog(tables: {
  root: string[];
  components: Record<string, string[]>;
}): SourceCatalog {
  return {
    componentPaths: () => Object.keys(tables.components),
    tables: (component) =>
      (component === "" ? tables.root : (tables.components[component] ?? [])).map((name, i) => ({
        number: 10_001 + i,
        name,
      })),
  };
}

/** The deployment's tables now; a table's number is its tablet's (a table replaced by an import gets a new one). */
export function feedCatalog(deployment: FeedDeployment): SourceCatalog {
  return {
    componentPaths: () =>
      [
        ...new Set(
          deployment
            .liveTables()
            .map((t) => t.component)
            .filter((c) => c !== ""),
        ),
      ].sort(),
    tables: (component) =>
      deployment
        .liveTables()
        .filter((t) => t.component === component)
        .map((t) => ({ number: t.tablet, name: t.table })),
  };
}

/** `_components` document ids by component path; a path gets its id the first time it is seen. */
export class ComponentIds {
  readonly rootId = documentId();
  /** Path → id; the same object for the stand-in's whole life (tests read it). */
  readonly byPath: Record<string, string> = {};

  idOf(path: string): string {
    if (path === "") return this.rootId;
    return (this.byPath[path] ??= documentId());
  }

  pathOf(id: string): string | undefined {
    if (id === this.rootId) return "";
    return Object.entries(this.byPath).find(([, cid]) => cid === id)?.[0];
  }
}
