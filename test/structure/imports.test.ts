import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

// The import graph of src/, read from the source text: static imports and re-exports,
// type-only ones included (a cycle of types is still a cycle of concepts), and dynamic
// `import("...")`. The layer rule is read from the table in docs/design.md, so the
// document and this test cannot drift apart.

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const src = join(root, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

/** Comments removed, so an import quoted in a comment is not counted. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

const IMPORT_PATTERNS = [
  // import x from "..."; import type { a } from "..."; export { a } from "..."; export * from "..."
  /^\s*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/gm,
  // import "...";
  /^\s*import\s*["']([^"']+)["']/gm,
  // import("...")
  /\bimport\(\s*["']([^"']+)["']\s*\)/g,
];

interface Edge {
  from: string;
  to: string;
}

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(src)) {
    const text = withoutComments(readFileSync(file, "utf8"));
    const targets = new Set<string>();
    for (const pattern of IMPORT_PATTERNS) {
      for (const match of text.matchAll(pattern)) {
        const specifier = match[1]!;
        if (!specifier.startsWith(".")) continue;
        const target = resolve(dirname(file), specifier);
        assert.ok(existsSync(target), `${rel(file)} imports ${specifier}, which does not exist`);
        targets.add(target);
      }
    }
    graph.set(file, [...targets]);
  }
  return graph;
}

const rel = (file: string) => relative(src, file);

/** The folder of a file under src/: its first path segment, so src/config.ts and src/config/ are one. */
function folderOf(file: string): string {
  return rel(file).split("/")[0]!.replace(/\.ts$/, "");
}

/** One cycle of `graph`, as a path that ends where it starts, or undefined. */
function findCycle<T>(graph: Map<T, Iterable<T>>): T[] | undefined {
  const state = new Map<T, "open" | "done">();
  const path: T[] = [];
  const visit = (node: T): T[] | undefined => {
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") return [...path.slice(path.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    path.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of graph.keys()) {
    if (state.has(node)) continue;
    const found = visit(node);
    if (found) return found;
  }
  return undefined;
}

/** Every cycle, one per strongly connected component, so a failure lists them all at once. */
function allCycles<T>(graph: Map<T, Iterable<T>>): T[][] {
  const cycles: T[][] = [];
  const remaining = new Map(graph);
  for (;;) {
    const cycle = findCycle(remaining);
    if (!cycle) return cycles;
    cycles.push(cycle);
    // Drop the cycle's first edge and look again: the next cycle found is another one.
    const [a, b] = cycle as [T, T];
    remaining.set(a, [...(remaining.get(a) ?? [])].filter((n) => n !== b));
  }
}

/** The layers of docs/design.md's table: folder -> layer number. */
function layerRule(): Map<string, number> {
  const design = readFileSync(join(root, "docs", "design.md"), "utf8");
  const layers = new Map<string, number>();
  for (const match of design.matchAll(/^\|\s*(\d+)\s*\|\s*`src\/([\w-]+)(?:\/|\.ts)`/gm)) {
    layers.set(match[2]!, Number(match[1]));
  }
  assert.ok(layers.size > 0, "docs/design.md has no layer table (rows like | 3 | `src/storage/` | ...)");
  return layers;
}

describe("the import graph of src/", () => {
  const graph = importGraph();

  it("has no cycle between files", () => {
    const cycles = allCycles(graph);
    assert.deepEqual(
      cycles.map((cycle) => cycle.map(rel).join(" -> ")),
      [],
      "files that import each other, directly or around a loop",
    );
  });

  const folderEdges: Edge[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      if (folderOf(file) !== folderOf(target)) folderEdges.push({ from: file, to: target });
    }
  }

  it("has no cycle between folders", () => {
    const folders = new Map<string, Set<string>>();
    for (const { from, to } of folderEdges) {
      const set = folders.get(folderOf(from)) ?? new Set<string>();
      set.add(folderOf(to));
      folders.set(folderOf(from), set);
    }
    const cycles = allCycles(folders).map((cycle) =>
      cycle
        .slice(1)
        .map((to, i) => {
          const from = cycle[i]!;
          const witness = folderEdges.find((e) => folderOf(e.from) === from && folderOf(e.to) === to)!;
          return `${from} -> ${to} (${rel(witness.from)} imports ${rel(witness.to)})`;
        })
        .join(", "),
    );
    assert.deepEqual(cycles, [], "folders that import each other, directly or around a loop");
  });

  it("keeps the layer rule of docs/design.md: a folder imports only folders of lower layers", () => {
    const layers = layerRule();
    const unknown = [...new Set([...graph.keys()].map(folderOf))].filter((folder) => !layers.has(folder));
    assert.deepEqual(unknown, [], "folders of src/ missing from the layer table in docs/design.md");
    const upward = folderEdges
      .filter(({ from, to }) => layers.get(folderOf(to))! >= layers.get(folderOf(from))!)
      .map(({ from, to }) => {
        const [a, b] = [folderOf(from), folderOf(to)];
        return `${a} (layer ${layers.get(a)}) -> ${b} (layer ${layers.get(b)}): ${rel(from)} imports ${rel(to)}`;
      });
    assert.deepEqual(upward, [], "imports of a folder in the same or a higher layer");
  });

  it("declares the seams once, in src/seams.ts: the `{ tell(...) }` shape and every name it exports", () => {
    const seams = readFileSync(join(src, "seams.ts"), "utf8");
    const names = [...seams.matchAll(/^export (?:interface|type|function|class|const) (\w+)/gm)].map((m) => m[1]!);
    assert.ok(names.includes("ClientLink") && names.includes("Tell"), "src/seams.ts exports ClientLink and Tell");
    const declaration = new RegExp(`^export (?:interface|type|function|class|const) (${names.join("|")})\\b`, "gm");
    const elsewhere = [...graph.keys()]
      .filter((file) => rel(file) !== "seams.ts")
      .flatMap((file) => {
        const text = withoutComments(readFileSync(file, "utf8"));
        const found = [...text.matchAll(declaration)].map((m) => `${rel(file)} declares ${m[1]}`);
        if (/\{\s*tell\(/.test(text)) found.push(`${rel(file)} declares a { tell(...) } type: use Tell<Msg> / TellIfActive<Msg>`);
        return found;
      });
    assert.deepEqual(elsewhere, [], "seam types declared outside src/seams.ts");
  });
});
