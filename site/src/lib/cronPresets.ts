/**
 * The schedule form's presets and its plain-language reading of a cron expression (cronstrue). Presets write
 * ordinary cron: "Every minute" is `* * * * *` (incremental syncs can run that often), "Every hour" `0 * * * *`, "Every day at 02:30" `30 2 * * *`, "Weekdays at 02:30" `30 2 * * 1-5`.
 */
import cronstrue from "cronstrue";

export type Preset = "minutely" | "hourly" | "daily" | "weekdays" | "custom";
export const PRESETS: { value: Preset; label: string }[] = [
  { value: "minutely", label: "Every minute" },
  { value: "hourly", label: "Every hour" },
  { value: "daily", label: "Every day at…" },
  { value: "weekdays", label: "Weekdays (Mon–Fri) at…" },
  { value: "custom", label: "Custom cron expression" },
];

const AT = /^(\d{1,2}) (\d{1,2}) \* \* (\*|1-5)$/;

/** Which preset `cron` is, with its time of day for the daily ones. */
export function presetOf(cron: string): { preset: Preset; time: string | null } {
  const text = cron.trim().replace(/\s+/g, " ");
  if (text === "* * * * *") return { preset: "minutely", time: null };
  if (text === "0 * * * *") return { preset: "hourly", time: null };
  const at = AT.exec(text);
  if (at && Number(at[1]) < 60 && Number(at[2]) < 24) {
    const time = `${at[2]!.padStart(2, "0")}:${at[1]!.padStart(2, "0")}`;
    return { preset: at[3] === "*" ? "daily" : "weekdays", time };
  }
  return { preset: "custom", time: null };
}

/** A 24-hour HH:MM as [hour, minute], or null. */
export function parseTimeOfDay(text: string): [number, number] | null {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!match) return null;
  const [h, m] = [Number(match[1]), Number(match[2])];
  return h < 24 && m < 60 ? [h, m] : null;
}

/** The cron of a preset at a time of day; null for "custom" or a time that is not HH:MM. */
export function cronFor(preset: Preset, time: string): string | null {
  if (preset === "minutely") return "* * * * *";
  if (preset === "hourly") return "0 * * * *";
  if (preset === "custom") return null;
  const at = parseTimeOfDay(time);
  if (!at) return null;
  return `${at[1]} ${at[0]} * * ${preset === "daily" ? "*" : "1-5"}`;
}

/** "At 03:30, Monday through Friday", or null when cronstrue cannot read it (the server says why). */
export function describeCron(cron: string): string | null {
  const text = cron.trim();
  if (!text) return null;
  try {
    return cronstrue.toString(text, { use24HourTimeFormat: true, verbose: false });
  } catch {
    return null;
  }
}
