/* Shared body of the Sv39/Sv48/Sv57 tests: builds page tables and runs the checks in S and
 * U modes; faults go to the M-mode handler, which prints cause and tval. */
#ifndef PAGING_H
#define PAGING_H
#include <stdint.h>
int paging_main(int levels);
#endif
