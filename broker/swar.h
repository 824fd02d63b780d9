/* swar.h - eight bytes at a time: the test the JSON reader and writer use to skip runs of
 * plain string text (SIMD within a register). */
#ifndef INCIDENTD_SWAR_H
#define INCIDENTD_SWAR_H

#include <stdint.h>

#define SWAR_ONES 0x0101010101010101ULL
#define SWAR_HIGHS 0x8080808080808080ULL

/* Nonzero when one of the 8 bytes in w is '"', '\\', < 0x20 or >= 0x80 (what a JSON string
 * cannot hold as is, and UTF-8 that needs a closer look). A borrow can only spread upwards
 * from a byte that is one of these, so the answer is exact for the word. No side effects. */
static inline uint64_t
swar_special8(uint64_t w)
{
	uint64_t q = w ^ (SWAR_ONES * '"'), b = w ^ (SWAR_ONES * '\\');

	return ((q - SWAR_ONES) | (b - SWAR_ONES) | (w - SWAR_ONES * 0x20) | w) & SWAR_HIGHS;
}

#endif
