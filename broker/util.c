/* util.c - time, ids, durations, hashing. */
#include "util.h"

#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

int64_t
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Put v as n decimal digits (zero-padded) at p. */
static void
put_digits(char *p, int n, int64_t v)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* The time is formatted by hand (the civil date from the day number, then the digits),
 * not with gmtime_r and snprintf: the ledger formats several times per event, and this
 * was ~5% of ingest. Years outside 0..9999 fall back to snprintf. */
char *
util_format_time(int64_t ms, char *buf, size_t len)
{
	int64_t secs = ms / 1000, days, rem, era, doe, yoe, doy, mp, y, m, d;
	int frac = (int)(ms % 1000);

	if (frac < 0) {
		frac += 1000;
		secs -= 1;
	}
	days = secs / 86400;
	rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days -= 1;
	}
	/* days since 1970-01-01 -> proleptic Gregorian year, month, day (400-year eras of
	 * 146097 days, counted from March so that the leap day comes last) */
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	if (y < 0 || y > 9999 || len < 25) {
		snprintf(buf, len, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03dZ", (long long)y,
		    (long long)m, (long long)d, (long long)(rem / 3600),
		    (long long)(rem / 60 % 60), (long long)(rem % 60), frac);
		return buf;
	}
	put_digits(buf, 4, y);
	buf[4] = '-';
	put_digits(buf + 5, 2, m);
	buf[7] = '-';
	put_digits(buf + 8, 2, d);
	buf[10] = 'T';
	put_digits(buf + 11, 2, rem / 3600);
	buf[13] = ':';
	put_digits(buf + 14, 2, rem / 60 % 60);
	buf[16] = ':';
	put_digits(buf + 17, 2, rem % 60);
	buf[19] = '.';
	put_digits(buf + 20, 3, frac);
	buf[23] = 'Z';
	buf[24] = '\0';
	return buf;
}

static int
parse_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
util_parse_time(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, frac_ms = 0, off_h = 0, off_m = 0, sign = 0;
	const char *p = s;
	struct tm tm;

	if (s == NULL)
		return -EINVAL;
	if (parse_digits(&p, 4, &y) || *p++ != '-' || parse_digits(&p, 2, &mo) ||
	    *p++ != '-' || parse_digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		return -EINVAL;
	p++;
	if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &mi) ||
	    *p++ != ':' || parse_digits(&p, 2, &sec))
		return -EINVAL;
	if (*p == '.') {
		int scale = 100;
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p)) {
			frac_ms += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
		if (parse_digits(&p, 2, &off_h) || *p++ != ':' || parse_digits(&p, 2, &off_m))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*ms = (int64_t)timegm(&tm) * 1000 + frac_ms -
	    (int64_t)sign * (off_h * 3600 + off_m * 60) * 1000;
	return 0;
}

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* n (<= sizeof pool) bytes from OpenSSL's CSPRNG, taken from a pool filled 512 bytes at a
 * time: one RAND_bytes() call costs as much as building the rest of an event. Returns 0 or
 * -EIO. */
static int
random_take(unsigned char *out, size_t n)
{
	static unsigned char pool[512];
	static size_t left;

	if (left < n) {
		if (RAND_bytes(pool, sizeof(pool)) != 1)
			return -EIO;
		left = sizeof(pool);
	}
	memcpy(out, pool + sizeof(pool) - left, n);
	OPENSSL_cleanse(pool + sizeof(pool) - left, n);
	left -= n;
	return 0;
}

void
util_id_new(char out[UTIL_ID_LEN + 1])
{
	static int64_t last_ms;
	static unsigned char last_rand[10];
	unsigned char rnd[10];
	int64_t now = util_now_ms();

	if (now <= last_ms) {
		/* Same (or earlier) millisecond: increment the previous randomness. */
		now = last_ms;
		memcpy(rnd, last_rand, sizeof(rnd));
		for (int i = 9; i >= 0; i--)
			if (++rnd[i] != 0)
				break;
	} else if (random_take(rnd, sizeof(rnd)) != 0) {
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)random();
	}
	last_ms = now;
	memcpy(last_rand, rnd, sizeof(rnd));

	uint64_t t = (uint64_t)now;
	for (int i = 9; i >= 0; i--) {
		out[i] = crockford[t & 31];
		t >>= 5;
	}
	/* 80 random bits as 16 base32 chars. */
	for (int i = 0; i < 16; i++) {
		int bit = i * 5, byte = bit / 8, shift = bit % 8;
		unsigned v = (unsigned)rnd[byte] << 8 | (byte + 1 < 10 ? rnd[byte + 1] : 0);
		out[10 + i] = crockford[(v >> (11 - shift)) & 31];
	}
	out[UTIL_ID_LEN] = '\0';
}

int
util_parse_duration(const char *s, int64_t *ms)
{
	int64_t total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	while (*p) {
		char *end;
		int64_t unit;

		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		long long v = strtoll(p, &end, 10);
		if (errno || end == p)
			return -EINVAL;
		p = end;
		if (strncmp(p, "ms", 2) == 0) {
			unit = 1;
			p += 2;
		} else if (*p == 's') {
			unit = 1000;
			p++;
		} else if (*p == 'm') {
			unit = 60 * 1000;
			p++;
		} else if (*p == 'h') {
			unit = 3600 * 1000;
			p++;
		} else if (*p == 'd') {
			unit = 86400 * 1000;
			p++;
		} else if (*p == 'w') {
			unit = 7 * 86400 * 1000LL;
			p++;
		} else {
			return -EINVAL;
		}
		if (v > INT64_MAX / unit || total > INT64_MAX - v * unit)
			return -EINVAL;
		total += v * unit;
	}
	*ms = total;
	return 0;
}

char *
util_format_duration(int64_t ms, char *buf, size_t len)
{
	if (ms % 1000 != 0 || ms == 0)
		snprintf(buf, len, "%lldms", (long long)ms);
	else if (ms % 3600000 == 0)
		snprintf(buf, len, "%lldh", (long long)(ms / 3600000));
	else if (ms % 60000 == 0)
		snprintf(buf, len, "%lldm", (long long)(ms / 60000));
	else
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	return buf;
}

int
util_parse_size(const char *s, uint64_t *bytes)
{
	static const struct { const char *suffix; uint64_t mult; } units[] = {
		{ "", 1 }, { "B", 1 }, { "KB", 1000 }, { "MB", 1000 * 1000 },
		{ "GB", 1000 * 1000 * 1000ULL }, { "KiB", 1024 }, { "MiB", 1024 * 1024 },
		{ "GiB", 1024 * 1024 * 1024ULL },
	};
	char *end;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (v > UINT64_MAX / units[i].mult)
				return -EINVAL;
			*bytes = v * units[i].mult;
			return 0;
		}
	}
	return -EINVAL;
}

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;      /* never freed: one per process */

static void
sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void
util_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";

	/* fetched once: EVP_sha256() makes every digest look the algorithm up again, which
	 * cost more than hashing a webhook body */
	pthread_once(&sha256_once, sha256_fetch);
	EVP_Digest(data, len, md, &mdlen, sha256_md ? sha256_md : EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

char *
util_strdup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *
util_format_new(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		goto out;
	s = malloc((size_t)n + 1);
	if (s == NULL)
		goto out;
	va_start(ap, fmt);
	if (vsnprintf(s, (size_t)n + 1, fmt, ap) != n) {
		free(s);
		s = NULL;
	}
	va_end(ap);
out:
	return s;
}

char *
util_trim_utf8(char *s)
{
	size_t i = strlen(s), cont = 0, need;
	unsigned char lead;

	/* back over the continuation bytes (10xxxxxx) to the sequence's lead byte */
	while (i > 0 && cont < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80) {
		i--;
		cont++;
	}
	if (i == 0)
		return s;
	lead = (unsigned char)s[i - 1];
	if ((lead & 0xe0) == 0xc0)
		need = 1;
	else if ((lead & 0xf0) == 0xe0)
		need = 2;
	else if ((lead & 0xf8) == 0xf0)
		need = 3;
	else
		need = 0;
	if (cont < need)
		s[i - 1] = '\0';
	return s;
}

/* mkdir with mode 0750 whatever the umask; an existing directory is left as it is. */
static int
make_dir(const char *dir)
{
	if (mkdir(dir, 0750) != 0)
		return errno == EEXIST ? 0 : -errno;
	return chmod(dir, 0750) != 0 ? -errno : 0;
}

int
util_make_parent_dir(const char *path)
{
	char dir[4096];
	char *p;
	int rc;

	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir))
		return -ENAMETOOLONG;
	p = strrchr(dir, '/');
	if (p == NULL || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if ((rc = make_dir(dir)) != 0)
			return rc;
		*p = '/';
	}
	return make_dir(dir);
}

size_t
util_utf8_decode(const char *str, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;
	uint32_t v, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, v = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, v = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, v = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

char *
util_escape_text(char *out, size_t outlen, const char *in)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;

	if (outlen == 0)
		return out;
	while (*s != '\0') {
		char esc[16];
		const char *add = esc;
		size_t n, alen;
		uint32_t cp = 0;

		/* printable ASCII as it is, a run at a time (most of any text) */
		if (*s >= 0x20 && *s < 0x7f) {
			const unsigned char *e = s;

			while (*e >= 0x20 && *e < 0x7f && o + (size_t)(e - s) + 1 < outlen)
				e++;
			memcpy(out + o, s, (size_t)(e - s));
			o += (size_t)(e - s);
			s = e;
			if (*s >= 0x20 && *s < 0x7f)
				break;               /* out is full */
			continue;
		}
		n = util_utf8_decode((const char *)s, &cp);
		if (n == 0) {
			snprintf(esc, sizeof(esc), "\\x%02x", *s);
			n = 1;
		} else if (cp == '\n') {
			add = "\\n";
		} else if (cp == '\t') {
			add = "\\t";
		} else if (cp == '\r') {
			add = "\\r";
		} else if (cp < 0x20 || cp == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", (unsigned)cp);
		} else if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069)) {
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
		} else {
			add = NULL;
		}
		alen = add ? strlen(add) : n;
		if (o + alen >= outlen)
			break;
		memcpy(out + o, add ? add : (const char *)s, alen);
		o += alen;
		s += n;
	}
	out[o] = '\0';
	return out;
}
