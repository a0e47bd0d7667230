/* memnet.c - `vspace memnet`: create a region, serve regions over HTTP, inspect one, replay the sizing controller on recorded intervals. */
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/cliopt.h"
#include "lib/log.h"
#include "lib/lines.h"
#include "lib/strutil.h"
#include "memnet/csv.h"
#include "memnet/reader.h"
#include "memnet/region.h"
#include "memnet/server.h"
#include "policy/memnet.h"

/* Longest replay input line. */
#define MEMNET_LINE_MAX 4096
/* VMs a replay tracks at most. */
#define MEMNET_REPLAY_VMS 256

static void memnet_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace memnet COMMAND [options]   (vspace memnet COMMAND --help for each)\n"
		"\n"
		"MemNet (SPEC 7.3): a VM puts finished results into a shared memory region\n"
		"(QEMU ivshmem-plain); the host serves them over HTTP and sizes each VM's\n"
		"share of a memory budget from its job rate and response time.\n"
		"\n"
		"Commands:\n"
		"  create     make a region file for a VM\n"
		"  serve      serve regions over HTTP/1.1 (one process, many VMs)\n"
		"  ls         check a region and list its objects (read-only)\n"
		"  replay     run the sizing controller on recorded intervals (CSV)\n"
		"\n"
		"Exit status: 0 ok, 1 failure at run time, 2 bad usage or input.\n"
		"\n"
		"Examples:\n"
		"  vspace memnet create /dev/shm/vm1.memnet --size-mb 64\n"
		"  vspace memnet serve --region /dev/shm/vm1.memnet --listen 127.0.0.1:8090\n"
		"  vspace memnet replay --slo-ms 200 --budget-mb 64 < examples/memnet/two-vms.csv\n"
		"(the guest side: vspace-agent memnet put NAME FILE)\n");
}

static int memnet_opt_u64(const char *prog, const char *opt, const char *text, long lo, long hi,
			  long *out)
{
	if (str_to_long(text, lo, hi, out) < 0) {
		fprintf(stderr, "%s: %s: \"%s\" is not a whole number in [%ld, %ld]\n", prog, opt,
			text, lo, hi);
		return -1;
	}
	return 0;
}

static int memnet_opt_double(const char *prog, const char *opt, const char *text, double lo,
			     double hi, double *out)
{
	if (str_to_double(text, lo, hi, out) < 0) {
		fprintf(stderr, "%s: %s: \"%s\" is not a number in [%g, %g]\n", prog, opt, text, lo,
			hi);
		return -1;
	}
	return 0;
}

static bool memnet_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	return false;
}

/* ---- create -------------------------------------------------------------- */

static void memnet_create_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace memnet create PATH --size-mb N [options]\n"
		"\n"
		"Make PATH a fresh MemNet region for one VM: a sparse file (memory is used only\n"
		"as the guest writes) with the header and an empty object table. Give the same\n"
		"file to QEMU:\n"
		"  -object memory-backend-file,id=mn0,share=on,mem-path=PATH,size=NM\n"
		"  -device ivshmem-plain,memdev=mn0\n"
		"and to vspace memnet serve --region PATH.\n"
		"\n"
		"Options:\n"
		"  --size-mb N    region size in MiB: a power of two (QEMU's ivshmem-plain\n"
		"                 needs one), 1 to 1048576\n"
		"  --slots N      object table slots (default: one per 64 KiB, 64 to 4096)\n"
		"  --quota-mb Q   the guest's initial quota (default: the whole data area)\n"
		"  --force        re-initialise an existing file (its objects are lost; not\n"
		"                 while a guest writes to it)\n"
		"  -h, --help     this text\n"
		"\n"
		"Exit status: 0 created, 1 the file cannot be made, 2 bad usage.\n"
		"\n"
		"Example:\n"
		"  vspace memnet create /dev/shm/vm1.memnet --size-mb 64\n");
}

static int memnet_create_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size-mb", required_argument, NULL, 's' },
		{ "slots", required_argument, NULL, 'n' },
		{ "quota-mb", required_argument, NULL, 'q' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = "vspace memnet create";
	struct memnet_create_opts o = { .mode = 0600 };
	char err[512];
	bool usage;
	long v;
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (memnet_opt_u64(prog, "--size-mb", optarg, 1, 1L << 20, &v) < 0)
				return 2;
			o.bytes = (uint64_t)v << 20;
			break;
		case 'n':
			if (memnet_opt_u64(prog, "--slots", optarg, 1, MEMNET_SLOTS_MAX, &v) < 0)
				return 2;
			o.slots = (uint32_t)v;
			break;
		case 'q':
			if (memnet_opt_u64(prog, "--quota-mb", optarg, 1, 1L << 20, &v) < 0)
				return 2;
			o.quota_bytes = (uint64_t)v << 20;
			break;
		case 'f':
			o.force = true;
			break;
		case 'h':
			memnet_create_usage(stdout);
			return 0;
		default:
			return cliopt_error(prog, ch, argv);
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: %s (see --help)\n", prog,
			optind >= argc ? "PATH is required" : "one PATH only");
		return 2;
	}
	if (!o.bytes) {
		fprintf(stderr, "%s: --size-mb is required\n", prog);
		return 2;
	}
	if (memnet_region_create(argv[optind], &o, &usage, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return usage ? 2 : 1;
	}
	return 0;
}

/* ---- serve --------------------------------------------------------------- */

static void memnet_serve_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace memnet serve --region [NAME=]PATH[,...] --listen HOST:PORT "
		"[options]\n"
		"\n"
		"The host's transmission module: serve the objects that VMs put into their\n"
		"regions over HTTP/1.1, one process for many regions (one per VM), straight\n"
		"from the shared memory. Every region is checked on each scan; a corrupt\n"
		"region is refused (503, one log line) without affecting the others.\n"
		"\n"
		"URLs: /  (JSON status)   /NAME/  (JSON list)   /NAME/OBJECT  (GET, HEAD, Range;\n"
		"an object still being written is sent chunked as it grows)\n"
		"\n"
		"Options:\n"
		"  --region [NAME=]PATH[,...]  regions to serve (repeatable); NAME defaults to\n"
		"                    the file name without its extension (/dev/shm/vm1.memnet:\n"
		"                    vm1); a file that does not exist yet is tried every second\n"
		"  --listen HOST:PORT  numeric address ([V6ADDR]:PORT), port 0 picks one\n"
		"  --poll-ms MS      how often the tables are scanned (default 10)\n"
		"  --evict-after N   let a complete object go after N full serves (default 0:\n"
		"                    only when its room is needed)\n"
		"  --evict-unserved  when room is needed, also evict objects nobody fetched yet\n"
		"  --no-punch        do not punch released objects' pages out of the file\n"
		"  --idle-timeout S  close connections idle this long (default 60)\n"
		"  --max-conns N     connections at most (default 4096)\n"
		"  --budget-mb B     orchestrate: every interval size each VM's quota (M/M/1 +\n"
		"                    response-time feedback) and divide B MiB among them\n"
		"  --slo-ms X        the job response-time target (needed with --budget-mb)\n"
		"  --interval-s S    the orchestrator's interval (default 1)\n"
		"  --min-mb M        the smallest quota (default 1)\n"
		"  -v, --verbose     log more; -q, --quiet  warnings only\n"
		"  -h, --help        this text\n"
		"\n"
		"When room is needed (a guest over its quota, or a put waiting for space) the\n"
		"least recently used served objects are evicted: released to the guest, their\n"
		"pages punched out of the file.\n"
		"\n"
		"Exit status: 0 stopped by SIGINT/SIGTERM, 1 failure at run time (cannot\n"
		"listen), 2 bad usage.\n"
		"\n"
		"Example:\n"
		"  vspace memnet serve --region vm1=/dev/shm/vm1.memnet,vm2=/dev/shm/vm2.memnet "
		"\\\n"
		"      --listen 127.0.0.1:8090 --budget-mb 256 --slo-ms 200\n");
}

/* Add "NAME=PATH" or "PATH" entries of a comma-separated list. */
static int memnet_serve_regions(struct memnet_server *s, char *list)
{
	char *save = NULL;

	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char name[MEMNET_REGION_NAME_MAX + 64], err[300], *eq = strchr(tok, '='), *path;
		if (eq) {
			*eq = '\0';
			str_copy(name, tok, sizeof(name));
			path = eq + 1;
		} else {
			char tmp[4096];
			str_copy(tmp, tok, sizeof(tmp));
			str_copy(name, basename(tmp), sizeof(name));
			char *dot = strrchr(name, '.');
			if (dot && dot != name)
				*dot = '\0';
			path = tok;
		}
		if (!*path) {
			fprintf(stderr, "vspace memnet serve: --region %s=: no PATH\n", name);
			return -1;
		}
		if (memnet_server_add(s, name, path, err, sizeof(err)) < 0) {
			fprintf(stderr, "vspace memnet serve: --region %s: %s%s\n", path, err,
				eq ? "" : " (name it: --region NAME=PATH)");
			return -1;
		}
	}
	return 0;
}

static int memnet_serve_main(int argc, char **argv)
{
	enum {
		OPT_REGION = 256,
		OPT_LISTEN,
		OPT_POLL,
		OPT_EVICT_AFTER,
		OPT_EVICT_UNSERVED,
		OPT_NO_PUNCH,
		OPT_IDLE,
		OPT_MAX_CONNS,
		OPT_BUDGET,
		OPT_SLO,
		OPT_INTERVAL,
		OPT_MIN,
	};
	static const struct option longopts[] = {
		{ "region", required_argument, NULL, OPT_REGION },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "poll-ms", required_argument, NULL, OPT_POLL },
		{ "evict-after", required_argument, NULL, OPT_EVICT_AFTER },
		{ "evict-unserved", no_argument, NULL, OPT_EVICT_UNSERVED },
		{ "no-punch", no_argument, NULL, OPT_NO_PUNCH },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
		{ "budget-mb", required_argument, NULL, OPT_BUDGET },
		{ "slo-ms", required_argument, NULL, OPT_SLO },
		{ "interval-s", required_argument, NULL, OPT_INTERVAL },
		{ "min-mb", required_argument, NULL, OPT_MIN },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = "vspace memnet serve";
	struct memnet_server_opts o;
	char *regions[MEMNET_SERVER_REGIONS_MAX];
	int n_regions = 0, ch, rc;
	enum vs_log_level level = VS_LOG_INFO;
	char err[512];
	double d;
	long v;

	memnet_server_defaults(&o);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":vqh", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_REGION:
			if (n_regions == MEMNET_SERVER_REGIONS_MAX) {
				fprintf(stderr, "%s: at most %d --region\n", prog,
					MEMNET_SERVER_REGIONS_MAX);
				return 2;
			}
			regions[n_regions++] = optarg;
			break;
		case OPT_LISTEN:
			o.listen = optarg;
			break;
		case OPT_POLL:
			if (memnet_opt_u64(prog, "--poll-ms", optarg, 1, 10000, &v) < 0)
				return 2;
			o.poll_ms = (unsigned)v;
			break;
		case OPT_EVICT_AFTER:
			if (memnet_opt_u64(prog, "--evict-after", optarg, 0, 1000000, &v) < 0)
				return 2;
			o.evict.after_serves = (unsigned)v;
			break;
		case OPT_EVICT_UNSERVED:
			o.evict.unserved = true;
			break;
		case OPT_NO_PUNCH:
			o.evict.punch = false;
			break;
		case OPT_IDLE:
			if (memnet_opt_u64(prog, "--idle-timeout", optarg, 1, 86400, &v) < 0)
				return 2;
			o.idle_timeout_ms = (unsigned)v * 1000u;
			break;
		case OPT_MAX_CONNS:
			if (memnet_opt_u64(prog, "--max-conns", optarg, 1, 1000000, &v) < 0)
				return 2;
			o.max_conns = (unsigned)v;
			break;
		case OPT_BUDGET:
			if (memnet_opt_u64(prog, "--budget-mb", optarg, 1, 1L << 30, &v) < 0)
				return 2;
			o.budget_bytes = (uint64_t)v << 20;
			break;
		case OPT_SLO:
			if (memnet_opt_double(prog, "--slo-ms", optarg, 1e-3, 1e9, &o.slo_ms) < 0)
				return 2;
			break;
		case OPT_INTERVAL:
			if (memnet_opt_double(prog, "--interval-s", optarg, 0.01, 86400, &d) < 0)
				return 2;
			o.interval_ms = (unsigned)(d * 1000 + 0.5);
			break;
		case OPT_MIN:
			if (memnet_opt_u64(prog, "--min-mb", optarg, 0, 1L << 20, &v) < 0)
				return 2;
			o.sizing.min_bytes = (uint64_t)v << 20;
			break;
		case 'v':
			level = VS_LOG_DEBUG;
			break;
		case 'q':
			level = VS_LOG_WARN;
			break;
		case 'h':
			memnet_serve_usage(stdout);
			return 0;
		default:
			return cliopt_error(prog, ch, argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog, argv[optind]);
		return 2;
	}
	if (!n_regions || !o.listen) {
		fprintf(stderr, "%s: --region and --listen are required (see --help)\n", prog);
		return 2;
	}
	if (o.budget_bytes && o.slo_ms <= 0) {
		fprintf(stderr, "%s: --budget-mb needs --slo-ms\n", prog);
		return 2;
	}
	if (!o.budget_bytes && o.slo_ms > 0) {
		fprintf(stderr, "%s: --slo-ms is for the orchestrator: give --budget-mb too\n",
			prog);
		return 2;
	}
	log_init("vspace memnet serve", level);
	bool usage;
	struct memnet_server *s = memnet_server_new(&o, &usage, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return usage ? 2 : 1;
	}
	for (int i = 0; i < n_regions; i++)
		if (memnet_serve_regions(s, regions[i]) < 0) {
			memnet_server_free(s);
			return 2;
		}
	rc = memnet_server_run(s);
	memnet_server_free(s);
	return rc;
}

/* ---- ls ------------------------------------------------------------------ */

static void memnet_ls_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace memnet ls PATH\n"
		"\n"
		"Check the region PATH as the server does (header, every slot) and list its\n"
		"objects: slot, state, length, reserved bytes, generation, name. Writes nothing.\n"
		"Problems are reported on stderr, one line each.\n"
		"\n"
		"Exit status: 0 the region checks, 1 it is refused (the reason on stderr),\n"
		"2 bad usage.\n");
}

static int memnet_ls_main(int argc, char **argv)
{
	static const char *const states[] = { "free", "writing", "complete", "removed" };
	struct memnet_reader r;
	char err[300];

	if (memnet_wants_help(argc, argv)) {
		memnet_ls_usage(stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "vspace memnet ls: %s (see --help)\n",
			argc < 2 ? "PATH is required"
				 : (argv[1][0] == '-' ? "unknown option" : "one PATH only"));
		return 2;
	}
	log_init("vspace memnet ls", VS_LOG_WARN);
	memnet_reader_init(&r, "region", argv[1], err, sizeof(err));
	memnet_reader_scan(&r, 1, true);
	if (!r.ok) {
		memnet_reader_free(&r);
		return 1;
	}
	printf("# %s: %" PRIu64 " bytes, %u slots, data %" PRIu64 " bytes, quota %" PRIu64
	       ", in use %" PRIu64 ", %u objects, %u bad slots\n",
	       argv[1], r.geom.region_bytes, r.geom.slot_count, r.geom.data_bytes,
	       r.geom.quota_bytes, r.used_bytes, r.n_live, r.n_bad);
	printf("slot,state,length,capacity,gen,name\n");
	for (uint32_t i = 0; i < r.geom.slot_count; i++) {
		const struct memnet_hslot *h = &r.slots[i];
		if (h->live)
			printf("%u,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%s\n", i,
			       states[h->o.state], h->o.length, h->o.capacity, h->o.gen, h->o.name);
	}
	memnet_reader_free(&r);
	return 0;
}

/* ---- replay -------------------------------------------------------------- */

static void memnet_replay_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace memnet replay --slo-ms X --budget-mb Y [options] < intervals.csv\n"
		"\n"
		"Run MemNet's sizing controller and orchestrator on recorded intervals and print\n"
		"the quota each VM gets. No region is touched.\n"
		"\n"
		"Input (stdin): CSV with a header naming the columns, in any order:\n"
		"  interval      interval number (whole, not decreasing; rows of one interval\n"
		"                together)\n"
		"  vm            the VM (1-32 of A-Z a-z 0-9 . _ -)\n"
		"  arrivals      jobs that arrived in the interval\n"
		"  service_ms    their mean service time, ms (> 0 when jobs arrived)\n"
		"  object_bytes  their results' mean size, bytes\n"
		"  response_ms   their measured mean response time, ms (empty: unknown)\n"
		"Blank lines and lines starting with '#' are skipped.\n"
		"\n"
		"Output (stdout): interval,vm,quota_bytes - one row per VM of each interval,\n"
		"the decision at the interval's end. With --explain a column `why` gives the\n"
		"model's numbers.\n"
		"\n"
		"Model (docs/MEMNET.md): lambda = arrivals / interval, mu = 1 / service time,\n"
		"rho = lambda / mu; the region holds the results of the jobs in an M/M/1\n"
		"system except with probability eps: n = ceil(ln eps / ln rho) - 1 (rho >= 1:\n"
		"n = lambda * SLO); quota = max(min, f * n * object_bytes) where the factor f\n"
		"follows response_ms against the SLO. The budget is divided max-min fairly.\n"
		"A VM absent from an interval takes no part in it.\n"
		"\n"
		"Options:\n"
		"  --slo-ms X          target mean job response time, ms\n"
		"  --budget-mb Y       host memory budget for all regions, MiB\n"
		"  --interval-s S      length of an interval (default 1)\n"
		"  --min-mb M          smallest quota (default 1)\n"
		"  --overflow-prob E   eps (default 0.05)\n"
		"  --gain G            feedback step (default 0.25)\n"
		"  --band B            feedback dead band below the SLO (default 0.2)\n"
		"  --explain           add the `why` column\n"
		"  -h, --help          this text\n"
		"\n"
		"Exit status: 0 ok, 2 bad argument or malformed input (the message names the\n"
		"line).\n"
		"\n"
		"Example:\n"
		"  vspace memnet replay --slo-ms 200 --budget-mb 64 < "
		"examples/memnet/two-vms.csv\n");
}

struct memnet_replay_vm {
	char name[MEMNET_REGION_NAME_MAX + 1];
	struct memnet_sizing_state st;
};

struct memnet_replay {
	struct memnet_sizing_params p;
	double slo_ms, interval_s;
	uint64_t budget;
	bool explain;
	struct memnet_replay_vm vm[MEMNET_REPLAY_VMS];
	size_t n_vm;
	/* the interval being read */
	struct memnet_csv_row rows[MEMNET_REPLAY_VMS];
	size_t n_rows;
};

static void memnet_replay_flush(struct memnet_replay *rp, FILE *out)
{
	uint64_t req[MEMNET_REPLAY_VMS], grant[MEMNET_REPLAY_VMS];
	struct memnet_sizing_in in[MEMNET_REPLAY_VMS];
	struct memnet_sizing_out so[MEMNET_REPLAY_VMS];

	for (size_t i = 0; i < rp->n_rows; i++) {
		const struct memnet_csv_row *row = &rp->rows[i];
		size_t k;
		for (k = 0; k < rp->n_vm; k++)
			if (strcmp(rp->vm[k].name, row->vm) == 0)
				break;
		in[i] = (struct memnet_sizing_in){ .interval_s = rp->interval_s,
						   .arrivals = row->arrivals,
						   .service_ms = row->service_ms,
						   .object_bytes = row->object_bytes,
						   .has_response = row->has_response,
						   .response_ms = row->response_ms,
						   .slo_ms = rp->slo_ms };
		memnet_size(&rp->p, &rp->vm[k].st, &in[i], &so[i]);
		req[i] = so[i].request_bytes;
	}
	memnet_orchestrate(rp->budget, req, NULL, rp->n_rows, grant);
	for (size_t i = 0; i < rp->n_rows; i++) {
		fprintf(out, "%ld,%s,%" PRIu64, rp->rows[i].interval, rp->rows[i].vm, grant[i]);
		if (rp->explain) {
			char why[512];
			memnet_sizing_explain(&rp->p, &in[i], &so[i], grant[i], why, sizeof(why));
			fprintf(out, ",\"%s\"", why);
		}
		fputc('\n', out);
	}
	rp->n_rows = 0;
}

/* Returns 0, or 2 with the message printed. */
static int memnet_replay_row(struct memnet_replay *rp, const struct memnet_csv_row *row,
			     long lineno, FILE *out)
{
	if (rp->n_rows && row->interval != rp->rows[0].interval) {
		if (row->interval < rp->rows[0].interval) {
			fprintf(stderr,
				"vspace memnet replay: stdin:%ld: interval %ld after %ld "
				"(intervals "
				"must not go back)\n",
				lineno, row->interval, rp->rows[0].interval);
			return 2;
		}
		memnet_replay_flush(rp, out);
	}
	for (size_t i = 0; i < rp->n_rows; i++)
		if (strcmp(rp->rows[i].vm, row->vm) == 0) {
			fprintf(stderr,
				"vspace memnet replay: stdin:%ld: vm %s appears twice in interval "
				"%ld\n",
				lineno, row->vm, row->interval);
			return 2;
		}
	size_t k;
	for (k = 0; k < rp->n_vm; k++)
		if (strcmp(rp->vm[k].name, row->vm) == 0)
			break;
	if (k == rp->n_vm) {
		if (rp->n_vm == MEMNET_REPLAY_VMS) {
			fprintf(stderr, "vspace memnet replay: stdin:%ld: more than %d VMs\n",
				lineno, MEMNET_REPLAY_VMS);
			return 2;
		}
		str_copy(rp->vm[k].name, row->vm, sizeof(rp->vm[k].name));
		rp->vm[k].st.factor = 0;
		rp->n_vm++;
	}
	rp->rows[rp->n_rows++] = *row;
	return 0;
}

static int memnet_replay_run(struct memnet_replay *rp, FILE *in, FILE *out)
{
	char line[MEMNET_LINE_MAX + 1], err[300], *t;
	struct vs_lines lines;
	int got;
	struct memnet_csv csv;
	struct memnet_csv_row row;
	bool have_header = false;

	fprintf(out, "interval,vm,quota_bytes%s\n", rp->explain ? ",why" : "");
	lines_init(&lines, in, "stdin", line, sizeof(line));
	while ((got = lines_next(&lines, &t, err, sizeof(err))) == 1) {
		if (!have_header) {
			if (memnet_csv_header(&csv, t, err, sizeof(err)) < 0) {
				fprintf(stderr, "vspace memnet replay: stdin:%ld: %s\n",
					lines.lineno, err);
				return 2;
			}
			have_header = true;
			continue;
		}
		if (memnet_csv_row(&csv, t, &row, err, sizeof(err)) < 0) {
			fprintf(stderr, "vspace memnet replay: stdin:%ld: %s\n", lines.lineno, err);
			return 2;
		}
		if (memnet_replay_row(rp, &row, lines.lineno, out) != 0)
			return 2;
	}
	if (got < 0) {
		fprintf(stderr, "vspace memnet replay: %s\n", err);
		return 2;
	}
	if (!have_header) {
		fprintf(stderr, "vspace memnet replay: stdin: no header line (expected "
				"interval,vm,arrivals,service_ms,object_bytes,response_ms)\n");
		return 2;
	}
	if (rp->n_rows)
		memnet_replay_flush(rp, out);
	return fflush(out) == 0 ? 0 : 1;
}

static int memnet_replay_main(int argc, char **argv)
{
	enum {
		OPT_SLO = 256,
		OPT_BUDGET,
		OPT_INTERVAL,
		OPT_MIN,
		OPT_EPS,
		OPT_GAIN,
		OPT_BAND,
		OPT_EXPLAIN
	};
	static const struct option longopts[] = {
		{ "slo-ms", required_argument, NULL, OPT_SLO },
		{ "budget-mb", required_argument, NULL, OPT_BUDGET },
		{ "interval-s", required_argument, NULL, OPT_INTERVAL },
		{ "min-mb", required_argument, NULL, OPT_MIN },
		{ "overflow-prob", required_argument, NULL, OPT_EPS },
		{ "gain", required_argument, NULL, OPT_GAIN },
		{ "band", required_argument, NULL, OPT_BAND },
		{ "explain", no_argument, NULL, OPT_EXPLAIN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = "vspace memnet replay";
	struct memnet_replay *rp = calloc(1, sizeof(*rp));
	double budget_mb = 0, min_mb = 1;
	char err[256];
	int ch, rc = 2;

	if (!rp) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	memnet_sizing_defaults(&rp->p);
	rp->interval_s = 1;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		int bad = 0;
		switch (ch) {
		case OPT_SLO:
			bad = memnet_opt_double(prog, "--slo-ms", optarg, 1e-3, 1e9, &rp->slo_ms);
			break;
		case OPT_BUDGET:
			bad = memnet_opt_double(prog, "--budget-mb", optarg, 1e-3, 1e9, &budget_mb);
			break;
		case OPT_INTERVAL:
			bad = memnet_opt_double(prog, "--interval-s", optarg, 1e-3, 1e6,
						&rp->interval_s);
			break;
		case OPT_MIN:
			bad = memnet_opt_double(prog, "--min-mb", optarg, 0, 1e9, &min_mb);
			break;
		case OPT_EPS:
			bad = memnet_opt_double(prog, "--overflow-prob", optarg, 1e-12, 0.999999,
						&rp->p.overflow_prob);
			break;
		case OPT_GAIN:
			bad = memnet_opt_double(prog, "--gain", optarg, 1e-6, 0.999999,
						&rp->p.gain);
			break;
		case OPT_BAND:
			bad = memnet_opt_double(prog, "--band", optarg, 0, 0.999999, &rp->p.band);
			break;
		case OPT_EXPLAIN:
			rp->explain = true;
			break;
		case 'h':
			memnet_replay_usage(stdout);
			free(rp);
			return 0;
		default:
			free(rp);
			return cliopt_error(prog, ch, argv);
		}
		if (bad)
			goto out;
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\" (the input comes on stdin)\n", prog,
			argv[optind]);
		goto out;
	}
	if (rp->slo_ms <= 0 || budget_mb <= 0) {
		fprintf(stderr, "%s: --slo-ms and --budget-mb are required (see --help)\n", prog);
		goto out;
	}
	rp->budget = (uint64_t)(budget_mb * 1048576.0);
	rp->p.min_bytes = (uint64_t)(min_mb * 1048576.0);
	if (memnet_sizing_check(&rp->p, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		goto out;
	}
	rc = memnet_replay_run(rp, stdin, stdout);
out:
	free(rp);
	return rc;
}

/* ---- dispatch ------------------------------------------------------------ */

int memnet_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} cmds[] = {
		{ "create", memnet_create_main },
		{ "serve", memnet_serve_main },
		{ "ls", memnet_ls_main },
		{ "replay", memnet_replay_main },
	};

	if (argc < 2) {
		fprintf(stderr, "vspace memnet: missing COMMAND\n\n");
		memnet_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		memnet_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "vspace memnet: unknown %s \"%s\" (see vspace memnet --help)\n",
		argv[1][0] == '-' ? "option" : "command", argv[1]);
	return 2;
}
