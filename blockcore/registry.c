/* The table of format drivers, in probing order. A format adds its one line here. */
#include "bc_driver.h"

static const struct bc_format *const bc_formats[] = {
	&bc_format_raw,
	&bc_format_vdi,
	&bc_format_vmdk,
	&bc_format_qcow2,
	&bc_format_luks,
};

const struct bc_format *bc_format_at(int idx)
{
	if (idx < 0 || (size_t)idx >= sizeof(bc_formats) / sizeof(bc_formats[0]))
		return NULL;
	return bc_formats[idx];
}
