/**
 * Decodes one document of a legacy snapshot (the `JSON.parse` result of one documents.jsonl line) into a
 * ConvexValue, using the table's shape and the document's override, as Convex's `ExportContext::apply` does:
 * a JSON number is a float64; a JSON string becomes an int64 / bytes / ±Infinity / NaN when the shape at that
 * position allows exactly one non-string reading or the override says so, and stays a string otherwise.
 *
 * Unlike Convex, every value is also checked against the shape, and a value that contradicts it (`"abc"`
 * where only int64 may be, a number where only strings may be, a field the shape does not know, bad base64,
 * an object without the required fields of any object member whose fields it stays within) throws a
 * LegacyDecodeError naming the field: data is never silently reinterpreted. The member check looks at field
 * names only; each value is checked against the union of what the members say for its field.
 *
 * Cost: no allocation unless something is converted. The input is never modified; a container is copied
 * (shallowly) only when one of its values changes, so a document with nothing to convert is returned as is.
 */
import type { ConvexObject, ConvexValue } from "../../values.js";
import { INFER, type ExportContext } from "./context.js";
import { LegacyDecodeError } from "./errors.js";
import { planForShape, type Plan } from "./plan.js";
import { quoteForError, readBytes, readInfinity, readInt64 } from "./scalars.js";
import type { LegacyTableSchema } from "./schema.js";

/** Path of the value being decoded (field names and array indexes); read only when a value fails. */
const path: (string | number)[] = [];

class Misfit extends Error {}

function misfit(reason: string): never {
  throw new Misfit(reason);
}

export function decodeLegacyDocument(doc: Record<string, unknown>, schema: LegacyTableSchema): ConvexObject {
  const id = typeof doc._id === "string" ? doc._id : undefined;
  const context = (id !== undefined ? schema.overrides.get(id) : undefined) ?? INFER;
  path.length = 0;
  try {
    if (typeof doc !== "object" || doc === null || Array.isArray(doc))
      misfit("a document must be a JSON object");
    return decodeObject(doc, planForShape(schema.shape), context);
  } catch (err) {
    if (err instanceof Misfit) throw new LegacyDecodeError(err.message, formatPath(path), id);
    throw err;
  }
}

function decodeValue(value: unknown, plan: Plan, context: ExportContext): ConvexValue {
  switch (typeof value) {
    case "string":
      if (context === INFER && plan.plainString) return value;
      return decodeString(value, plan, context);
    case "number":
      if (context.kind !== "infer") misfit(`the override says ${context.kind} but the value is a number`);
      if (!plan.numberOk) misfit(`a number is not allowed here; the shape is ${plan.describe()}`);
      return value;
    case "boolean":
      if (context.kind !== "infer") misfit(`the override says ${context.kind} but the value is a boolean`);
      if (!plan.booleanOk) misfit(`a boolean is not allowed here; the shape is ${plan.describe()}`);
      return value;
    case "object":
      if (value === null) {
        if (context.kind !== "infer") misfit(`the override says ${context.kind} but the value is null`);
        if (!plan.nullOk) misfit(`null is not allowed here; the shape is ${plan.describe()}`);
        return null;
      }
      if (Array.isArray(value)) return decodeArray(value, plan, context);
      return decodeObject(value as Record<string, unknown>, plan, context);
    default:
      return misfit(`${typeof value} is not a JSON value`);
  }
}

function decodeString(text: string, plan: Plan, context: ExportContext): ConvexValue {
  switch (context.kind) {
    case "infer":
      return inferString(text, plan);
    case "int64":
      if (!plan.int64Ok) misfit(overrideMisfit("int64", plan));
      return readInt64(text) ?? misfit(`${quoteForError(text)} is not an int64 (the override says int64)`);
    case "bytes":
      if (!plan.bytesOk) misfit(overrideMisfit("bytes", plan));
      return readBytes(text) ?? misfit(`${quoteForError(text)} is not base64 (the override says bytes)`);
    case "float64Inf":
      return (
        readInfinity(text, plan.posInfOk, plan.negInfOk) ??
        misfit(`${quoteForError(text)} is not an infinity the shape allows (${plan.describe()})`)
      );
    case "float64NaN":
      if (!plan.nanOk) misfit(overrideMisfit("NaN", plan));
      if (text !== "NaN") misfit(`${quoteForError(text)} is not "NaN" (the override says NaN)`);
      return context.value;
    default:
      return misfit(`the override says ${context.kind} but the value is a string`);
  }
}

function overrideMisfit(kind: string, plan: Plan): string {
  return `the override says ${kind} but the shape here is ${plan.describe()}`;
}

function inferString(text: string, plan: Plan): ConvexValue {
  switch (plan.inferString) {
    case "string":
      if (plan.literals !== null && !plan.literals.has(text)) {
        misfit(`${quoteForError(text)} is not allowed here; the shape is ${plan.describe()}`);
      }
      return text;
    case "int64":
      return (
        readInt64(text) ?? misfit(`${quoteForError(text)} is not an int64; the shape is ${plan.describe()}`)
      );
    case "bytes":
      return (
        readBytes(text) ?? misfit(`${quoteForError(text)} is not base64; the shape is ${plan.describe()}`)
      );
    case "inf":
      return (
        readInfinity(text, plan.posInfOk, plan.negInfOk) ??
        misfit(`${quoteForError(text)} is not allowed here; the shape is ${plan.describe()}`)
      );
    case "byContent":
      return readByContent(text, plan);
    case "none":
      return misfit(`a string is not allowed here; the shape is ${plan.describe()}`);
    default:
      return plan.inferString satisfies never;
  }
}

/** Several non-string readings and no override: take the value only if exactly one reading accepts the text. */
function readByContent(text: string, plan: Plan): ConvexValue {
  const readings: ConvexValue[] = [];
  const int64 = plan.int64Ok ? readInt64(text) : undefined;
  if (int64 !== undefined) readings.push(int64);
  const infinity = readInfinity(text, plan.posInfOk, plan.negInfOk);
  if (infinity !== undefined) readings.push(infinity);
  if (plan.nanOk && text === "NaN") readings.push(NaN);
  const bytes = plan.bytesOk ? readBytes(text) : undefined;
  if (bytes !== undefined) readings.push(bytes);
  if (readings.length === 1) return readings[0]!;
  if (readings.length === 0)
    misfit(`${quoteForError(text)} is not allowed here; the shape is ${plan.describe()}`);
  return misfit(
    `${quoteForError(text)} could be read several ways under ${plan.describe()} and the document has no override`,
  );
}

function decodeArray(array: unknown[], plan: Plan, context: ExportContext): ConvexValue[] {
  const element = plan.element;
  if (element === null) misfit(`an array is not allowed here; the shape is ${plan.describe()}`);
  let hints: ExportContext[] | null = null;
  if (context.kind === "array") {
    hints = context.elements;
    if (hints.length !== array.length) {
      misfit(`the override lists ${hints.length} elements but the array has ${array.length}`);
    }
  } else if (context.kind !== "infer") {
    misfit(`the override says ${context.kind} but the value is an array`);
  } else if (element.anything) {
    return array as ConvexValue[]; // unknown elements without an override: nothing to convert or check
  }
  let out: ConvexValue[] | null = null;
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    path.push(i);
    const decoded = decodeValue(item, element, hints !== null ? hints[i]! : INFER);
    path.pop();
    if (decoded !== item) {
      out ??= array.slice() as ConvexValue[];
      out[i] = decoded;
    }
  }
  return out ?? (array as ConvexValue[]);
}

function decodeObject(object: Record<string, unknown>, plan: Plan, context: ExportContext): ConvexObject {
  if (!plan.objectOk) misfit(`an object is not allowed here; the shape is ${plan.describe()}`);
  let hints: ReadonlyMap<string, ExportContext> | null = null;
  if (context.kind === "object") hints = context.fields;
  else if (context.kind !== "infer") misfit(`the override says ${context.kind} but the value is an object`);
  else if (plan.anything) return object as ConvexObject;
  let hintsUsed = 0;
  let out: ConvexObject | null = null;
  let fieldCount = 0;
  let members = plan.members !== null ? plan.members.allMembers : 0; // members the field set still fits
  for (const key in object) {
    const item = object[key];
    path.push(key);
    fieldCount++;
    const field = plan.fields.get(key);
    let fieldPlan: Plan | null;
    if (field !== undefined) {
      fieldPlan = field.plan;
      members &= field.inMembers;
    } else {
      fieldPlan = plan.otherField;
      if (fieldPlan === null) misfit(`the field is not in the table's shape (${truncate(plan.describe())})`);
    }
    let hint = INFER;
    if (hints !== null) {
      const found = hints.get(key);
      if (found !== undefined) {
        hint = found;
        hintsUsed++;
      }
    }
    const decoded = decodeValue(item, fieldPlan, hint);
    path.pop();
    if (decoded !== item) {
      out ??= { ...(object as ConvexObject) };
      setOwn(out, key, decoded);
    }
  }
  if (plan.members !== null) checkMembers(object, fieldCount, members, plan);
  if (hints !== null && hintsUsed !== hints.size) {
    for (const key of hints.keys()) {
      if (!Object.hasOwn(object, key)) {
        path.push(key);
        misfit("the override names this field but the value does not have it");
      }
    }
  }
  return out ?? (object as ConvexObject);
}

/** Throws unless the object has every required field of some member whose fields it stays within. */
function checkMembers(
  object: Record<string, unknown>,
  fieldCount: number,
  members: number,
  plan: Plan,
): void {
  const check = plan.members!;
  // Within member i's fields and as many of them as it has: all of them are present.
  for (let i = 0, m = members; m !== 0; i++, m >>>= 1) {
    if ((m & 1) !== 0 && fieldCount === check.fieldCounts[i]) return;
  }
  let missing: string | undefined;
  for (let i = 0, m = members; m !== 0; i++, m >>>= 1) {
    if ((m & 1) === 0) continue;
    missing = check.required[i]!.find((name) => !Object.hasOwn(object, name));
    if (missing === undefined) return;
  }
  if (missing !== undefined && check.fieldCounts.length === 1) {
    misfit(`the required field "${missing}" is missing; the shape is ${truncate(plan.describe())}`);
  }
  misfit(`the fields do not match any one object shape of ${truncate(plan.describe())}`);
}

function setOwn(object: ConvexObject, key: string, value: ConvexValue): void {
  if (key === "__proto__") Object.defineProperty(object, key, { value, enumerable: true, writable: true });
  else object[key] = value;
}

function truncate(text: string): string {
  return text.length > 200 ? text.slice(0, 197) + "..." : text;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `items[3].price`; a field name that is not an identifier is quoted: `meta["zip code"]`. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}
