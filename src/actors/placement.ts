// Stable placement of SKUs on shards. FNV-1a (32-bit) over the SKU's UTF-16 code units: the same
// SKU lands on the same shard on every start, on every machine, as long as the shard count holds.
// The data directory records the shard count and refuses to start with another (see engine.ts).

export function skuHash(sku: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < sku.length; i++) {
    hash ^= sku.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function shardOf(sku: string, shardCount: number): number {
  return skuHash(sku) % shardCount;
}
