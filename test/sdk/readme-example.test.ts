import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { tenLines } from "../../sdk/examples/ten-lines.ts";
import { TestNode, tokenFor } from "../support/node.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const EXAMPLE = "sdk/examples/ten-lines.ts";

describe("the README's SDK in ten lines", () => {
  let node: TestNode;
  before(async () => {
    node = await TestNode.start();
  });
  after(() => node.stop());

  it("is sdk/examples/ten-lines.ts, as an app imports the package", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const block = readme.split(`<!-- ${EXAMPLE} -->\n\`\`\`ts\n`)[1]?.split("```")[0];
    assert.ok(block, `README.md has a ts block after <!-- ${EXAMPLE} -->`);
    const example = readFileSync(join(root, EXAMPLE), "utf8").replace(
      'import { ChatClient } from "../index.ts";',
      'import { ChatClient } from "@router/sdk"; // on Node 20: "@router/sdk/node"',
    );
    assert.equal(block, example);
  });

  it("runs against a node: bob gets the message, the log tells the story", async () => {
    const bob = await node.connect("bob");
    const log: string[] = [];
    await tenLines(node.url, () => tokenFor("alice"), (line: string) => log.push(line));
    assert.equal(String((await bob.waitForMessages(1))[0]!.body), "hi bob");
    assert.deepEqual(log, ["connection connecting", "connection ready", "stored as d:alice:bob #1", "connection stopped"]);
    await bob.close();
  });
});
