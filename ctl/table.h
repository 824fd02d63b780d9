/* table.h - plain-text tables for incidentctl: column widths come from the content, one
 * column may be truncated to fit a maximum line width. Byte-based (not UTF-8 aware). */
#ifndef INCIDENTCTL_TABLE_H
#define INCIDENTCTL_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct table;

/* A table with ncols columns named by headers (copied). Returns NULL on allocation
 * failure. */
struct table *table_new(size_t ncols, const char *const *headers);

/* Free a table and every cell it holds. NULL is a no-op. */
void table_free(struct table *t);

/* Append a row of ncols cells (copied; a NULL cell prints as "-"). Returns 0 or -ENOMEM. */
int table_add_row(struct table *t, const char *const *cells);

/* Number of rows added so far. */
size_t table_rows(const struct table *t);

/* Print the header and the rows to out, columns separated by two spaces. When a line would
 * be wider than max_width, column flex (or none if flex < 0) is shortened, down to 24
 * characters, and its longer cells end in "...". Does not call back. */
void table_print(const struct table *t, FILE *out, size_t max_width, int flex);

#endif
