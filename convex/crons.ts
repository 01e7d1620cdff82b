import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";

const crons = cronJobs();

crons.interval("job watchdog", { minutes: 1 }, internal.maintenance.watchdog, {});
crons.interval("repair schedules and admins", { minutes: 10 }, internal.maintenance.repair, {});
crons.daily("prune old rows", { hourUTC: 3, minuteUTC: 17 }, internal.maintenance.prune, {});

export default crons;
