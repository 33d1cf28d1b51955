/* Guest program: the "compare" suite of fpcases.c (its host replay: test_rv_fpu --replay compare). */
#include "fpcases.h"

int main(void)
{
	fp_suite_compare();
	return 0;
}
