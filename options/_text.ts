/**
 * Text as the kernel takes it and gives it back: UTF-8, NUL-terminated. A
 * path is bytes to the kernel, so a character that UTF-8 cannot carry (a
 * lone surrogate) or a NUL inside would name another file: both are refused,
 * never replaced. Written out here, since `TextEncoder` is no ECMAScript
 * global and this layer needs none.
 *
 * @module
 */

/**
 * Why a string cannot go to the kernel as it is: it holds a NUL, or a lone surrogate; `undefined` if it can.
 *
 * @param text The string.
 * @returns The reason, or `undefined`.
 */
export function unencodable(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit === 0) return `it holds a NUL character at ${i}, where C's string would end`;
    if (unit >= 0xd800 && unit <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
      else return `it holds a lone surrogate (\\u${unit.toString(16)}) at ${i}, which UTF-8 cannot carry`;
    }
  }
  return undefined;
}

/**
 * A C string: the text in UTF-8, then NUL, in a buffer of its own, whose address stays put while it lives.
 *
 * @param text What {@linkcode unencodable} passes.
 * @returns The bytes.
 * @throws {TypeError} If the text holds a NUL or a lone surrogate (callers check first, in their own terms).
 */
export function cString(text: string): Uint8Array {
  const why = unencodable(text);
  if (why !== undefined) throw new TypeError(`${JSON.stringify(text)} cannot be given to the kernel: ${why}`);
  const bytes: number[] = [];
  for (const character of text) {
    const code = character.codePointAt(0)!;
    if (code < 0x80) bytes.push(code);
    else if (code < 0x800) bytes.push(0xc0 | code >> 6, 0x80 | code & 0x3f);
    else if (code < 0x10000) bytes.push(0xe0 | code >> 12, 0x80 | code >> 6 & 0x3f, 0x80 | code & 0x3f);
    else bytes.push(0xf0 | code >> 18, 0x80 | code >> 12 & 0x3f, 0x80 | code >> 6 & 0x3f, 0x80 | code & 0x3f);
  }
  const buffer = new Uint8Array(new ArrayBuffer(bytes.length + 1));
  buffer.set(bytes);
  return buffer;
}

/** The smallest code point each length of UTF-8 sequence may carry: anything less is an overlong form. */
const LEAST = [0, 0, 0x80, 0x800, 0x10000];

/**
 * The text of UTF-8 bytes up to the first NUL (or all of them).
 *
 * @param bytes What the kernel wrote.
 * @param strict Throw on bytes that are not UTF-8, where the text must name the same bytes again (a directory
 *   entry); otherwise each is U+FFFD, as for a message.
 * @returns The text.
 * @throws {TypeError} In `strict`, on bytes that are not UTF-8.
 */
export function cText(bytes: Uint8Array, strict = false): string {
  const end = bytes.indexOf(0);
  const length = end < 0 ? bytes.length : end;
  let text = "";
  for (let i = 0; i < length;) {
    const lead = bytes[i]!;
    const size = lead < 0x80
      ? 1
      : lead >= 0xc2 && lead < 0xe0
      ? 2
      : lead >= 0xe0 && lead < 0xf0
      ? 3
      : lead >= 0xf0 && lead < 0xf5
      ? 4
      : 0;
    let code = size === 1 ? lead : size === 0 ? -1 : lead & (0xff >> (size + 1));
    for (let k = 1; k < size && code >= 0; k++) {
      const next = bytes[i + k] ?? 0;
      code = i + k < length && (next & 0xc0) === 0x80 ? code << 6 | next & 0x3f : -1;
    }
    if (code < LEAST[size]! || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      if (strict) throw new TypeError(`the kernel's bytes are not UTF-8 at ${i}: 0x${lead.toString(16)}`);
      text += "\ufffd";
      i++;
      continue;
    }
    text += String.fromCodePoint(code);
    i += size;
  }
  return text;
}
