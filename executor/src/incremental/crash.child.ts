/**
 * Child process of apply.crash.test.ts: one incremental run that SIGKILLs itself just before sending its
 * KILL_AT-th statement to the warehouse (statements and COPYs counted through the transport), the way a power
 * cut or `kill -9` would stop the executor between two statements of a page.
 *
 *   tsx crash.child.ts <target> <schema> <feed url> <deploy key> <kill at: n | sql:<prefix> | 0 = never>
 */
import type { PgTransport } from "../import/load/postgres/transport.js";
import { FeedClient } from "./feedClient.js";
import { openChangeTarget } from "./postgres.js";
import { runIncremental } from "./run.js";

const [target, schema, feedUrl, deployKey, killAtText] = process.argv.slice(2);
// A number: the statement to die before; `sql:<prefix>`: the first statement starting with the prefix.
const killAt = killAtText!.startsWith("sql:") ? killAtText!.slice(4) : Number(killAtText);
let statements = 0;
const step = (sql: string) => {
  statements++;
  if (statements === killAt || (typeof killAt === "string" && sql.startsWith(killAt))) {
    process.stdout.write(`KILLED before statement ${statements}: ${sql.slice(0, 60)}\n`);
    process.kill(process.pid, "SIGKILL");
  }
};
const counting = (db: PgTransport): PgTransport => ({
  copySource: db.copySource,
  query: (sql, params) => {
    step(sql);
    return db.query(sql, params);
  },
  copyIn: (sql) => {
    step(sql);
    return db.copyIn(sql);
  },
  close: () => db.close(),
});

const changes = await openChangeTarget(target!, schema!, { wrap: counting });
try {
  const result = await runIncremental({
    target: changes,
    feed: new FeedClient({ deploymentUrl: feedUrl!, deployKey: deployKey! }),
  });
  process.stdout.write(`DONE ${result.outcome} pages=${result.pages} statements=${statements}\n`);
} finally {
  await changes.close();
}
