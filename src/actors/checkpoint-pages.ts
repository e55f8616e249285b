// What of a big SKU's snapshot changed since its last checkpoint (SkuState.pages).
//
// A checkpoint rewrote every changed SKU whole: a hot SKU with 150,000 open holds stalled its
// shard 100–370 ms at each one, 500,000 holds about a second (docs/benchmarks.md, "A hot SKU's
// checkpoint"), though most of those holds had not changed since the last checkpoint. So a SKU
// with more open holds or remembered keys than fit one page (shard.checkpointPageEntries) is
// stored in pages (src/persistence/snapshot-pages.ts), and a checkpoint rewrites only the pages
// that changed:
//   - hold page p holds the open holds numbered p × entries … (p + 1) × entries − 1. Numbers are
//     issued in order and holds mostly end in that order, so a sale's new and ending holds touch
//     a few pages at the two ends; every event of a hold marks its page here (`holdChanged`).
//   - key page p holds the remembered idempotency keys the SKU remembered as its
//     p × entries-th … ((p + 1) × entries − 1)-th. Keys join at the new end and are forgotten
//     from the old end only (sku.ts), so the keys held are always one run of those counts,
//     `keysRemembered − count … keysRemembered`, and comparing that run with the one on disk says
//     which pages changed: no mark per key is needed.
// A SKU once paged stays paged, with the page size it was first written with.
//
// A shard's checkpoint covers every SKU up to one WAL record, so even in pages a hot SKU's
// checkpoint costs what changed since the last one: in a sale, every hold placed in the last
// 30 s. So a paged SKU is also checkpointed on its own, in the turn that leaves
// shard.checkpointSkuPagesMax of its pages changed: its header then says which WAL record it
// covers (`seq`), and recovery skips the SKU's events up to that record.

export class CheckpointPages {
  /** Hold pages changed since the last checkpoint. */
  private readonly touched = new Set<number>();
  /** The page marked last: a turn's holds of one SKU mostly share one, and this spares the Set. */
  private lastTouched = -1;
  /** Already waiting to be checkpointed on its own in the turn under way. */
  due = false;

  /**
   * `entries`: holds or keys per page. `keysFirst`, `keysEnd`: the run of keys on disk (none for
   * a SKU not yet written in pages). `seq`: the WAL record the SKU's pages and header on disk
   * cover. `written`: whether its pages are on disk at all.
   */
  constructor(
    readonly entries: number,
    public keysFirst: number,
    public keysEnd: number,
    public seq: number,
    public written: boolean,
  ) {}

  /** Marks the page of hold number `no` as changed. */
  holdChanged(no: number): void {
    const page = Math.floor(no / this.entries);
    if (page === this.lastTouched) return;
    this.lastTouched = page;
    this.touched.add(page);
  }

  /**
   * Pages a checkpoint of the SKU would write now: hold pages marked, and key pages past the run
   * on disk. Before its first paged checkpoint, every page: `holds` and `keys` held, a page each
   * per `entries` of them.
   */
  pagesChanged(keysRemembered: number, holds: number, keys: number): number {
    const { entries, keysEnd } = this;
    if (!this.written) return Math.ceil(holds / entries) + Math.ceil(keys / entries);
    const keyPages = keysRemembered > keysEnd ? Math.floor((keysRemembered - 1) / entries) - Math.floor(keysEnd / entries) + 1 : 0;
    return this.touched.size + keyPages;
  }

  /** The hold pages changed since the last call, in ascending order. */
  takeTouched(): number[] {
    const pages = [...this.touched].sort((a, b) => a - b);
    this.touched.clear();
    this.lastTouched = -1;
    return pages;
  }
}
