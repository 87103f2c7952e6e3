/**
 * Text as C takes it: one byte a character (Latin-1), NUL-terminated, so that
 * a path or name read from the kernel goes back to it byte for byte, whatever
 * its encoding. (`TextEncoder` is no ECMAScript global; this layer needs none.)
 *
 * @module
 */

/**
 * A C string: one byte a character, then NUL, in a buffer of its own, whose address stays put while it lives.
 *
 * @param text Characters up to U+00FF: what {@linkcode cText} gives back.
 * @returns The bytes.
 */
export function cString(text: string): Uint8Array {
  const bytes = new Uint8Array(new ArrayBuffer(text.length + 1));
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * The text of bytes up to the first NUL (or all of them), one character a byte.
 *
 * @param bytes What the kernel wrote.
 * @returns The text.
 */
export function cText(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  let text = "";
  for (const byte of end < 0 ? bytes : bytes.subarray(0, end)) text += String.fromCharCode(byte);
  return text;
}
