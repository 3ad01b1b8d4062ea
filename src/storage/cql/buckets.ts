/**
 * Which partition of a chat's messages holds a seq. Fixed by the data already written: changing
 * SEQS_PER_BUCKET needs a data migration, not just a deploy.
 *
 * 1000 messages per partition keeps partitions around 100 KB-1 MB for typical bodies (far from
 * the sizes where Cassandra and ScyllaDB start to struggle), while a page of history rarely
 * touches more than two partitions.
 */
export const SEQS_PER_BUCKET = 1000;

export function bucketOf(seq: number): number {
  return Math.floor(seq / SEQS_PER_BUCKET);
}

export function firstSeqOf(bucket: number): number {
  return bucket * SEQS_PER_BUCKET;
}

export function lastSeqOf(bucket: number): number {
  return (bucket + 1) * SEQS_PER_BUCKET - 1;
}
