/**
 * A shape compiled, once per table, into a tree of "plans": for every position in a document (a field path,
 * with `[]` for array elements) what JSON values may appear there and how a JSON string is read.
 *
 * Mirrors `ExportContext::apply` in get-convex/convex-backend `crates/shape_inference/src/export_context.rs`:
 * the shapes at a position are the union, over every member of the enclosing shape, of what that member
 * says for the position (object members contribute the field's shape, records their value shape, `unknown`
 * itself). Convex's exporter used exactly this union to decide which documents need an override, so the
 * decoder must not narrow it (e.g. by guessing which union member a document "is"), or it could read a
 * string as an int64 that the exporter deliberately left as a string.
 */
import { printShape, type Shape } from "./shape.js";

/**
 * How a JSON string is read when the document has no override for it:
 * - "string": stays a string (also Convex's choice whenever a string is one of several readings);
 * - "int64" | "inf" | "bytes": the only reading the shape allows, as in Convex;
 * - "byContent": several non-string readings and no override (Convex always writes one here, so this is
 *   only reached by hand-made files); the value is read if exactly one reading accepts its text;
 * - "none": no string may appear here.
 */
export type StringRule = "string" | "int64" | "inf" | "bytes" | "byContent" | "none";

export interface Plan {
  /** `unknown`: any value fits, and without an override nothing in it is converted. */
  readonly anything: boolean;
  readonly nullOk: boolean;
  readonly booleanOk: boolean;
  /** A JSON number (always a float64) may appear: float64, normalfloat64 or -0. */
  readonly numberOk: boolean;
  /** Any string may appear (string, field_name, id<N>). */
  readonly anyString: boolean;
  /** When strings are limited to literals (anyString false): the allowed literals. */
  readonly literals: ReadonlySet<string> | null;
  readonly int64Ok: boolean;
  readonly posInfOk: boolean;
  readonly negInfOk: boolean;
  readonly nanOk: boolean;
  readonly bytesOk: boolean;
  readonly inferString: StringRule;
  /** Without an override any string is kept as is (inferString "string" and no literal list). */
  readonly plainString: boolean;
  /** Plan of array elements; null when no array may appear. */
  readonly element: Plan | null;
  /** Object fields named by some object member of the shape. */
  readonly fields: ReadonlyMap<string, FieldPlan>;
  /** Plan of any other field (records' value shape); null when other fields may not appear. */
  readonly otherField: Plan | null;
  readonly objectOk: boolean;
  /** How to check that an object's field set fits one object member; null when any field set may appear. */
  readonly members: MemberCheck | null;
  /** The shapes at this position, printed, for error messages. */
  describe(): string;
}

export interface FieldPlan {
  readonly plan: Plan;
  /** Bit i set: object member i names this field. */
  readonly inMembers: number;
}

/**
 * The field sets of the object members (at most MAX_CHECKED_MEMBERS): an object fits member i when every
 * field it has is named by member i and it has every field member i requires.
 */
export interface MemberCheck {
  readonly allMembers: number;
  readonly fieldCounts: readonly number[];
  readonly required: readonly (readonly string[])[];
}

/** Convex keeps unions to 16 members; beyond 30 the bit masks run out and the field-set check is skipped. */
const MAX_CHECKED_MEMBERS = 30;

const ALL_KINDS_PLAN: Plan = {
  anything: true,
  nullOk: true,
  booleanOk: true,
  numberOk: true,
  anyString: true,
  literals: null,
  int64Ok: true,
  posInfOk: true,
  negInfOk: true,
  nanOk: true,
  bytesOk: true,
  // Convex: `unknown` allows every string reading, so without an override a string stays a string.
  inferString: "string",
  plainString: true,
  get element(): Plan {
    return ALL_KINDS_PLAN;
  },
  fields: new Map(),
  get otherField(): Plan {
    return ALL_KINDS_PLAN;
  },
  objectOk: true,
  members: null,
  describe: () => "unknown",
};

const planCache = new WeakMap<Shape, Plan>();

/** The plan of a whole table shape, compiled on first use and cached for as long as the shape lives. */
export function planForShape(shape: Shape): Plan {
  let plan = planCache.get(shape);
  if (!plan) {
    plan = compilePlan([shape]);
    planCache.set(shape, plan);
  }
  return plan;
}

type StringReading = "string" | "int64" | "inf" | "nan" | "bytes";

export function compilePlan(shapes: readonly Shape[]): Plan {
  const options: Shape[] = [];
  for (const shape of shapes) {
    if (shape.kind === "union") options.push(...shape.members);
    else options.push(shape);
  }
  if (options.some((o) => o.kind === "atom" && o.atom === "unknown")) return ALL_KINDS_PLAN;

  const atoms = new Set<string>();
  const literals = new Set<string>();
  const readings = new Set<StringReading>();
  const elements: Shape[] = [];
  const objects: Extract<Shape, { kind: "object" }>[] = [];
  const recordValues: Shape[] = [];
  let anyString = false;
  for (const option of options) {
    switch (option.kind) {
      case "atom":
        atoms.add(option.atom);
        break;
      case "literal":
        literals.add(option.value);
        readings.add("string");
        break;
      case "id":
        anyString = true;
        readings.add("string");
        break;
      case "array":
        elements.push(option.element);
        break;
      case "object":
        objects.push(option);
        break;
      case "record":
        recordValues.push(option.value);
        break;
      case "set":
      case "map":
        // Convex Set/Map values cannot be represented; any value here is reported as not fitting.
        break;
      case "union":
        throw new Error("nested union in a parsed shape"); // parseShape flattens unions
      default:
        option satisfies never;
    }
  }
  for (const atom of atoms) {
    switch (atom) {
      case "string":
      case "field_name":
        anyString = true;
        readings.add("string");
        break;
      case "int64":
        readings.add("int64");
        break;
      case "inf":
      case "-inf":
        readings.add("inf");
        break;
      case "NaN":
      case "float64":
        // As in Convex: NaN has many bit patterns, so a float64 position is never inferred from a string.
        readings.add("nan");
        readings.add("inf");
        break;
      case "bytes":
        readings.add("bytes");
        break;
    }
  }

  const fields = new Map<string, FieldPlan>();
  const fieldNames = new Set(objects.flatMap((o) => o.fields.map((f) => f.name)));
  for (const name of fieldNames) {
    const fieldShapes: Shape[] = [];
    let inMembers = 0;
    objects.forEach((object, i) => {
      const field = object.fields.find((f) => f.name === name);
      if (field === undefined) return;
      fieldShapes.push(field.shape);
      if (i < MAX_CHECKED_MEMBERS) inMembers |= 1 << i;
    });
    fields.set(name, { plan: compilePlan([...fieldShapes, ...recordValues]), inMembers });
  }
  const checkMembers =
    objects.length > 0 && objects.length <= MAX_CHECKED_MEMBERS && recordValues.length === 0;

  const inferString = stringRule(readings);
  const literalList = !anyString && literals.size > 0 ? literals : null;
  return {
    anything: false,
    nullOk: atoms.has("null"),
    booleanOk: atoms.has("boolean"),
    numberOk: atoms.has("float64") || atoms.has("normalfloat64") || atoms.has("-0"),
    anyString,
    literals: literalList,
    int64Ok: atoms.has("int64"),
    posInfOk: atoms.has("inf") || atoms.has("float64"),
    negInfOk: atoms.has("-inf") || atoms.has("float64"),
    nanOk: atoms.has("NaN") || atoms.has("float64"),
    bytesOk: atoms.has("bytes"),
    inferString,
    plainString: inferString === "string" && literalList === null,
    element: elements.length > 0 ? compilePlan(elements) : null,
    fields,
    otherField: recordValues.length > 0 ? compilePlan(recordValues) : null,
    objectOk: objects.length > 0 || recordValues.length > 0,
    members: checkMembers
      ? {
          allMembers: 2 ** objects.length - 1,
          fieldCounts: objects.map((o) => o.fields.length),
          required: objects.map((o) => o.fields.filter((f) => !f.optional).map((f) => f.name)),
        }
      : null,
    describe: () => (options.length === 0 ? "never" : options.map(printShape).join(" | ")),
  };
}

function stringRule(readings: ReadonlySet<StringReading>): StringRule {
  if (readings.size === 0) return "none";
  if (readings.has("string")) return "string";
  if (readings.size > 1) return "byContent";
  const [only] = readings;
  return only === "nan" ? "byContent" : only!;
}
