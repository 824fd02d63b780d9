/* no_entry.c - a shared object that exports no incidentd_sink_entry: the loader must
 * report it as "not an incidentd sink". */
#include <incidentd/sink.h>

INCIDENTD_SINK_EXPORT int not_a_sink_entry(void);

int
not_a_sink_entry(void)
{
	return 42;
}
