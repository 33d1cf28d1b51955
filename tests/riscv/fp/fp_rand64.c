/* Guest program: the "rand64" suite of fpcases.c (its host replay: test_rv_fpu --replay rand64). */
#include "fpcases.h"

int main(void)
{
	fp_suite_rand64();
	return 0;
}
