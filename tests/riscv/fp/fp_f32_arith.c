/* Guest program: the "f32_arith" suite of fpcases.c (its host replay: test_rv_fpu --replay f32_arith). */
#include "fpcases.h"

int main(void)
{
	fp_suite_f32_arith();
	return 0;
}
