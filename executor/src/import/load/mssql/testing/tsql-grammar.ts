/**
 * An independent T-SQL syntax check for tests: the grammars-v4 TSqlParser (TSqlLexer.g4 / TSqlParser.g4) as
 * compiled by the npm package antlr4ts-sql. `tsqlSyntaxErrors(text)` parses a whole batch (rule `tsql_file`)
 * and returns every lexer and parser error, empty when the text parses.
 *
 * antlr4ts-sql 1.1.0 asks for `antlr4ts@^0.5.0-alpha.4` and requires deep paths like `antlr4ts/Lexer`; npm
 * resolves that range to 0.5.0-dev, which keeps those files under `dist/` (and whose index cannot be loaded:
 * XPathLexer extends Lexer before Lexer is defined). A resolve hook sends such a path to `dist/` when it does not
 * resolve as written, so this works with either layout.
 */
import { createRequire, registerHooks } from "node:module";

interface SyntaxListener {
  syntaxError(recognizer: unknown, offending: unknown, line: number, column: number, message: string): void;
}
interface Recognizer {
  removeErrorListeners(): void;
  addErrorListener(listener: SyntaxListener): void;
}

let hooked = false;
function antlr() {
  if (!hooked) {
    registerHooks({
      resolve(specifier, context, nextResolve) {
        try {
          return nextResolve(specifier, context);
        } catch (err) {
          const deep = /^antlr4ts\/(?!dist\/)(.+)$/.exec(specifier);
          if (!deep) throw err;
          return nextResolve(`antlr4ts/dist/${deep[1]}`, context);
        }
      },
    });
    hooked = true;
  }
  const require = createRequire(import.meta.url);
  const dist = "antlr4ts-sql/dist/src";
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
