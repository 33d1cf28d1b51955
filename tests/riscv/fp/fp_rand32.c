/* Guest program: the "rand32" suite of fpcases.c (its host replay: test_rv_fpu --replay rand32). */
#include "fpcases.h"

int main(void)
{
	fp_suite_rand32();
	return 0;
}
