/* table.c - plain-text tables for incidentctl. */
#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FLEX_MIN 24

struct table {
	size_t ncols;
	char **headers;
	char **cells;      /* nrows * ncols */
	size_t nrows, cap;
};

struct table *
table_new(size_t ncols, const char *const *headers)
{
	struct table *t;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->ncols = ncols;
	t->headers = calloc(ncols, sizeof(*t->headers));
	if (t->headers == NULL)
		goto fail;
	for (size_t i = 0; i < ncols; i++) {
		t->headers[i] = strdup(headers[i]);
		if (t->headers[i] == NULL)
			goto fail;
	}
	return t;
fail:
	table_free(t);
	return NULL;
}

void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; t->headers != NULL && i < t->ncols; i++)
		free(t->headers[i]);
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->headers);
	free(t->cells);
	free(t);
}

int
table_add_row(struct table *t, const char *const *cells)
{
	char **row;
	size_t ncap;

	if (t->nrows == t->cap) {
		ncap = t->cap ? t->cap * 2 : 16;
		row = realloc(t->cells, ncap * t->ncols * sizeof(*row));
		if (row == NULL)
			return -ENOMEM;
		t->cells = row;
		t->cap = ncap;
	}
	row = &t->cells[t->nrows * t->ncols];
	for (size_t i = 0; i < t->ncols; i++) {
		row[i] = strdup(cells[i] ? cells[i] : "-");
		if (row[i] == NULL) {
			while (i-- > 0)
				free(row[i]);
			return -ENOMEM;
		}
	}
	t->nrows++;
	return 0;
}

size_t
table_rows(const struct table *t)
{
	return t->nrows;
}

/* One cell: padded to width unless last, cut with "..." when longer than width. Control
 * characters would break the layout: they print as spaces. */
static void
print_cell(FILE *out, const char *s, size_t width, int last)
{
	size_t len = strlen(s);

	if (len > width) {
		for (size_t i = 0; i + 3 < width; i++)
			fputc((unsigned char)s[i] < 0x20 ? ' ' : s[i], out);
		fputs(width >= 3 ? "..." : "", out);
		return;
	}
	for (size_t i = 0; i < len; i++)
		fputc((unsigned char)s[i] < 0x20 ? ' ' : s[i], out);
	if (!last)
		fprintf(out, "%*s", (int)(width - len), "");
}

static void
print_line(FILE *out, char *const *cells, const size_t *widths, size_t ncols)
{
	for (size_t i = 0; i < ncols; i++) {
		if (i > 0)
			fputs("  ", out);
		print_cell(out, cells[i], widths[i], i + 1 == ncols);
	}
	fputc('\n', out);
}

void
table_print(const struct table *t, FILE *out, size_t max_width, int flex)
{
	size_t *widths, total = 0;

	widths = calloc(t->ncols ? t->ncols : 1, sizeof(*widths));
	if (widths == NULL)
		return;
	for (size_t i = 0; i < t->ncols; i++) {
		widths[i] = strlen(t->headers[i]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t len = strlen(t->cells[r * t->ncols + i]);

			if (len > widths[i])
				widths[i] = len;
		}
		total += widths[i] + (i > 0 ? 2 : 0);
	}
	if (flex >= 0 && (size_t)flex < t->ncols && total > max_width) {
		size_t over = total - max_width, w = widths[flex];

		widths[flex] = w > over + FLEX_MIN ? w - over : (w < FLEX_MIN ? w : FLEX_MIN);
	}
	print_line(out, t->headers, widths, t->ncols);
	for (size_t r = 0; r < t->nrows; r++)
		print_line(out, &t->cells[r * t->ncols], widths, t->ncols);
	free(widths);
}
