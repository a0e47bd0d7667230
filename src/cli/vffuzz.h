/* vffuzz.h - one entry point feeding untrusted bytes to every FlexVF parser of outside input (fuzz target and corpus test). */
#ifndef VS_CLI_VFFUZZ_H
#define VS_CLI_VFFUZZ_H

#include <stddef.h>
#include <stdint.h>

/*
 * The first byte picks the parser, the rest is its input:
 *   'c' `vspace vf replay` CSV (under fair, activity with a margin, random
 *       with a hold)              'n' a PF's RTM_NEWLINK answer (vfnl_parse)
 *   'e' the emulated VF list text (vfnl_parse_emul)
 *   'p' PCI addresses and MACs as sysfs and netlink give them, one a line
 *   'q' what QEMU sends during an unplug (device_del, DEVICE_DELETED,
 *       announce-self) through the non-blocking QMP client
 *   'a' a guest agent's stats result (vfrate_agent_packets)
 * Never crashes, leaks or reads out of bounds. Returns 0.
 */
int vffuzz_one(const uint8_t *data, size_t len);

#endif
