/**
 * Decoding cost per document, against JSON.parse alone
 * (run: `npx vitest bench --run --project node executor/src/import/reader/legacy`).
 * Measured on the 2-core dev machine under load (2026-11): a sentences document (11 fields, arrays, nothing
 * to convert) costs about 1.2 µs to JSON.parse and 0.3 to 0.8 µs more to decode; a 7-field document with five
 * int64 values and one bytes value about 0.8 µs to parse and 0.5 to 1.5 µs more to decode.
 */
import { bench, describe } from "vitest";
import { decodeLegacyDocument } from "./decode.js";
import {
  jsonlLines,
  LEGACY_SAMPLE_ZIPS,
  readZipTexts,
} from "../../../../../test/fixtures/legacy-sample-zips.js";
import { parseGeneratedSchema } from "./schema.js";

const texts = await readZipTexts(LEGACY_SAMPLE_ZIPS.anoukDev);
const sentences = parseGeneratedSchema(texts.get("sentences/generated_schema.jsonl")!.split("\n"));
const sentenceLines = jsonlLines(texts.get("sentences/documents.jsonl")!);

const numeric = parseGeneratedSchema([
  JSON.stringify(
    '{"_creationTime": normalfloat64, "_id": id<10001>, "a": int64, "b": int64, "c": array<int64>, "d": string, "e": bytes}',
  ),
]);
const numericLine = JSON.stringify({
  _creationTime: 1745162255495.581,
  _id: "jd7a1kbdvfh4ak8mcrmb8k9tm57c8y1w",
  a: "123456789",
  b: "-5",
  c: ["1", "2", "3"],
  d: "hello",
  e: "AQIDBA==",
});

let i = 0;
describe("sentences table (nothing to convert)", () => {
  bench("JSON.parse", () => {
    JSON.parse(sentenceLines[i++ % sentenceLines.length]!);
  });
  bench("JSON.parse + decodeLegacyDocument", () => {
    decodeLegacyDocument(JSON.parse(sentenceLines[i++ % sentenceLines.length]!), sentences);
  });
});

describe("int64/bytes document", () => {
  bench("JSON.parse", () => {
    JSON.parse(numericLine);
  });
  bench("JSON.parse + decodeLegacyDocument", () => {
    decodeLegacyDocument(JSON.parse(numericLine) as Record<string, unknown>, numeric);
  });
});
