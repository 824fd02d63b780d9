/* util.h - small helpers shared by the daemon, the CLI and the sinks' host side:
 * wall-clock time, RFC 3339 formatting, time-sortable ids, durations, SHA-256. */
#ifndef INCIDENTD_UTIL_H
#define INCIDENTD_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define UTIL_TIME_LEN 32   /* "2026-02-10T03:01:12.000Z" + NUL, with room */
#define UTIL_ID_LEN 26     /* ULID: 10 chars of ms time + 16 chars of randomness */

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t util_now_ms(void);

/* Milliseconds from CLOCK_MONOTONIC, for measuring intervals. */
int64_t util_mono_ms(void);

/* Microseconds from CLOCK_MONOTONIC, for measuring short work (a ledger batch). */
int64_t util_mono_us(void);

/* Format ms-since-epoch as RFC 3339 UTC with milliseconds ("2026-02-10T03:01:12.000Z").
 * Fixed width, so the strings sort like the times they name. Returns buf. */
char *util_format_time(int64_t ms, char *buf, size_t len);

/* Parse an RFC 3339 timestamp (fractional seconds and numeric offsets accepted, e.g.
 * "2026-02-10T03:01:12Z", "2020-01-01T10:00:00.123456789-05:00"). Returns 0 and ms since
 * the epoch, or -EINVAL. */
int util_parse_time(const char *s, int64_t *ms);

/* Write a new ULID (26 Crockford base32 chars + NUL) into out[UTIL_ID_LEN + 1].
 * Ids are strictly increasing within this process, also within one millisecond. */
void util_id_new(char out[UTIL_ID_LEN + 1]);

/* Parse a duration such as "250ms", "30s", "2m", "4h", "1d", "1h30m" into ms.
 * Returns 0, or -EINVAL for anything else (a bare number is rejected). */
int util_parse_duration(const char *s, int64_t *ms);

/* Format a duration in ms the short way configuration writes it: "250ms", "90s", "2m",
 * "24h" (the largest unit that divides it). Returns buf. */
char *util_format_duration(int64_t ms, char *buf, size_t len);

/* Parse a byte size such as "1048576", "512KiB", "1MiB", "2MB". Returns 0 or -EINVAL. */
int util_parse_size(const char *s, uint64_t *bytes);

/* SHA-256 of data as 64 lowercase hex chars + NUL into out[65]. */
void util_sha256_hex(const void *data, size_t len, char out[65]);

/* strdup that accepts NULL (returns NULL). Returns NULL also on allocation failure. */
char *util_strdup0(const char *s);

/* snprintf into a new string of the length needed (never truncates). Returns the string
 * (caller frees), or NULL on allocation failure or a bad format. */
char *util_format_new(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Cut a trailing incomplete UTF-8 sequence off s, as snprintf truncation of UTF-8 text into
 * a fixed buffer can leave one (JSON strings must be valid UTF-8). A complete string is
 * left as it is. Returns s. */
char *util_trim_utf8(char *s);

/* Decode the UTF-8 sequence at the start of the NUL-terminated s into *cp. Returns its
 * length (1 to 4), or 0 when it is not valid UTF-8 (a bad or truncated sequence, an
 * overlong form, a surrogate or a value above U+10FFFF; *cp is then unset). */
size_t util_utf8_decode(const char *s, uint32_t *cp);

/* Copy in to out (at most outlen bytes with the NUL) so that it is inert on a terminal
 * and valid UTF-8: control characters (C0, DEL, C1) and the bidirectional-override
 * characters become escapes ("\n", "\t", "\x1b", "\u202e"), an invalid byte "\xNN";
 * everything else is kept. Output cut short ends on a whole character. Returns out. */
char *util_escape_text(char *out, size_t outlen, const char *in);

/* mkdir -p of the directory part of path ("var/db/x.db" -> var/db), mode 0750. Returns 0
 * (also when path has no directory part), -ENAMETOOLONG or -errno of mkdir. */
int util_make_parent_dir(const char *path);

#endif
