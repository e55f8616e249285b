// A binary min-heap of (time, reservation id): when each hold or wait runs out. Entries are never
// removed early; a popped entry whose reservation ended or was re-armed is ignored by `decide`.

export class ExpiryHeap {
  private readonly times: number[] = [];
  private readonly ids: string[] = [];

  get size(): number {
    return this.times.length;
  }

  /** Earliest time, or Infinity when empty. */
  peekTime(): number {
    return this.times.length ? this.times[0] : Infinity;
  }

  push(time: number, id: string): void {
    const times = this.times;
    const ids = this.ids;
    let i = times.length;
    times.push(time);
    ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent] <= time) break;
      times[i] = times[parent];
      ids[i] = ids[parent];
      i = parent;
    }
    times[i] = time;
    ids[i] = id;
  }

  /** Remove and return the earliest id; call only when size > 0. */
  pop(): string {
    const times = this.times;
    const ids = this.ids;
    const top = ids[0];
    const lastTime = times.pop()!;
    const lastId = ids.pop()!;
    const n = times.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && times[right] < times[left] ? right : left;
      if (times[child] >= lastTime) break;
      times[i] = times[child];
      ids[i] = ids[child];
      i = child;
    }
    times[i] = lastTime;
    ids[i] = lastId;
    return top;
  }
}
