/**
 * Splits a CQL script into statements on `;`, skipping `--`, `//` and block comments and
 * leaving `;` inside quoted strings, quoted identifiers and $$-strings alone. The driver runs
 * one statement per request.
 */
export function splitCqlStatements(script: string): string[] {
  const statements: string[] = [];
  let current = "";
  let i = 0;
  const flush = (): void => {
    const statement = current.trim();
    if (statement) statements.push(statement);
    current = "";
  };
  while (i < script.length) {
    const rest = script.slice(i, i + 2);
    if (rest === "--" || rest === "//") {
      const end = script.indexOf("\n", i);
      i = end === -1 ? script.length : end;
    } else if (rest === "/*") {
      const end = script.indexOf("*/", i + 2);
      if (end === -1) throw new SyntaxError("unterminated /* comment in CQL script");
      i = end + 2;
      current += " ";
    } else if (rest === "$$") {
      const end = script.indexOf("$$", i + 2);
      if (end === -1) throw new SyntaxError("unterminated $$ string in CQL script");
      current += script.slice(i, end + 2);
      i = end + 2;
    } else if (script[i] === "'" || script[i] === '"') {
      const end = closingQuote(script, i);
      current += script.slice(i, end + 1);
      i = end + 1;
    } else if (script[i] === ";") {
      flush();
      i += 1;
    } else {
      current += script[i];
      i += 1;
    }
  }
  flush();
  return statements;
}

// A quote inside a CQL string or quoted identifier is written twice ('it''s').
function closingQuote(script: string, open: number): number {
  const quote = script[open];
  for (let i = open + 1; i < script.length; i++) {
    if (script[i] !== quote) continue;
    if (script[i + 1] === quote) {
      i += 1;
      continue;
    }
    return i;
  }
  throw new SyntaxError(`unterminated ${quote} in CQL script`);
}
