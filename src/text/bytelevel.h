/* GPT-2 byte-level mapping (HF tokenizers "ByteLevel"): every byte has one printable code point.
 * Bytes 0x21-0x7E, 0xA1-0xAC and 0xAE-0xFF map to the code point of the same value; the other 68
 * bytes (0x00-0x20, 0x7F-0xA0, 0xAD) map, in increasing byte order, to U+0100..U+0143. */
#ifndef BOSON_TEXT_BYTELEVEL_H
#define BOSON_TEXT_BYTELEVEL_H

#include <stddef.h>
#include <stdint.h>

/* The code point that stands for byte b. */
uint32_t bs_bytelevel_char(uint8_t b);

/* The byte that code point cp stands for, or -1 if cp is not one of the 256 byte symbols. */
int bs_bytelevel_byte(uint32_t cp);

/* Converts a byte-level string (UTF-8 text of byte symbols) to the raw bytes it stands for.
 * out must hold n bytes. Returns the raw length, or -1 if s is not valid UTF-8 or holds a code
 * point that is not a byte symbol (out is then unspecified). */
long bs_bytelevel_to_bytes(const char *s, size_t n, uint8_t *out);

#endif
