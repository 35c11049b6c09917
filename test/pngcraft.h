/*
 * pngcraft.h - hand-made PNG files for the tests and the fuzz seeds: what no
 * encoder would write (a header claiming any size over a tiny IDAT).
 */
#ifndef CPORT_PNGCRAFT_H
#define CPORT_PNGCRAFT_H

#include "util.h"

#include <stdint.h>

/* PNG CRC-32. */
static inline uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

/* Append a big-endian 32-bit value. */
static inline void put32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    buf_add(b, x, 4);
}

/* Append a PNG chunk with its length and CRC. */
static inline void put_chunk(struct buf *b, const char *type, const uint8_t *data, uint32_t len)
{
    put32(b, len);
    size_t at = b->len;
    buf_add(b, type, 4);
    if (len)
        buf_add(b, data, len);
    put32(b, crc32_png((const uint8_t *)b->p + at, 4 + len));
}

/* Into b (emptied first): a PNG signature, an IHDR claiming w x h (8-bit RGB)
 * with a correct CRC, the given IDAT data and IEND. */
static inline void png_claiming(struct buf *b, uint32_t w, uint32_t h, const uint8_t *idat, uint32_t idat_len)
{
    buf_reset(b);
    buf_add(b, "\x89PNG\r\n\x1a\n", 8);
    uint8_t ihdr[13] = {0};
    for (int i = 0; i < 4; i++) {
        ihdr[i] = (uint8_t)(w >> (24 - 8 * i));
        ihdr[4 + i] = (uint8_t)(h >> (24 - 8 * i));
    }
    ihdr[8] = 8, ihdr[9] = 2;
    put_chunk(b, "IHDR", ihdr, sizeof ihdr);
    put_chunk(b, "IDAT", idat, idat_len);
    put_chunk(b, "IEND", NULL, 0);
}

#endif
