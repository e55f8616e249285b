// Names that arrive with nearly every command and repeat: a reservation's channel. Each command
// that crosses into a shard's thread brings its own copy of the string (structured clone, or a
// decoder's), and a hold kept it for its whole life. A thread keeps one copy of each name here,
// and reservations point at it. Names come from callers, so the table is bounded: beyond its
// limit a name is kept as given, as before.

/** Distinct channel names kept per thread; channels are configured per API key, so few. */
export const SHARED_CHANNELS_MAX = 256;

const channels = new Map<string, string>();

/** The thread's copy of this channel name (equal to it), once there is room for it. */
export function sharedChannel(name: string): string {
  const known = channels.get(name);
  if (known !== undefined) return known;
  if (channels.size < SHARED_CHANNELS_MAX) channels.set(name, name);
  return name;
}

/** How many channel names the table holds (tests). */
export function sharedChannelCount(): number {
  return channels.size;
}
