/* log.h - structured logging to stderr (text or JSON lines). */
#ifndef INCIDENTD_LOG_H
#define INCIDENTD_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };
enum log_format { LOG_FMT_TEXT = 0, LOG_FMT_JSON };

/* Set the output format and minimum level. Not thread-safe; call from main. */
void log_setup(enum log_format fmt, enum log_level min);

/* Parse "text"/"json"; returns 0 or -EINVAL. */
int log_parse_format(const char *s, enum log_format *out);

/* Parse "debug"/"info"/"warn"/"error"; returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);

/* Write one line: timestamp, level, component (e.g. "store", "sink/log"), message.
 * The message is formatted with vsnprintf and truncated at 4 KiB. Never writes secrets:
 * callers must not pass them. Does not call back. */
void log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level lvl, const char *component, const char *fmt, va_list ap);

#define log_debug(c, ...) log_msg(LOG_LVL_DEBUG, (c), __VA_ARGS__)
#define log_info(c, ...)  log_msg(LOG_LVL_INFO, (c), __VA_ARGS__)
#define log_warn(c, ...)  log_msg(LOG_LVL_WARN, (c), __VA_ARGS__)
#define log_error(c, ...) log_msg(LOG_LVL_ERROR, (c), __VA_ARGS__)

#endif
