/* log.c - structured logging to stderr. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "util.h"

static enum log_format log_fmt = LOG_FMT_TEXT;
static enum log_level log_min = LOG_LVL_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
log_setup(enum log_format fmt, enum log_level min)
{
	log_fmt = fmt;
	log_min = min;
}

int
log_parse_format(const char *s, enum log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = LOG_FMT_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FMT_JSON;
	else
		return -EINVAL;
	return 0;
}

int
log_parse_level(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void
log_vmsg(enum log_level lvl, const char *component, const char *fmt, va_list ap)
{
	char raw[4096], msg[4096], ts[UTIL_TIME_LEN];

	if (lvl < log_min)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	/* messages quote what senders wrote: no line breaks, terminal escapes or invalid
	 * UTF-8 (which would also make the JSON line impossible) reach the log */
	util_escape_text(msg, sizeof(msg), raw);
	util_format_time(util_now_ms(), ts, sizeof(ts));
	if (log_fmt == LOG_FMT_JSON) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level",
		    level_names[lvl], "component", component, "msg", msg);
		char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (line)
			fprintf(stderr, "%s\n", line);
		free(line);
		json_decref(o);
	} else {
		fprintf(stderr, "%s %-5s %s: %s\n", ts, level_names[lvl], component, msg);
	}
}

void
log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, component, fmt, ap);
	va_end(ap);
}
