/* db_pg.c - the db.h driver for PostgreSQL (libpq). Not written yet: connecting says so. */
#include "db_int.h"

#include <errno.h>
#include <stdio.h>

int
db_pg_open(const char *conninfo, struct db **out, char *err, size_t errlen)
{
	(void)conninfo;
	*out = NULL;
	snprintf(err, errlen, "this incidentd was built without PostgreSQL support");
	return -ENOTSUP;
}
