/* jsonread.h - a fast reader for request bodies: JSON text to jansson's json_t tree.
 *
 * jansson's json_loadb() reads one character at a time through a stream callback; this
 * reader walks the buffer directly (plain string runs eight bytes at a time) and builds the
 * same tree with jansson's constructors, so every consumer keeps working on json_t. */
#ifndef INCIDENTD_JSONREAD_H
#define INCIDENTD_JSONREAD_H

#include <stddef.h>
#include <jansson.h>

/* Parse buf[0..len) (need not be NUL-terminated; buf may be NULL when len is 0, which is
 * an error like any empty text) into a new tree in *out, owned by the caller (json_decref).
 *
 * Accepts exactly what json_loadb(buf, len, 0, &e) of jansson 2.14 accepts, and the tree is
 * json_equal() to jansson's:
 * - the top level is an object or an array (no JSON_DECODE_ANY); RFC 8259 grammar;
 *   whitespace is space, \t, \n and \r; nothing but whitespace may follow the value;
 * - strings are valid UTF-8 (no overlong forms, no UTF-8-encoded surrogates, nothing over
 *   U+10FFFF, no truncated sequence), without control characters (< 0x20); escapes are
 *   \" \\ \/ \b \f \n \r \t and \uXXXX, surrogate pairs combined, a lone surrogate and
 *   \u0000 rejected; a later duplicate key replaces the earlier one (json_object_set);
 * - integers that do not fit json_int_t are an error ("too big integer"); a number with a
 *   fraction or an exponent is a real (strtod, '.' whatever the locale), and one that
 *   overflows a double is an error; "01", "1.", ".5", "-", "1e" are not numbers;
 * - values nest at most JSON_PARSER_MAX_DEPTH (2048) deep, scalars counting as a level;
 * - every NUL byte is an error. (Only here does jansson differ: its stream loses a NUL
 *   byte that directly follows a number or true/false/null, and so accepts "[1\0]".)
 *
 * Returns 0 and sets *out; on any error *out is NULL. On a syntax error returns -EINVAL and
 * writes into err (errlen bytes, NUL-terminated; err may be NULL when errlen is 0) the
 * text jansson gives for that input, e.g. "'}' expected near end of file", "invalid token
 * near 'tru'", "unable to decode byte 0xff near '\"aks'" (the "near" part quotes at most 20
 * bytes of the input, as jansson does), and into *line and *column (either may be NULL)
 * jansson's position: the 1-based line, and the characters read on it up to the error (0
 * right after a newline). Returns
 * -ENOMEM (with "out of memory") when an allocation fails. Keeps no state between calls and
 * calls nothing back (reentrant; like jansson it reads the locale's decimal point with
 * localeconv() for reals). */
int jsonread_loadb(const char *buf, size_t len, json_t **out, char *err, size_t errlen,
    int *line, int *column);

#endif
