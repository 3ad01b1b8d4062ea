import { join } from "node:path";
import type { NodeConfig } from "../../config.ts";
import type { MediaStore } from "../types.ts";
import { FileMediaStore } from "./file-media-store.ts";
import { S3MediaStore } from "./s3-media-store.ts";

/** The configured media store. Independent of the message backend on purpose. */
export async function openMediaStore(config: NodeConfig): Promise<MediaStore> {
  if (config.media.backend === "s3") {
    const { s3 } = config.media;
    return S3MediaStore.open({ ...s3, createBucket: false });
  }
  return FileMediaStore.open(join(config.dataDir, "media"));
}

/** Uploads through the router stream here first, whatever the store. */
export function mediaStagingDir(config: NodeConfig): string {
  return join(config.dataDir, "media", "staging");
}
