import { join } from "node:path";
import type { NodeConfig } from "../../config.ts";
import type { MediaStore } from "../media.ts";
import { FileMediaStore } from "./file-media-store.ts";

/** The configured media store. Independent of the message backend on purpose. */
export async function openMediaStore(config: NodeConfig): Promise<MediaStore> {
  if (config.media.backend === "s3") {
    // The AWS SDK is large: loaded only by nodes that use it.
    const { S3MediaStore } = await import("./s3-media-store.ts");
    const { s3 } = config.media;
    return S3MediaStore.open({ ...s3, createBucket: false });
  }
  return FileMediaStore.open(join(config.dataDir, "media"));
}

/** Uploads through the router stream here first, whatever the store. */
export function mediaStagingDir(config: NodeConfig): string {
  return join(config.dataDir, "media", "staging");
}
