/* Vectored trap table for interrupts.c: entry i records i in sscratch (unused by these
 * programs otherwise) and continues at the common entry. */
	.text
	.align 8
	.globl rv_vector_table
rv_vector_table:
	.option push
	.option norvc
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11
	j	vec_\i
	.endr
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11
vec_\i:	csrwi	sscratch, \i
	j	rv_mtrap_entry
	.endr
	.option pop
