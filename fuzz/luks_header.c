/*
 * Fuzzes the LUKS1 header parser: the bytes as a header alone (bc_luks_header_check) and as a
 * luks image opened metadata-only (no passphrase: keyslot iteration counts come from the
 * input, so unlocking would only measure PBKDF2), then info over what was parsed.
 */
#include "crypto.h"
#include "fuzz_image.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bc_err err = { 0 };
	struct bc_image *img;
	struct bc_info info;

	(void)bc_luks_header_check(data, size, &err);
	img = fuzz_open("fuzz.luks", "luks", data, size, 0, BC_OPEN_NO_IO);
	if (!img)
		return 0;
	if (bc_get_info(img, &info, &err) == 0)
		bc_info_free(&info);
	bc_close(img);
	return 0;
}
