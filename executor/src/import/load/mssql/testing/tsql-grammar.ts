/**
 * An independent T-SQL syntax check for tests: the grammars-v4 TSqlParser (TSqlLexer.g4 / TSqlParser.g4) as
 * compiled by the npm package antlr4ts-sql. `tsqlSyntaxErrors(text)` parses a whole batch (rule `tsql_file`)
 * and returns every lexer and parser error, empty when the text parses.
 *
 * antlr4ts-sql 1.1.0 requires deep paths like `antlr4ts/Lexer`, which only the 0.5.0-alpha releases have (0.5.0-dev
 * keeps them under `dist/` and its index cannot be loaded); package.json's `overrides` pins antlr4ts to
 * 0.5.0-alpha.4, which npm installs beside antlr4ts-sql, so both are required from there.
 */
import { createRequire } from "node:module";

interface SyntaxListener {
  syntaxError(recognizer: unknown, offending: unknown, line: number, column: number, message: string): void;
}
interface Recognizer {
  removeErrorListeners(): void;
  addErrorListener(listener: SyntaxListener): void;
}

function antlr() {
  const require = createRequire(createRequire(import.meta.url).resolve("antlr4ts-sql"));
  const dist = "./src";
  return {
    ANTLRInputStream: (
      require("antlr4ts/ANTLRInputStream") as { ANTLRInputStream: new (s: string) => unknown }
    ).ANTLRInputStream,
    CommonTokenStream: (
      require("antlr4ts/CommonTokenStream") as { CommonTokenStream: new (l: unknown) => unknown }
    ).CommonTokenStream,
    // The grammar's keywords are upper case; this stream shows the lexer upper-cased characters (ANTLR's way).
    CaseChangingStream: (
      require(`${dist}/models/CaseChangingStream`) as {
        CaseChangingStream: new (s: unknown, upper: boolean) => unknown;
      }
    ).CaseChangingStream,
    TSqlLexer: (
      require(`${dist}/grammar-output/tsql/TSqlLexer`) as { TSqlLexer: new (s: unknown) => Recognizer }
    ).TSqlLexer,
    TSqlParser: (
      require(`${dist}/grammar-output/tsql/TSqlParser`) as {
        TSqlParser: new (t: unknown) => Recognizer & { tsql_file(): unknown };
      }
    ).TSqlParser,
  };
}

export function tsqlSyntaxErrors(text: string): string[] {
  const { ANTLRInputStream, CommonTokenStream, CaseChangingStream, TSqlLexer, TSqlParser } = antlr();
  const errors: string[] = [];
  const listener: SyntaxListener = {
    // ANTLR lists every token it expected: keep the start of the message.
    syntaxError: (_recognizer, _offending, line, column, message) =>
      errors.push(`${line}:${column} ${message.slice(0, 160)}`),
  };
  const lexer = new TSqlLexer(new CaseChangingStream(new ANTLRInputStream(text), true));
  lexer.removeErrorListeners();
  lexer.addErrorListener(listener);
  const parser = new TSqlParser(new CommonTokenStream(lexer));
  parser.removeErrorListeners();
  parser.addErrorListener(listener);
  parser.tsql_file();
  return errors;
}
