/**
 * Child process of apply.crash.test.ts (started through crashChildren.ts): one incremental run that SIGKILLs
 * itself just before sending its KILL_AT-th statement to the warehouse (statements, COPYs and appender fills
 * counted through openChangeTarget's onStatement), the way a power cut or `kill -9` would stop the executor
 * between two statements of a page. The kill point comes on stdin, so the child can load its modules before the
 * previous one has finished; it opens the warehouse only once it has it, and exits untouched if stdin closes empty.
 *
 *   echo <kill at: n | sql:<prefix> | 0 = never> | tsx crash.child.ts <target> <schema> <feed url> <deploy key>
 */
import { FeedClient } from "./feedClient.js";
import { openChangeTarget } from "./openTarget.js";
import { runIncremental } from "./run.js";

const [target, schema, feedUrl, deployKey] = process.argv.slice(2);
let killAtText = "";
for await (const chunk of process.stdin) killAtText += String(chunk);
killAtText = killAtText.trim();
if (killAtText) {
  // A number: the statement to die before; `sql:<prefix>`: the first statement starting with the prefix.
  const killAt = killAtText.startsWith("sql:") ? killAtText.slice(4) : Number(killAtText);
  let statements = 0;
  const step = (sql: string) => {
    statements++;
    if (statements === killAt || (typeof killAt === "string" && sql.startsWith(killAt))) {
      process.stdout.write(`KILLED before statement ${statements}: ${sql.slice(0, 60)}\n`);
      process.kill(process.pid, "SIGKILL");
    }
  };
  const changes = await openChangeTarget(target!, schema!, { onStatement: step });
  try {
    const result = await runIncremental({
      target: changes,
      feed: new FeedClient({ deploymentUrl: feedUrl!, deployKey: deployKey! }),
    });
    process.stdout.write(`DONE ${result.outcome} pages=${result.pages} statements=${statements}\n`);
  } finally {
    await changes.close();
  }
}
