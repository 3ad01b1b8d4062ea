import { createHash, randomBytes } from "node:crypto";
import type { MediaRef } from "../../src/protocol/frames.ts";
import { tokenFor, type TestNode } from "../support/node.ts";

export interface Uploaded {
  id: string;
  mime: string;
  size: number;
  sha256: string;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Bytes whose every offset is recognisable, so a wrong range shows in a diff. */
export function sampleBytes(size: number): Buffer {
  return randomBytes(size);
}

export async function auth(node: TestNode, user: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await tokenFor(user, undefined, node.config.secret)}` };
}

export async function upload(node: TestNode, user: string, bytes: Uint8Array, mime = "image/jpeg"): Promise<Uploaded> {
  const response = await fetch(`${node.httpUrl}/media`, {
    method: "POST",
    headers: { ...(await auth(node, user)), "content-type": mime },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  if (response.status !== 201) throw new Error(`upload answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Uploaded;
}

export function ref(uploaded: Uploaded, thumb?: Uint8Array): MediaRef {
  return { id: uploaded.id, mime: uploaded.mime, size: uploaded.size, sha256: uploaded.sha256, ...(thumb ? { thumb } : {}) };
}

export async function download(node: TestNode, user: string | undefined, id: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${node.httpUrl}/media/${id}`, { headers: { ...(user ? await auth(node, user) : {}), ...headers } });
}
