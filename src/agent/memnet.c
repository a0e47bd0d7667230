/* memnet.c - `vspace-agent memnet`: the guest's processing module puts finished objects into the VM's MemNet region (put, ls, rm). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "lib/cliopt.h"
#include "lib/strutil.h"
#include "memnet/writer.h"

/* Exit status when the quota, the table or the data area has no room. */
#define AGENT_MEMNET_EXIT_NOSPACE 3

static void agent_memnet_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace-agent memnet [--region PATH | --pci BDF] COMMAND [args]\n"
		"\n"
		"The guest side of MemNet (SPEC 7.3): put finished results into the VM's shared\n"
		"memory region, from where the host serves them (vspace memnet serve), within\n"
		"the quota the host sets.\n"
		"\n"
		"Commands:\n"
		"  put NAME FILE|-   write FILE (or stdin) as object NAME (1-56 of A-Z a-z 0-9\n"
		"                    . _ -); it is served while it is written (chunked) and\n"
		"                    replaces an older object of that name when complete\n"
		"      --reserve BYTES   reserve this much up front (stdin of unknown size:\n"
		"                        default the largest free extent within the quota; the\n"
		"                        rest is given back at the end)\n"
		"      --wait S          wait up to S seconds for room (the host evicts served\n"
		"                        objects for it); default 0: fail at once\n"
		"      --job-service-ms MS --job-response-ms MS\n"
		"                        count this object as one finished job with these times\n"
		"                        (what the host's sizing controller reads)\n"
		"  ls                the objects, the quota and what is in use\n"
		"  rm NAME           withdraw object NAME (its room returns once the host lets\n"
		"                    go of it)\n"
		"\n"
		"Options:\n"
		"  --region PATH     the region file (between host processes, tests)\n"
		"  --pci BDF         the ivshmem device (default: the only one, PCI 1af4:1110;\n"
		"                    BAR 2 through /sys/bus/pci/devices/BDF/resource2)\n"
		"  --sysroot DIR     resolve /sys under DIR (tests)\n"
		"  -h, --help        this text\n"
		"\n"
		"Exit status: 0 ok, 1 failure (no region, corrupt region, I/O, no such\n"
		"object), 2 bad usage, 3 no room (quota, slots or contiguous space).\n"
		"\n"
		"Examples:\n"
		"  xz -c clip.raw | vspace-agent memnet put clip.xz -\n"
		"  vspace-agent memnet --region /dev/shm/vm1.memnet put index.html index.html\n");
}

static int agent_memnet_status(int rc)
{
	return rc == MEMNET_ENOSPACE ? AGENT_MEMNET_EXIT_NOSPACE : 1;
}

/* What `put` was asked to do (parsed before the region is opened). */
struct agent_put_args {
	const char *name, *file;
	double wait_s, service_ms, response_ms; /* times < 0: no job counted */
	long reserve;
};

static int agent_memnet_put_args(int argc, char **argv, struct agent_put_args *a)
{
	enum { OPT_RESERVE = 256, OPT_WAIT, OPT_SERVICE, OPT_RESPONSE };
	static const struct option longopts[] = {
		{ "reserve", required_argument, NULL, OPT_RESERVE },
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "job-service-ms", required_argument, NULL, OPT_SERVICE },
		{ "job-response-ms", required_argument, NULL, OPT_RESPONSE },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = "vspace-agent memnet put";
	char err[256];
	int ch;

	*a = (struct agent_put_args){ .service_ms = -1, .response_ms = -1 };
	optind = 0; /* re-initialise getopt: the caller parsed with '+' */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_RESERVE:
			if (str_to_long(optarg, 1, INT64_MAX, &a->reserve) < 0) {
				fprintf(stderr, "%s: --reserve: \"%s\" is not a byte count > 0\n",
					prog, optarg);
				return 2;
			}
			break;
		case OPT_WAIT:
			if (str_to_double(optarg, 0, 86400, &a->wait_s) < 0) {
				fprintf(stderr, "%s: --wait: \"%s\" is not seconds in [0, 86400]\n",
					prog, optarg);
				return 2;
			}
			break;
		case OPT_SERVICE:
		case OPT_RESPONSE:
			if (str_to_double(optarg, 0, 1e9,
					  ch == OPT_SERVICE ? &a->service_ms : &a->response_ms) <
			    0) {
				fprintf(stderr, "%s: %s: \"%s\" is not milliseconds in [0, 1e9]\n",
					prog,
					ch == OPT_SERVICE ? "--job-service-ms"
							  : "--job-response-ms",
					optarg);
				return 2;
			}
			break;
		default:
			return cliopt_error(prog, ch, argv);
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "%s: expected NAME and FILE (or - for stdin)\n", prog);
		return 2;
	}
	if ((a->service_ms < 0) != (a->response_ms < 0)) {
		fprintf(stderr, "%s: --job-service-ms and --job-response-ms go together\n", prog);
		return 2;
	}
	a->name = argv[optind];
	a->file = argv[optind + 1];
	if (memnet_name_check(a->name, strlen(a->name), err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: object name \"%s\": %s\n", prog, a->name, err);
		return 2;
	}
	return 0;
}

static int agent_memnet_put(struct memnet_writer *w, const struct agent_put_args *a)
{
	const char *prog = "vspace-agent memnet put";
	long reserve = a->reserve;
	char err[512];
	int fd, rc;

	fd = strcmp(a->file, "-") == 0 ? STDIN_FILENO : open(a->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, a->file, strerror(errno));
		return 1;
	}
	struct stat st;
	if (!reserve && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		reserve = st.st_size ? st.st_size : 1;
	struct memnet_put p;
	rc = memnet_put_begin(w, a->name, (uint64_t)reserve, (unsigned)(a->wait_s * 1000), &p, err,
			      sizeof(err));
	if (rc == 0) {
		rc = memnet_put_from_fd(&p, fd, err, sizeof(err));
		if (rc == 0)
			rc = memnet_put_commit(&p, err, sizeof(err));
		else
			memnet_put_abort(&p);
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc == 0 && a->service_ms >= 0)
		rc = memnet_job_done(w, (uint64_t)(a->service_ms * 1000),
				     (uint64_t)(a->response_ms * 1000), p.length, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return agent_memnet_status(rc);
	}
	return 0;
}

static int agent_memnet_ls(struct memnet_writer *w)
{
	static const char *const states[] = { "free", "writing", "complete", "removed" };
	struct memnet_obj *objs;
	struct memnet_usage u;
	size_t n;
	char err[256];

	if (memnet_list(w, &objs, &n, &u, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace-agent memnet ls: %s\n", err);
		return 1;
	}
	printf("# %s: quota %" PRIu64 ", in use %" PRIu64 " of %" PRIu64
	       " data bytes, %u of %u slots\n",
	       w->reg.path, u.quota_bytes, u.used_bytes, u.data_bytes, u.slots_used, u.slots);
	printf("name,state,length,capacity,gen\n");
	for (size_t i = 0; i < n; i++)
		printf("%s,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", objs[i].name,
		       states[objs[i].state], objs[i].length, objs[i].capacity, objs[i].gen);
	free(objs);
	return 0;
}

int agent_memnet_main(int argc, char **argv)
{
	enum { OPT_REGION = 256, OPT_PCI, OPT_SYSROOT };
	static const struct option longopts[] = {
		{ "region", required_argument, NULL, OPT_REGION },
		{ "pci", required_argument, NULL, OPT_PCI },
		{ "sysroot", required_argument, NULL, OPT_SYSROOT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = "vspace-agent memnet", *region = NULL, *pci = NULL, *sysroot = "/";
	struct memnet_writer w;
	char err[512], name[512];
	int ch, rc;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_REGION:
			region = optarg;
			break;
		case OPT_PCI:
			pci = optarg;
			break;
		case OPT_SYSROOT:
			sysroot = optarg;
			break;
		case 'h':
			agent_memnet_usage(stdout);
			return 0;
		default:
			return cliopt_error(prog, ch, argv);
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: missing COMMAND (put, ls, rm; see --help)\n", prog);
		return 2;
	}
	const char *cmd = argv[optind];
	if (strcmp(cmd, "put") != 0 && strcmp(cmd, "ls") != 0 && strcmp(cmd, "rm") != 0) {
		fprintf(stderr, "%s: unknown command \"%s\" (put, ls, rm)\n", prog, cmd);
		return 2;
	}
	if (region && pci) {
		fprintf(stderr, "%s: --region and --pci exclude each other\n", prog);
		return 2;
	}
	if (strcmp(cmd, "ls") == 0 && argc - optind != 1) {
		fprintf(stderr, "%s: ls takes no arguments\n", prog);
		return 2;
	}
	if (strcmp(cmd, "rm") == 0 && argc - optind != 2) {
		fprintf(stderr, "%s: rm takes one NAME\n", prog);
		return 2;
	}
	struct agent_put_args put;
	if (strcmp(cmd, "put") == 0 &&
	    (rc = agent_memnet_put_args(argc - optind, argv + optind, &put)) != 0)
		return rc;
	if (region) {
		rc = memnet_writer_open(&w, region, err, sizeof(err));
	} else {
		int fd = memnet_pci_open(sysroot, pci, name, sizeof(name), err, sizeof(err));
		rc = fd < 0 ? -1 : memnet_writer_open_fd(&w, fd, name, err, sizeof(err));
	}
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	if (strcmp(cmd, "put") == 0) {
		rc = agent_memnet_put(&w, &put);
	} else if (strcmp(cmd, "ls") == 0) {
		rc = agent_memnet_ls(&w);
	} else {
		int n = memnet_rm(&w, argv[optind + 1], err, sizeof(err));
		rc = 0;
		if (n < 0)
			fprintf(stderr, "%s rm: %s\n", prog, err);
		else if (n == 0)
			fprintf(stderr, "%s rm: no object \"%s\"\n", prog, argv[optind + 1]);
		if (n <= 0)
			rc = 1;
	}
	if (w.repaired)
		fprintf(stderr, "%s: note: %u slot(s) left by writers that died were cleaned up\n",
			prog, w.repaired);
	memnet_writer_close(&w);
	return rc;
}
