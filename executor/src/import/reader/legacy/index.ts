/**
 * Decoder for the legacy Convex snapshot encoding ("clean JSON" + generated_schema.jsonl, exports made
 * before March 2026):
 *
 *   const schema = parseGeneratedSchema(generatedSchemaLines);
 *   for (const line of documentLines) rows.push(decodeLegacyDocument(JSON.parse(line), schema));
 */
export { parseGeneratedSchema, topLevelFields, type LegacyTableSchema } from "./schema.js";
export { decodeLegacyDocument } from "./decode.js";
export { LegacyDecodeError, LegacyShapeError } from "./errors.js";
export { parseShape, printShape, type Shape } from "./shape.js";
export { parseExportContext, type ExportContext } from "./context.js";
