/* Shared body of the Svpbmt/Svnapot programs: on = the extensions are enabled. */
#ifndef SVEXT_BODY_H
#define SVEXT_BODY_H
int svext_main(int on);
#endif
