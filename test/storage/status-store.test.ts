import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import cassandra from "cassandra-driver";
import { openCqlStores } from "../../src/storage/cql/cql-stores.ts";
import { openLmdbStores } from "../../src/storage/lmdb/lmdb-stores.ts";
import type { Stores } from "../../src/storage/stores.ts";
import { SCHEMA_CHANGE_TIMEOUT_MS, TEST_CQL_REQUEST_TIMEOUT_MS } from "../support/backend.ts";
import { testCqlContactPoint } from "../support/cassandra.ts";
import { statusStoreContract } from "./status-contract.ts";

// The status store on both backends, in a file of its own so cql.test.ts stays within its time.
const DATA_CENTER = "datacenter1";

statusStoreContract("lmdb", async () => {
  const dir = mkdtempSync(join(tmpdir(), "router-status-"));
  const stores = openLmdbStores({ path: dir });
  return {
    ...stores,
    close: async () => {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

statusStoreContract("cql", async () => {
  const keyspace = `router_status_${process.pid.toString(36)}${Date.now().toString(36)}`;
  const stores = await openCqlStores({
    contactPoints: [testCqlContactPoint()],
    localDataCenter: DATA_CENTER,
    keyspace,
    replication: { class: "NetworkTopologyStrategy", [DATA_CENTER]: 1 },
    schemaRefreshDelayMs: 10,
    requestTimeoutMs: TEST_CQL_REQUEST_TIMEOUT_MS,
  });
  return {
    ...stores,
    close: async () => {
      await stores.close();
      const admin = new cassandra.Client({
        contactPoints: [testCqlContactPoint()],
        localDataCenter: DATA_CENTER,
        socketOptions: { readTimeout: SCHEMA_CHANGE_TIMEOUT_MS },
      });
      try {
        await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
      } finally {
        await admin.shutdown();
      }
    },
  };
});
