/* bad_abi.c - a sink whose descriptor claims ABI version 999: the loader must refuse it
 * without calling anything else. */
#include <stddef.h>

#include <incidentd/sink.h>

INCIDENTD_SINK_EXPORT const struct incidentd_sink *incidentd_sink_entry(void);

static const struct incidentd_sink bad_descriptor = {
	.abi_version = 999,
	.struct_size = sizeof(struct incidentd_sink),
	.name = "bad_abi",
	.description = "claims an ABI this broker does not know",
};

const struct incidentd_sink *
incidentd_sink_entry(void)
{
	return &bad_descriptor;
}
