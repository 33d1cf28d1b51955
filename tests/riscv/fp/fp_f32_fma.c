/* Guest program: the "f32_fma" suite of fpcases.c (its host replay: test_rv_fpu --replay f32_fma). */
#include "fpcases.h"

int main(void)
{
	fp_suite_f32_fma();
	return 0;
}
