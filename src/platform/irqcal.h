/* irqcal.h - the interrupt-rate calibration file: C_pkt and C_int as `vspace irq calibrate` measured them, read by vspaced. */
#ifndef VS_PLATFORM_IRQCAL_H
#define VS_PLATFORM_IRQCAL_H

#include <stddef.h>

/*
 * `vspace irq calibrate` writes one JSON object:
 *
 *   {"version":1,"c_pkt_ns":812.4,"c_int_ns":4210.3,"residual_pct":1.9,
 *    "runs":3,"ifname":"eth0","source":"agent serial:/run/vm.agent",
 *    "time":"2025-01-01T12:00:00Z"}
 *
 * c_pkt_ns and c_int_ns (CPU time per received packet and per interrupt,
 * nanoseconds) are what AIR (src/policy/irqrate.h) needs; the rest says how
 * and where they were measured. The default path is IRQCAL_DEFAULT_FILE in
 * vspaced's state directory.
 */

#define IRQCAL_VERSION	    1
#define IRQCAL_DEFAULT_FILE "irq-calibration.json"

struct vs_irqcal {
	double c_pkt_ns;     /* CPU time per packet, ns (> 0) */
	double c_int_ns;     /* CPU time per interrupt, ns (> 0) */
	double residual_pct; /* the fit's rms residual, % of the mean busy time; -1 unknown */
	int runs;	     /* measurement runs in the fit; 0 unknown */
	char ifname[16];     /* the NIC measured, "" unknown */
	char source[96];     /* "agent ADDR" or "local", "" unknown */
	char time[32];	     /* when, UTC ISO 8601, "" unknown */
};

/* Parse the file's text (len bytes, need not be NUL-terminated). Unknown
 * fields, a wrong version, missing or out-of-range costs are errors. Returns 0,
 * or -1 with err naming what was wrong. */
int irqcal_parse(const char *text, size_t len, struct vs_irqcal *out, char *err, size_t errlen);
/* The file's text for c, '\n'-terminated, malloc'd; NULL when out of memory. */
char *irqcal_format(const struct vs_irqcal *c);

/* The least-squares fit of `vspace irq calibrate`: busy_ms[i] =
 * C_pkt * packets[i] + C_int * irqs[i] over n runs (no intercept: the idle
 * baseline is subtracted from busy_ms). fit_ms[i] gets the fitted values (may
 * be NULL). Returns 0 with the costs in ns, the rms residual in ms and as a
 * percentage of the mean busy time; -1 when the runs cannot separate packets
 * from interrupts (n < 2 or proportional columns). */
int irqcal_fit(const double *packets, const double *irqs, const double *busy_ms, int n,
	       double *c_pkt_ns, double *c_int_ns, double *rms_ms, double *rms_pct, double *fit_ms);

#endif
