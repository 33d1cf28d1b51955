/* Sv48 paging: permissions, A/D updates, superpages, faults, sfence.vma, MPRV (paging.c). */
#include "paging.h"

int main(void)
{
	return paging_main(4);
}
