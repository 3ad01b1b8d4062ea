import { rmSync } from "node:fs";
import S3rver from "s3rver";
import { freePort } from "./ports.ts";
import { tempDir } from "./node.ts";

/** s3rver's built-in account: any S3 client signing with these is accepted. */
export const S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

export interface TestS3 {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/**
 * A real S3-compatible server (s3rver: S3's REST API over a directory) on a free port, so the
 * S3 media store is tested through the official SDK over HTTP. s3rver checks presigned URLs'
 * expiry but not SigV4 signatures themselves.
 */
export async function startS3(): Promise<TestS3> {
  const directory = tempDir("router-s3-");
  const port = await freePort();
  const server = new S3rver({ address: "127.0.0.1", port, silent: true, directory });
  await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    ...S3_CREDENTIALS,
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
