/**
 * Media over HTTP (docs/protocol.md, Media): what a mobile client does with its platform's
 * HTTP stack. `base` is the node's http(s)://host:port; tokens are the WebSocket's.
 */
import type { MediaRef } from "./frames.ts";

export class MediaError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

async function failure(response: Response): Promise<MediaError> {
  const text = await response.text();
  try {
    const { code, msg } = JSON.parse(text) as { code: string; msg: string };
    return new MediaError(response.status, code, msg);
  } catch {
    return new MediaError(response.status, "http", text);
  }
}

/** Uploads `bytes` (encrypt them first in an encrypted chat) and returns the reference to send. */
export async function uploadMedia(base: string, token: string, bytes: Uint8Array, mime: string): Promise<MediaRef> {
  const response = await fetch(`${base}/media`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": mime },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  if (response.status !== 201) throw await failure(response);
  return (await response.json()) as MediaRef;
}

/**
 * Downloads an object, resuming from `have` (bytes already held) when given: the answer is
 * only the rest, to append.
 */
export async function downloadMedia(base: string, token: string, id: string, have = 0): Promise<Uint8Array> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (have > 0) headers.range = `bytes=${have}-`;
  const response = await fetch(`${base}/media/${id}`, { headers });
  if (response.status !== 200 && response.status !== 206) throw await failure(response);
  return new Uint8Array(await response.arrayBuffer());
}
