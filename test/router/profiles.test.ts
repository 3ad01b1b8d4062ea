import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { RequestError, type RouterClient } from "../../sdk/client.ts";
import { downloadMedia, MediaError, uploadMedia } from "../../sdk/media.ts";
import { dropKeyspace, keyspaceFor, testBackend } from "../support/backend.ts";
import { TestNode, tempDir, tokenFor } from "../support/node.ts";

const isCode = (code: string) => (error: unknown) => error instanceof RequestError && error.code === code;
const isHttp = (status: number) => (error: unknown) => error instanceof MediaError && error.status === status;

describe("profiles", () => {
  const dataDir = tempDir();
  let node: TestNode | undefined;
  const open: RouterClient[] = [];
  async function connect(user: string): Promise<RouterClient> {
    const client = await node!.connect(user);
    open.push(client);
    return client;
  }
  before(async () => {
    node = await TestNode.start({ dataDir });
  });
  after(async () => {
    await Promise.all(open.map((client) => client.close()));
    await node?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (testBackend() === "cql") await dropKeyspace(keyspaceFor(dataDir));
  });

  it("are set within limits, changed field by field, and kept across restarts", async () => {
    const ada = await connect("pf-ada");
    assert.deepEqual({ ...(await ada.getProfile("pf-ada")), r: 0 }, { t: "profile", r: 0, user: "pf-ada" });
    await assert.rejects(ada.setProfile({ name: "x".repeat(65) }), isCode("invalid_field"));
    await assert.rejects(ada.setProfile({ about: "x".repeat(141) }), isCode("invalid_field"));
    await assert.rejects(ada.setProfile({ name: "a\nb" }), isCode("invalid_field"));
    await assert.rejects(ada.request({ t: "profile.set", name: 7 }), isCode("invalid_field"));
    await assert.rejects(ada.setProfile({ photo: "not-a-media-id" }), isCode("invalid_field"));
    await assert.rejects(ada.request({ t: "profile.get", user: "" }), isCode("invalid_field"));

    const set = await ada.setProfile({ name: "x".repeat(64), about: "y".repeat(140) });
    assert.deepEqual({ ...set, r: 0 }, { t: "profile", r: 0, user: "pf-ada", name: "x".repeat(64), about: "y".repeat(140) });
    const changed = await ada.setProfile({ name: "Ada" });
    assert.deepEqual([changed.name, changed.about], ["Ada", "y".repeat(140)]);
    const cleared = await ada.setProfile({ about: "" });
    assert.deepEqual({ ...cleared, r: 0 }, { t: "profile", r: 0, user: "pf-ada", name: "Ada" });

    const base = node!.httpUrl;
    const bob = await connect("pf-bob");
    // Someone else's upload is not a photo of yours.
    const bobs = await uploadMedia(base, await tokenFor("pf-bob", undefined, node!.config.secret), new Uint8Array([9, 9]), "image/png");
    await assert.rejects(ada.setProfile({ photo: bobs.id }), isCode("invalid_field"));
    await assert.rejects(ada.setProfile({ photo: "0".repeat(32) }), isCode("invalid_field"));
    const adaToken = await tokenFor("pf-ada", undefined, node!.config.secret);
    const photo = await uploadMedia(base, adaToken, new Uint8Array([1, 2, 3]), "image/jpeg");
    const bobToken = await tokenFor("pf-bob", undefined, node!.config.secret);
    // Not yet her photo: bob, who shares no chat with her, cannot fetch it.
    await assert.rejects(downloadMedia(base, bobToken, photo.id), isHttp(403));
    assert.equal((await ada.setProfile({ photo: photo.id })).photo, photo.id);

    // Everyone (the default) sees the profile and may download its photo.
    assert.deepEqual({ ...(await bob.getProfile("pf-ada")), r: 0 }, { t: "profile", r: 0, user: "pf-ada", name: "Ada", photo: photo.id });
    assert.deepEqual([...(await downloadMedia(base, bobToken, photo.id))], [1, 2, 3]);

    await ada.close();
    await node!.stop();
    node = await TestNode.start({ dataDir });
    const again = await connect("pf-ada");
    assert.deepEqual({ ...(await again.getProfile("pf-ada")), r: 0 }, { t: "profile", r: 0, user: "pf-ada", name: "Ada", photo: photo.id });
  });

  it("shows the profile to contacts only under `contacts`", async () => {
    const eve = await connect("pf-eve");
    const friend = await connect("pf-friend");
    const stranger = await connect("pf-stranger");
    await eve.setProfile({ name: "Eve" });
    assert.equal((await eve.setPrivacy({ profile: "contacts" })).profile, "contacts");
    await eve.addContacts(["pf-friend"]);
    assert.equal((await friend.getProfile("pf-eve")).name, "Eve");
    assert.deepEqual({ ...(await stranger.getProfile("pf-eve")), r: 0 }, { t: "profile", r: 0, user: "pf-eve" });
    // Being in the stranger's contacts is not the same as being in Eve's.
    await stranger.addContacts(["pf-eve"]);
    assert.equal((await stranger.getProfile("pf-eve")).name, undefined);
  });

  it("shows nothing but the user id to others when `profile` is nobody, photo included", async () => {
    const cy = await connect("pf-cy");
    const dee = await connect("pf-dee");
    const base = node!.httpUrl;
    const photo = await uploadMedia(base, await tokenFor("pf-cy", undefined, node!.config.secret), new Uint8Array([4, 5]), "image/png");
    await cy.setProfile({ name: "Cy", about: "busy", photo: photo.id });
    const deeToken = await tokenFor("pf-dee", undefined, node!.config.secret);
    assert.equal((await dee.getProfile("pf-cy")).name, "Cy");
    assert.deepEqual([...(await downloadMedia(base, deeToken, photo.id))], [4, 5]);

    await assert.rejects(cy.request({ t: "privacy.set", profile: "friends" }), isCode("invalid_field"));
    assert.equal((await cy.setPrivacy({ profile: "nobody" })).profile, "nobody");
    assert.deepEqual({ ...(await dee.getProfile("pf-cy")), r: 0 }, { t: "profile", r: 0, user: "pf-cy" });
    await assert.rejects(downloadMedia(base, deeToken, photo.id), isHttp(403));
    // The owner still sees all of it.
    assert.deepEqual({ ...(await cy.getProfile("pf-cy")), r: 0 }, { t: "profile", r: 0, user: "pf-cy", name: "Cy", about: "busy", photo: photo.id });

    await cy.setPrivacy({ profile: "everyone" });
    assert.equal((await dee.getProfile("pf-cy")).about, "busy");
    // Never a user the owner blocked, even with `everyone`.
    await cy.block("pf-dee");
    assert.deepEqual({ ...(await dee.getProfile("pf-cy")), r: 0 }, { t: "profile", r: 0, user: "pf-cy" });
    await assert.rejects(downloadMedia(base, deeToken, photo.id), isHttp(403));
    await cy.unblock("pf-dee");
    assert.equal((await dee.getProfile("pf-cy")).name, "Cy");
    // A photo replaced is no longer readable through the profile.
    await cy.setProfile({ photo: "" });
    await assert.rejects(downloadMedia(base, deeToken, photo.id), isHttp(403));
  });
});
