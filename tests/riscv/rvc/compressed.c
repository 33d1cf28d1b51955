/* RV64C: every compressed instruction, results printed (rvc_ops.S). */
#include "rvtest.h"

void rvc_run(uint64_t *out, uint64_t *scratch);

int main(void)
{
	static uint64_t out[64], scratch[8];
	rvc_run(out, scratch);
	for (int i = 0; i < 26; i++) {
		rv_putdec(i);
		rv_putc(' ');
		rv_puthex64(out[i]);
		rv_putc('\n');
	}
	return 0;
}
