/* Svpbmt and Svnapot disabled (the default): PBMT and N bits make a PTE fault (body.c). */
#include "body.h"

int main(void)
{
	return svext_main(0);
}
