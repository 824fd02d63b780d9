/* safeout.c - an escaping stdout for incidentctl (safeout.h). */
#include "safeout.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct safeout {
	int fd;                 /* the real stdout */
	unsigned char carry[4]; /* an incomplete UTF-8 sequence from the last write */
	size_t ncarry;
};

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Bytes of the UTF-8 sequence starting with b (1 for ASCII and invalid lead bytes). */
static size_t
seq_len(unsigned char b)
{
	if (b >= 0xf8 || b < 0xc0)
		return 1;
	return b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
}

/* Escape one complete sequence s of n bytes into out; returns the bytes written. */
static size_t
escape_seq(const unsigned char *s, size_t n, char *out, size_t outlen)
{
	uint32_t cp = s[0];

	if (n == 1 || seq_len(s[0]) != n) {
		cp = s[0];
		/* a byte >= 0x80 alone is not UTF-8 (an 8-bit terminal reads 0x9b as CSI) */
		if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp >= 0x7f)
			return (size_t)snprintf(out, outlen, "\\x%02x", cp);
		out[0] = (char)cp;
		return 1;
	}
	cp = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069))
		return (size_t)snprintf(out, outlen, "\\u%04x", (unsigned)cp);
	memcpy(out, s, n);
	return n;
}

static ssize_t
safeout_write(void *cookie, const char *buf, size_t size)
{
	struct safeout *so = cookie;
	const unsigned char *p = (const unsigned char *)buf;
	char out[4096];
	size_t o = 0, i = 0;

	while (i < size) {
		unsigned char seq[4];
		size_t need, have = 0;

		/* finish a sequence carried over from the last write first */
		if (so->ncarry > 0) {
			memcpy(seq, so->carry, so->ncarry);
			have = so->ncarry;
			so->ncarry = 0;
		} else {
			seq[have++] = p[i++];
		}
		need = seq_len(seq[0]);
		while (have < need && i < size && (p[i] & 0xc0) == 0x80)
			seq[have++] = p[i++];
		if (have < need && i == size) {
			memcpy(so->carry, seq, have);     /* continues in the next write */
			so->ncarry = have;
			break;
		}
		if (have < need) {                /* not UTF-8: every byte escaped */
			for (size_t k = 0; k < have; k++)
				o += escape_seq(seq + k, 1, out + o, sizeof(out) - o);
		} else {
			o += escape_seq(seq, have, out + o, sizeof(out) - o);
		}
		if (o > sizeof(out) - 16) {
			if (write_all(so->fd, out, o) != 0)
				return -1;
			o = 0;
		}
	}
	if (o > 0 && write_all(so->fd, out, o) != 0)
		return -1;
	return (ssize_t)size;
}

static int
safeout_close(void *cookie)
{
	struct safeout *so = cookie;
	int rc = 0;

	if (so->ncarry > 0)
		rc = write_all(so->fd, (const char *)so->carry, so->ncarry);
	free(so);
	return rc;
}

/* Flush and free the stream before exit-time checks (LeakSanitizer) run. */
static void
safeout_atexit(void)
{
	fclose(stdout);
}

int
safeout_install(void)
{
	cookie_io_functions_t io = { .write = safeout_write, .close = safeout_close };
	struct safeout *so = calloc(1, sizeof(*so));
	FILE *f;

	if (so == NULL)
		return -ENOMEM;
	fflush(stdout);
	so->fd = fileno(stdout);
	f = fopencookie(so, "w", io);
	if (f == NULL) {
		free(so);
		return -ENOMEM;
	}
	setvbuf(f, NULL, isatty(so->fd) ? _IOLBF : _IOFBF, BUFSIZ);
	stdout = f;
	atexit(safeout_atexit);
	return 0;
}
