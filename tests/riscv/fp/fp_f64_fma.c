/* Guest program: the "f64_fma" suite of fpcases.c (its host replay: test_rv_fpu --replay f64_fma). */
#include "fpcases.h"

int main(void)
{
	fp_suite_f64_fma();
	return 0;
}
