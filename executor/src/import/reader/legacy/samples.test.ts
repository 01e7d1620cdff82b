import { beforeAll, describe, expect, it } from "vitest";
import type { ConvexObject } from "../../values.js";
import { decodeLegacyDocument } from "./decode.js";
import {
  jsonlLines,
  LEGACY_SAMPLE_ZIPS,
  SAMPLE_ROWS,
  legacyTables,
  readZipTexts,
} from "../../../../../test/fixtures/legacy-sample-zips.js";
import { parseGeneratedSchema, topLevelFields } from "./schema.js";

type Zip = keyof typeof LEGACY_SAMPLE_ZIPS;

/** Decoded documents by zip, then table. */
const decoded = new Map<Zip, Map<string, ConvexObject[]>>();
/** The same documents, plainly parsed. */
const parsed = new Map<Zip, Map<string, Record<string, unknown>[]>>();

beforeAll(async () => {
  for (const zip of Object.keys(LEGACY_SAMPLE_ZIPS) as Zip[]) {
    const texts = await readZipTexts(LEGACY_SAMPLE_ZIPS[zip]);
    const tables = new Map<string, ConvexObject[]>();
    const plain = new Map<string, Record<string, unknown>[]>();
    for (const table of legacyTables(texts)) {
      const schema = parseGeneratedSchema(texts.get(`${table}/generated_schema.jsonl`)!.split("\n"));
      const lines = jsonlLines(texts.get(`${table}/documents.jsonl`)!);
      plain.set(
        table,
        lines.map((line) => JSON.parse(line) as Record<string, unknown>),
      );
      tables.set(
        table,
        lines.map((line) => decodeLegacyDocument(JSON.parse(line) as Record<string, unknown>, schema)),
      );
    }
    decoded.set(zip, tables);
    parsed.set(zip, plain);
  }
});

function rows(zip: Zip): Record<string, number> {
  return Object.fromEntries([...decoded.get(zip)!].map(([table, docs]) => [table, docs.length]));
}

describe("every document of the real legacy samples decodes against its table's shape", () => {
  it("counts the rows per table", () => {
    expect(rows("anoukDev")).toEqual(SAMPLE_ROWS.anoukDev);
    expect(rows("anoukBackup")).toEqual(SAMPLE_ROWS.anoukBackup);
    expect(rows("cronJobsDemo")).toEqual({ messages: 0 });
  });

  it("keeps every value as JSON.parse read it (these apps store no int64, bytes or special floats)", () => {
    for (const [zip, tables] of decoded) {
      for (const [table, docs] of tables) {
        expect(docs, `${zip}/${table}`).toEqual(parsed.get(zip)!.get(table));
      }
    }
  });

  it("reads known values", () => {
    const pablo = decoded
      .get("anoukBackup")!
      .get("profiles")!
      .find((doc) => doc._id === "k9725mndz2ce7erp6ydnt2razs7ecgvh");
    expect(pablo).toMatchObject({ _creationTime: 1745162255495.581, hardMode: false, name: "Pablo" });

    const exercise = decoded.get("anoukDev")!.get("exercises")![0]!;
    expect(exercise).toEqual({
      _creationTime: 1746223928974.479,
      _id: "jx700cpy0z712gjmx8pwxxybgn7f5qcz",
      mode: "fill_in_blank",
      order: 37,
      sentenceId: "kd7dn8f4vgkeyqq3yvqcnf2etd7f4ham",
    });

    const sentences = decoded.get("anoukDev")!.get("sentences")!;
    const byType = new Map<string, number>();
    for (const doc of sentences) byType.set(doc.type as string, (byType.get(doc.type as string) ?? 0) + 1);
    expect(Object.fromEntries(byType)).toEqual({
      anecdote: 18,
      classic_sentence: 21,
      favourite_sentence: 35,
    });
    expect(sentences[0]!.distractorWords).toEqual(["Temazo", "Temita", "Temón", "Temarrote", "Temático"]);
  });

  it("plans the sentences columns from the union of its seven object shapes", async () => {
    const texts = await readZipTexts(LEGACY_SAMPLE_ZIPS.anoukDev);
    const schema = parseGeneratedSchema(texts.get("sentences/generated_schema.jsonl")!.split("\n"));
    const fields = topLevelFields(schema.shape);
    expect([...fields.keys()].sort()).toEqual([
      "_creationTime",
      "_id",
      "addedBy",
      "audioUrl",
      "blankWordIndices",
      "distractorWords",
      "explanation",
      "explanationTranslated",
      "text",
      "translation",
      "type",
    ]);
    expect([...fields.get("blankWordIndices")!]).toEqual(["array"]);
    expect([...fields.get("_creationTime")!]).toEqual(["float64"]);
    // Every field any document has is one the plan knows.
    for (const doc of decoded.get("anoukDev")!.get("sentences")!) {
      for (const key of Object.keys(doc)) expect(fields.has(key), key).toBe(true);
    }
  });
});
