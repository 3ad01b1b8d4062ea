import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { API } from "typescript/unstable/sync";
import { SyntaxKind, type Node, type SourceFile } from "typescript/unstable/ast";

// No function in src/ is longer than MAX_LINES, counted from its first line to its closing
// brace, nested functions included (a long closure is the weight this keeps out). A function
// may stay longer when the line just above it (or its doc comment) says why: `// long: <why>`.
// The syntax tree comes from the TypeScript compiler's own API (a TypeScript 7 "unstable"
// entry point: if an upgrade moves it, this test is what to fix, not the rule).

const MAX_LINES = 80;


const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const FUNCTION_KINDS = new Set<SyntaxKind>([
  SyntaxKind.FunctionDeclaration,
  SyntaxKind.FunctionExpression,
  SyntaxKind.ArrowFunction,
  SyntaxKind.MethodDeclaration,
  SyntaxKind.Constructor,
  SyntaxKind.GetAccessor,
  SyntaxKind.SetAccessor,
]);

interface LongFunction {
  /** `src/path.ts name`. */
  key: string;
  line: number;
  lines: number;
  excused: boolean;
}

/** The name a function goes by: its own, or the variable or property it is assigned to. */
function nameOf(node: Node): string {
  for (const candidate of [node, node.parent]) {
    const name = (candidate as { name?: { text?: string } }).name;
    if (typeof name?.text === "string") return name.text;
  }
  return "(anonymous)";
}

/** Whether `// long: <why>` is among the comment lines right above `line` (0-based). */
function excused(lines: readonly string[], line: number): boolean {
  for (let i = line - 1; i >= 0; i--) {
    const text = lines[i]!.trim();
    if (!/^(\/\/|\/\*|\*)/.test(text)) return false;
    if (/^\/\/ long: \S/.test(text)) return true;
  }
  return false;
}

function longFunctions(file: string, source: SourceFile): LongFunction[] {
  const text = source.text;
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const lineOf = (pos: number) => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (lineStarts[mid]! <= pos) low = mid;
      else high = mid - 1;
    }
    return low;
  };
  const lines = text.split("\n");
  const found: LongFunction[] = [];
  const visit = (node: Node): void => {
    if (FUNCTION_KINDS.has(node.kind) && (node as { body?: Node }).body) {
      const first = lineOf(node.getStart(source));
      const count = lineOf(node.end - 1) - first + 1;
      if (count > MAX_LINES) {
        found.push({ key: `${relative(root, file)} ${nameOf(node)}`, line: first + 1, lines: count, excused: excused(lines, first) });
      }
    }
    node.forEachChild(visit);
  };
  visit(source);
  return found;
}

describe(`functions in src/ (at most ${MAX_LINES} lines, or a \`// long:\` comment saying why)`, () => {
  const api = new API({ cwd: root });
  after(() => api.close());
  const project = api.updateSnapshot({ openProjects: [join(root, "tsconfig.json")] }).getProjects()[0]!;
  const sources = project.program.getSourceFileNames().filter((file) => file.startsWith(join(root, "src") + "/"));
  const long = sources.flatMap((file) => longFunctions(file, project.program.getSourceFile(file)!));

  it("reads the source files of src/", () => {
    assert.ok(sources.length > 50, `only ${sources.length} files of src/ found: is tsconfig.json's include still src/?`);
  });

  it("has no long function without a reason", () => {
    const unexcused = long.filter((fn) => !fn.excused).map((fn) => `${fn.key} (line ${fn.line}): ${fn.lines} lines`);
    assert.deepEqual(unexcused, [], `split these, or say why above each: // long: <why>`);
  });
});
