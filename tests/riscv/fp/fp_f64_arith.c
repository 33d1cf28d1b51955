/* Guest program: the "f64_arith" suite of fpcases.c (its host replay: test_rv_fpu --replay f64_arith). */
#include "fpcases.h"

int main(void)
{
	fp_suite_f64_arith();
	return 0;
}
