// Internal: a string's size in UTF-8 bytes, counted without encoding it (a copy of a request of many megabytes is not made to measure it).

/** `s`'s UTF-8 size in bytes; a lone surrogate counts as the 3 bytes of U+FFFD, as an encoder writes it. */
export function utf8Bytes(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}
