import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The files one disposable test node needs: cassandra.yaml, logback.xml and a JVM @args file.
 * Values follow Apache Cassandra's own conf/jvm17-server.options and test/conf/cassandra.yaml,
 * trimmed for a single node that lives for one test run.
 */

export interface NodePorts {
  storage: number;
  native: number;
}

export interface NodeFiles {
  /** Folder for cassandra.yaml and logback.xml; also on the classpath. */
  conf: string;
  /** The JVM @args file. */
  jvmArgs: string;
}

export const HOST = "127.0.0.1";

export function writeNodeConfig(root: string, ports: NodePorts, durableCommitLog: boolean): NodeFiles {
  const conf = join(root, "conf");
  const storage = join(root, "node");
  const tmp = join(root, "tmp");
  const triggers = join(root, "triggers");
  for (const folder of [conf, storage, tmp, triggers]) mkdirSync(folder, { recursive: true });

  const yaml = join(conf, "cassandra.yaml");
  const logback = join(conf, "logback.xml");
  writeFileSync(yaml, cassandraYaml(ports, durableCommitLog));
  writeFileSync(logback, LOGBACK_XML);
  const jvmArgs = join(conf, "jvm.args");
  writeFileSync(
    jvmArgs,
    [
      ...HEAP_AND_GC,
      ...JDK17_MODULE_FLAGS,
      "-Djdk.attach.allowAttachSelf=true",
      "-Dio.netty.tryReflectionSetAccessible=true",
      "-Djava.net.preferIPv4Stack=true",
      "-Dcassandra-foreground=yes",
      `-Dcassandra.config=file://${yaml}`,
      `-Dcassandra.storagedir=${storage}`,
      `-Dcassandra.triggers_dir=${triggers}`,
      // One node, no peers: nothing to wait for.
      "-Dcassandra.skip_wait_for_gossip_to_settle=0",
      "-Dcassandra.ring_delay_ms=1000",
      // Throwaway data: skip fsyncs.
      "-Dcassandra.skip_sync=true",
      "-Dcassandra.initial_token=0",
      `-Dlogback.configurationFile=${logback}`,
      // JNA and lz4 unpack native libraries here and load them, so it must allow exec.
      `-Djava.io.tmpdir=${tmp}`,
      // Leaving cassandra.jmx.local.port and cassandra.jmx.remote.port unset keeps JMX off,
      // so nodes never clash on 7199.
    ]
      .map(quoteArgument)
      .join("\n") + "\n",
  );
  return { conf, jvmArgs };
}

const HEAP_AND_GC = [
  "-Xms1G",
  "-Xmx1G",
  "-XX:+UseG1GC",
  "-Xss256k",
  // A node that ran out of heap must die, not limp on and corrupt what the tests read.
  "-XX:+ExitOnOutOfMemoryError",
];

// From conf/jvm17-server.options: without them 5.0 fails on JDK 17, e.g. an
// IllegalAccessException on DirectBuffer.cleaner from FileUtils.
const JDK17_MODULE_FLAGS = [
  "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
  "--add-exports=java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
  "--add-exports=java.management/com.sun.jmx.remote.security=ALL-UNNAMED",
  "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
  "--add-exports=java.rmi/sun.rmi.server=ALL-UNNAMED",
  "--add-exports=java.sql/java.sql=ALL-UNNAMED",
  "--add-exports=java.base/java.lang.ref=ALL-UNNAMED",
  "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED",
  "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
  "--add-exports=jdk.attach/sun.tools.attach=ALL-UNNAMED",
  "--add-opens=java.base/java.lang.module=ALL-UNNAMED",
  "--add-opens=java.base/jdk.internal.loader=ALL-UNNAMED",
  "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
  "--add-opens=java.base/jdk.internal.reflect=ALL-UNNAMED",
  "--add-opens=java.base/jdk.internal.math=ALL-UNNAMED",
  "--add-opens=java.base/jdk.internal.module=ALL-UNNAMED",
  "--add-opens=java.base/jdk.internal.util.jar=ALL-UNNAMED",
  "--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED",
  "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
  "--add-opens=java.base/java.io=ALL-UNNAMED",
  "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
  "--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
  "--add-opens=java.base/java.lang=ALL-UNNAMED",
  "--add-opens=java.base/java.util=ALL-UNNAMED",
  "--add-opens=java.base/java.nio=ALL-UNNAMED",
];

// 5.0 key names; an unknown key stops the node at start, which is what we want.
// Periodic sync (the default, with 5.0's direct-I/O commit log) acknowledges writes up to 10 s
// before they reach the disk: a SIGKILL loses them, so a one-node cluster that a test kills
// would forget messages it answered \`sent\`. Group sync acknowledges only what is on disk,
// at the cost of an fsync per window, too slow for the run's shared node under a full suite.
// Production clusters get the same guarantee from replication (RF 3, LOCAL_QUORUM).
function commitLogSync(durable: boolean): string {
  return durable
    ? "commitlog_sync: group\ncommitlog_sync_group_window: 5ms"
    : "commitlog_sync: periodic\ncommitlog_sync_period: 10000ms";
}

// The server's own deadlines (2 s for a write, 1 s of CAS contention by default) are sized for
// dedicated hardware. On a test machine whose two cores also run the suite, a healthy node
// misses them under load and a test fails on a timeout that says nothing about the router.
// Clients' deadlines (test/support/backend.ts) sit above these.
const SERVER_TIMEOUTS = `read_request_timeout: 10000ms
range_request_timeout: 15000ms
write_request_timeout: 10000ms
counter_write_request_timeout: 10000ms
cas_contention_timeout: 10000ms
request_timeout: 15000ms`;

function cassandraYaml(ports: NodePorts, durableCommitLog: boolean): string {
  return `cluster_name: router-test
num_tokens: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
# SimpleSnitch puts the node in data centre "datacenter1", the name tests give the driver.
endpoint_snitch: SimpleSnitch
listen_address: ${HOST}
rpc_address: ${HOST}
storage_port: ${ports.storage}
native_transport_port: ${ports.native}
start_native_transport: true
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "${HOST}:${ports.storage}"
${commitLogSync(durableCommitLog)}
${SERVER_TIMEOUTS}
commitlog_segment_size: 8MiB
auto_snapshot: false
incremental_backups: false
hinted_handoff_enabled: false
memtable_allocation_type: heap_buffers
memtable_heap_space: 64MiB
concurrent_compactors: 1
compaction_throughput: 0MiB/s
# Cassandra's defaults (warn 5KiB, fail 50KiB) reject a multi-partition LOGGED batch of a few
# hundred small messages, which the store contract appends in one call. 1MiB is ScyllaDB's
# default fail threshold; production Cassandra clusters need the same (see src/storage/cql).
batch_size_warn_threshold: 512KiB
batch_size_fail_threshold: 1MiB
`;
}

const LOGBACK_XML = `<configuration>
  <!-- INFO on the console: the launcher reads it for readiness and keeps the tail for errors. -->
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="STDOUT"/></root>
</configuration>
`;

// @args files split on whitespace unless quoted.
function quoteArgument(argument: string): string {
  return /[\s"]/.test(argument) ? `"${argument.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"` : argument;
}
