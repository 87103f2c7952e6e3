/**
 * IP literals as the runtimes report them (IPv4, IPv6 with or without
 * brackets and zone, IPv4-mapped IPv6), parsed to the bytes a `sockaddr` holds.
 *
 * @module
 */

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) < 256)) return undefined;
  return Uint8Array.from(parts, Number);
}

function wordsOf(text: string): number[] | undefined {
  if (text === "") return [];
  const words: number[] = [];
  const pieces = text.split(":");
  for (const [i, piece] of pieces.entries()) {
    const v4 = i === pieces.length - 1 ? parseIPv4(piece) : undefined;
    if (v4) words.push(v4[0]! << 8 | v4[1]!, v4[2]! << 8 | v4[3]!);
    else if (/^[0-9a-f]{1,4}$/i.test(piece)) words.push(parseInt(piece, 16));
    else return undefined;
  }
  return words;
}

function parseIPv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const [first = "", second] = halves;
  const head = wordsOf(first);
  const tail = second === undefined ? [] : wordsOf(second);
  if (!head || !tail) return undefined;
  const gap = 8 - head.length - tail.length;
  if (halves.length === 2 ? gap < 1 : gap !== 0) return undefined;
  const bytes = new Uint8Array(16);
  [...head, ...new Array<number>(gap).fill(0), ...tail].forEach((word, i) => {
    bytes[2 * i] = word >> 8;
    bytes[2 * i + 1] = word & 0xff;
  });
  return bytes;
}

/** IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes the IPv4 address, so both spellings match. */
export function unmapped(ip: Uint8Array): Uint8Array {
  const mapped = ip.length === 16 && ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;
  return mapped ? ip.slice(12) : ip;
}

/**
 * Parses an IP literal (IPv4, IPv6 with or without brackets and zone).
 *
 * @param host The text.
 * @returns The address bytes (4, or 16 for IPv6 that is not IPv4-mapped), or `undefined` for a name.
 */
export function parseIp(host: string): Uint8Array | undefined {
  const bare = host.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const ip = parseIPv4(bare) ?? parseIPv6(bare);
  return ip && unmapped(ip);
}
